"""The VAE: encoder -> Sampling -> decoder, trained on the negative ELBO."""
import warnings

import keras
import tensorflow as tf
from keras import ops

from .checks import check_images
from .losses import bernoulli_reconstruction_loss, gaussian_reconstruction_loss, kl_divergence

LIKELIHOODS = ("bernoulli", "gaussian")


def _logits_model(decoder):
    """The decoder up to its final sigmoid, so the loss can work from logits."""
    last = decoder.layers[-1]
    if not (isinstance(last, keras.layers.Activation) and last.activation is keras.activations.sigmoid):
        raise ValueError(
            "The decoder must end with keras.layers.Activation('sigmoid') so that the "
            f"reconstruction loss can use its logits; its last layer is {last.name!r}."
        )
    return keras.Model(decoder.inputs, last.input, name="decoder_logits")


def is_autoregressive(decoder):
    """True for a decoder that takes [z, x] and gives p(x_i | x_<i, z) (see architectures.AUTOREGRESSIVE)."""
    return len(decoder.inputs) == 2


@keras.saving.register_keras_serializable(package="keras_vae")
class VAE(keras.Model):
    """A variational autoencoder whose loss is reconstruction + beta * KL, in nats per image.

    `encoder` maps x to [z_mean, z_log_var, z]; `decoder` maps z to pixel probabilities (Bernoulli) or
    means (Gaussian, with one learned output log-variance); an autoregressive decoder maps [z, x] to
    p(x_i | x_<i, z). `beta` is a variable so that callbacks
    (KL warm-up) can change it during training.
    """

    def __init__(self, encoder, decoder, beta=1.0, likelihood="bernoulli", **kwargs):
        super().__init__(**kwargs)
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"Unknown likelihood {likelihood!r}; choose one of {LIKELIHOODS}.")
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        self.decoder_logits = _logits_model(decoder)
        self.autoregressive = is_autoregressive(decoder)
        self.beta = keras.Variable(beta, trainable=False, dtype="float32", name="beta")
        if likelihood == "gaussian":
            self.output_log_var = keras.Variable(0.0, dtype="float32", name="output_log_var")
        self.total_loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")
        self.built = True

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def call(self, x, training=False):
        """The reconstruction of x through a sampled z (autoregressive: each pixel given the true ones before it)."""
        _, _, z = self.encoder(x, training=training)
        return self.decoder(self._decoder_inputs(z, x), training=training)

    def _decoder_inputs(self, z, x):
        """z, or [z, x] for an autoregressive decoder, which scores each pixel given those before it."""
        if not self.autoregressive:
            return z
        z = ops.convert_to_tensor(z)
        return [z, ops.convert_to_tensor(x, dtype=z.dtype)]

    def reconstruction_loss(self, x, z, training=False):
        """-log p(x|z) per example, in nats."""
        logits = self.decoder_logits(self._decoder_inputs(z, x), training=training)
        if self.likelihood == "gaussian":
            return gaussian_reconstruction_loss(x, ops.sigmoid(logits), self.output_log_var)
        return bernoulli_reconstruction_loss(x, logits)

    def compute_loss_terms(self, x, training=False):
        """Batch means of the reconstruction loss, the KL loss and their beta-weighted sum."""
        z_mean, z_log_var, z = self.encoder(x, training=training)
        reconstruction_loss = ops.mean(self.reconstruction_loss(x, z, training=training))
        kl_loss = ops.mean(kl_divergence(z_mean, z_log_var))
        total_loss = reconstruction_loss + self.beta * kl_loss
        return {"loss": total_loss, "reconstruction_loss": reconstruction_loss, "kl_loss": kl_loss}

    def fit(self, x=None, y=None, validation_data=None, **kwargs):
        """Model.fit after checking the images. y is ignored, with a warning: a VAE reconstructs x."""
        if y is not None:
            warnings.warn("VAE.fit ignores y: a VAE is unsupervised and learns to reconstruct x.", stacklevel=2)
        self.check_input(x, "x")
        if validation_data is not None:
            self.check_input(validation_data[0] if isinstance(validation_data, tuple) else validation_data, "validation_data")
        return super().fit(x, None, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, **kwargs):
        """Model.evaluate after checking the images; y is ignored."""
        self.check_input(x, "x")
        return super().evaluate(x, None, **kwargs)

    def check_input(self, x, name):
        """Refuse data the encoder cannot take or the likelihood cannot score (see checks.check_images)."""
        image_shape = tuple(self.encoder.input_shape[1:])
        if isinstance(x, tf.data.Dataset):
            spec = tf.nest.flatten(x.element_spec)[0]
            if tuple(spec.shape[1:]) != image_shape or not spec.dtype.is_floating:
                raise ValueError(f"{name} yields {spec.dtype.name} batches of shape {tuple(spec.shape)}, "
                                 f"expected float batches of shape (n, {', '.join(map(str, image_shape))}).")
        elif x is not None:
            check_images(x, image_shape, name, unit_range=self.likelihood == "bernoulli")

    def train_step(self, data):
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as tape:
            terms = self.compute_loss_terms(x, training=True)
            # Gradients are summed over replicas, so each one contributes its share of the mean.
            scaled_loss = self.optimizer.scale_loss(terms["loss"] / replicas)
        gradients = tape.gradient(scaled_loss, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        return self._track(terms)

    def test_step(self, data):
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        return self._track(self.compute_loss_terms(x, training=False))

    def _track(self, terms):
        self.total_loss_tracker.update_state(terms["loss"])
        self.reconstruction_loss_tracker.update_state(terms["reconstruction_loss"])
        self.kl_loss_tracker.update_state(terms["kl_loss"])
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras 3.15 reduces multi-worker logs with reduce(MEAN, axis=0), which needs a batch axis.
            return {m.name: ops.reshape(m.result(), (1,)) for m in self.metrics}
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        return {
            "name": self.name,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "beta": float(ops.convert_to_numpy(self.beta)),
            "likelihood": self.likelihood,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"))
        return cls(encoder, decoder, **config)
