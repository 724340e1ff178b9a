"""Custom layers: the reparameterization trick, a safe clip, a 1x1 convolution whose kernel comes from z, a class
label as a one-hot vector, and a layer computed without its activation."""
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


@keras.saving.register_keras_serializable(package="keras_vae")
class OneHot(keras.layers.Layer):
    """Integer class labels y (batch,) -> one-hot vectors (batch, num_classes): how a conditional encoder and decoder
    take the class (Sohn et al. 2015), an input of the model rather than a target."""

    def __init__(self, num_classes, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = require("num_classes", num_classes, Integer(2, 100000))

    def call(self, y):
        return ops.one_hot(ops.cast(ops.reshape(y, (-1,)), "int32"), self.num_classes, dtype=self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="keras_vae")
class PerImageProjection(keras.layers.Layer):
    """[features (batch, height, width, F), z (batch, L)] -> features @ W(z), a 1x1 convolution to `units` whose
    kernel W(z) = reshape(z @ A + b, (F, units)) is each image's own: a feature that draws a stroke takes that
    image's stroke color, a product of z and a pixel's features that additive layers learn slowly. A and b start
    at zero, so a decoder with it starts as the one without."""

    def __init__(self, units, **kwargs):
        require("units", units, Integer(1))
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        features, z = input_shape
        size = features[-1] * self.units
        self.kernel = self.add_weight(shape=(z[-1], size), initializer="zeros", name="kernel")
        self.bias = self.add_weight(shape=(size,), initializer="zeros", name="bias")

    def call(self, inputs):
        features, z = inputs
        kernel = ops.reshape(ops.matmul(z, self.kernel) + self.bias, (-1, features.shape[-1], self.units))
        return ops.einsum("bhwf,bfu->bhwu", features, kernel)

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


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
