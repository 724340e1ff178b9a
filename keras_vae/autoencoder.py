"""The plain autoencoder that the tutorials contrast with the VAE: x -> code z -> x, no sampling, no KL."""
import keras
from keras import ops

from .model import AutoencoderBase, split_inputs


@keras.saving.register_keras_serializable(package="keras_vae")
class Autoencoder(AutoencoderBase):
    """An autoencoder trained on the reconstruction loss alone, -log p(x|z) with z = encoder(x), in nats per image.

    Built from the same `build_encoder`/`build_decoder` as the VAE, so that the two differ only in the
    objective: the code is the encoder's `z_mean` head. Given build_encoder's [z_mean, z_log_var, z] model,
    `encoder` keeps the part that computes z_mean (x -> z); the z_log_var head, which nothing here trains, is
    left out. `decoder` and `likelihood` as for the VAE.
    """

    def __init__(self, encoder, decoder, likelihood="bernoulli", **kwargs):
        if len(encoder.outputs) > 1:
            encoder = keras.Model(encoder.inputs, encoder.outputs[0], name=encoder.name)
        super().__init__(encoder, decoder, likelihood, **kwargs)

    def call(self, inputs, training=False):
        """The code z = encoder(x) (conditional: given each image's class), what compute_loss reads."""
        x, labels = split_inputs(inputs, self.num_classes)
        return self.encoder(self.conditioned(x, labels), training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The VAE's loss without sampling or KL: the reconstruction loss alone, -log p(x|z) at the code z (call's)."""
        x, labels = self.split(x, sample_weight)
        logits = self.logits(y_pred, x, labels, training=training)  # decoder(z) before its last activation
        reconstruction_loss = ops.mean(self.negative_log_likelihood(x, logits))  # -log p(x|z)
        return self.track(x, loss=reconstruction_loss, reconstruction_loss=reconstruction_loss)
