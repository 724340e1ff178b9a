"""The plain autoencoder that the tutorials contrast with the VAE: x -> code z -> x, no sampling, no KL."""
import keras
from keras import ops

from .model import AutoencoderBase


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
            encoder = keras.Model(encoder.input, encoder.outputs[0], name=encoder.name)
        super().__init__(encoder, decoder, likelihood, **kwargs)

    def call(self, x, training=False):
        """The reconstruction of x from its code (autoregressive: each pixel given the true ones before it)."""
        z = self.encoder(x, training=training)
        return self.decoder(self.decoder_kind.scoring_inputs(z, x), training=training)

    def compute_loss_terms(self, x, training=False):
        """The batch mean of the reconstruction loss, which is the whole loss."""
        z = self.encoder(x, training=training)
        reconstruction_loss = ops.mean(self.reconstruction_loss(x, z, training=training))
        return {"loss": reconstruction_loss, "reconstruction_loss": reconstruction_loss}
