"""The plain autoencoder that the tutorials contrast with the VAE: x -> code z -> x, no sampling, no KL."""
import keras
import tensorflow as tf
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

    def train_step(self, data, training=True):
        """The VAE's step without sampling or KL: the loss is the reconstruction loss alone."""
        x = self.images_of(data)
        with tf.GradientTape(watch_accessed_variables=training) as tape:  # records nothing in test_step
            z = self.encoder(x, training=training)  # the code: one point per image, no sampling
            logits = self.logits(z, x, training=training)  # decoder(z) before its last activation
            reconstruction_loss = ops.mean(self.negative_log_likelihood(x, logits))  # -log p(x|z)
        if training:
            self.minimize(tape, reconstruction_loss)
        return self.track(x, loss=reconstruction_loss, reconstruction_loss=reconstruction_loss)
