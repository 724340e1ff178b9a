"""Custom layers: the reparameterization trick, a safe clip, and a layer computed without its activation."""
import keras
from keras import ops

from .options import Integer, require


@keras.saving.register_keras_serializable(package="keras_vae")
class Sampling(keras.layers.Layer):
    """Draws z = z_mean + exp(0.5 * z_log_var) * eps with eps ~ N(0, I).

    Sampling through a deterministic function of (z_mean, z_log_var) and an
    independent eps lets gradients flow back into the encoder.
    """

    def __init__(self, seed=None, **kwargs):
        if seed is not None:
            require("seed", seed, Integer(0))
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        eps = keras.random.normal(
            ops.shape(z_mean), dtype=z_mean.dtype, seed=self.seed_generator
        )
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="keras_vae")
class Clip(keras.layers.Layer):
    """Clips values to [low, high]: keeps z_log_var where exp() cannot overflow (float32 overflows past 88)."""

    def __init__(self, low=-20.0, high=20.0, **kwargs):
        if not low < high:
            raise ValueError(f"`low` {low} must be below `high` {high}.")
        super().__init__(**kwargs)
        self.low, self.high = low, high

    def call(self, inputs):
        return ops.clip(inputs, self.low, self.high)

    def get_config(self):
        return {**super().get_config(), "low": self.low, "high": self.high}


class PreActivation(keras.layers.Layer):
    """`layer` (a Dense, Conv2D, Conv2DTranspose...) computed without its activation, with its own weights: the
    logits of a decoder whose last layer applies the likelihood's activation itself (model.logits_model)."""

    def __init__(self, layer, **kwargs):
        super().__init__(dtype=layer.dtype_policy, **kwargs)
        self.layer = layer

    def call(self, inputs):
        activation, self.layer.activation = self.layer.activation, keras.activations.linear
        try:
            return self.layer.call(inputs)
        finally:
            self.layer.activation = activation
