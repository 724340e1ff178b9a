"""The masked layers of an autoregressive decoder: MADE's masked Dense (Germain et al. 2015) and PixelCNN's masked
convolution (van den Oord et al. 2016), and the names of the made decoder's local layers."""
import itertools

import keras
import numpy as np
from keras import ops


def made_degrees(size, num_pixels, kind):
    """MADE degrees (Germain et al. 2015): pixels are 1..D in raster order; hidden units spread over 1..D-1."""
    if kind == "pixels":
        return np.arange(1, size + 1)
    return 1 + (np.arange(size) * (num_pixels - 1)) // size


@keras.saving.register_keras_serializable(package="keras_vae")
class MaskedDense(keras.layers.Dense):
    """A Dense layer whose kernel is masked so that output i sees only pixels before i (raster order).

    `inputs` and `outputs` say whether each side is `pixels` or `hidden`; a pixel output sees inputs
    of strictly lower degree, a hidden output inputs of lower or equal degree, as in MADE.
    """

    def __init__(self, units, num_pixels, inputs="pixels", outputs="hidden", **kwargs):
        super().__init__(units, **kwargs)
        self.num_pixels, self.inputs_kind, self.outputs_kind = num_pixels, inputs, outputs

    def build(self, input_shape):
        super().build(input_shape)
        in_degrees = made_degrees(input_shape[-1], self.num_pixels, self.inputs_kind)
        out_degrees = made_degrees(self.units, self.num_pixels, self.outputs_kind)
        if self.outputs_kind == "pixels":
            mask = out_degrees[None, :] > in_degrees[:, None]
        else:
            mask = out_degrees[None, :] >= in_degrees[:, None]
        self.kernel_mask = ops.convert_to_tensor(mask.astype(self.compute_dtype))

    def call(self, inputs):
        outputs = ops.matmul(inputs, self.kernel * self.kernel_mask)
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs) if self.activation is not None else outputs

    def get_config(self):
        return {**super().get_config(), "num_pixels": self.num_pixels,
                "inputs": self.inputs_kind, "outputs": self.outputs_kind}


# The made decoder's local layers (made.py's local_channels) are named LOCAL_PREFIX...: a mask-A
# MaskedConv2D, residual mask-B ones LOCAL_BLOCK.format(1, 2, ...) (local_layers), a 1x1 Conv2D and a 1x1 Conv2D
# to one logit, LOCAL_LAYERS. The fast sampler finds them by name; --init-from may add them.
LOCAL_PREFIX = "local_"
LOCAL_LAYERS = ("local_neighbours", "local_hidden", "local_logits")
LOCAL_BLOCK = LOCAL_PREFIX + "block_{}"


def local_blocks(model):
    """`model`'s residual local layers, LOCAL_BLOCK.format(1), (2), ..., in that order."""
    layers = {layer.name: layer for layer in model.layers}
    return [layers[name] for name in itertools.takewhile(layers.__contains__, map(LOCAL_BLOCK.format, itertools.count(1)))]


def causal_neighbourhoods(convolution, height, width):
    """The (row, column)s of a masked convolution's kernel that its mask lets through, and each position's
    neighbours under them as indices into the flattened height x width image, height * width where outside it."""
    half = convolution.kernel_size[0] // 2
    taps = np.argwhere(np.asarray(convolution.kernel_mask)[:, :, 0, 0] > 0)
    rows, columns = np.divmod(np.arange(height * width), width)
    row, column = rows[:, None] + taps[:, 0] - half, columns[:, None] + taps[:, 1] - half
    inside = (row >= 0) & (row < height) & (column >= 0) & (column < width)
    return taps, np.where(inside, row * width + column, height * width).astype("int32")


@keras.saving.register_keras_serializable(package="keras_vae")
class MaskedConv2D(keras.layers.Conv2D):
    """A 'same' convolution whose kernel sees only the pixels before the centre in raster order (mask A), or
    those and the centre (mask B), as in PixelCNN."""

    def __init__(self, filters, kernel_size, mask="B", **kwargs):
        super().__init__(filters, kernel_size, padding="same", **kwargs)
        self.mask = mask

    def build(self, input_shape):
        super().build(input_shape)
        rows, columns = self.kernel_size
        allowed = np.zeros(self.kernel.shape, "float32")
        allowed[:rows // 2] = 1.0
        allowed[rows // 2, :columns // 2 + (self.mask == "B")] = 1.0
        self.kernel_mask = ops.convert_to_tensor(allowed)

    def call(self, inputs):
        outputs = ops.conv(inputs, self.kernel * self.kernel_mask, padding="same")
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs)

    def get_config(self):
        config = super().get_config()
        config.pop("padding")  # always "same"
        return {**config, "mask": self.mask}
