"""The pixelvae architecture, a small PixelVAE (Gulrajani et al. 2017): resnet's encoder, and a decoder whose
mixture of logistics per pixel reads z (through resnet's decoder) and the pixels before it (through one masked
convolution, PixelCNN's first layer). A flat background or an edge is coded from its neighbours; what they cannot
tell, a digit's shape and its colors, from z. Its sampler draws pixel by pixel at the cost of one pixel's layers."""
import keras
import tensorflow as tf
from keras import layers

from ..architectures import register_architecture, resnet_decoder_features, resnet_encoder_body
from ..decoders import ends_in_mixture
from ..losses import draw_mixture
from .decoder import AutoregressiveDecoder
from .layers import MaskedConv2D, causal_neighbourhoods

# The decoder's layers the sampler reads, by name: z's features at every pixel, the masked convolution over the
# pixels before it, a 1x1 convolution over both, a 1x1 convolution to the mixture's parameters.
PIXEL_LAYERS = ("pixel_context", "pixel_neighbours", "pixel_hidden", "logits")
NEIGHBOURHOOD = 5  # the masked convolution's kernel: the two rows above (5 pixels each) and the two pixels left
NEIGHBOURS = ("color", "brightness")  # what the masked convolution sees of the pixels before: all channels, or their mean
BRIGHTNESS_LAYER = "pixel_brightness"  # present where it sees their mean


@keras.saving.register_keras_serializable(package="keras_vae")
class Brightness(layers.Layer):
    """The mean of each pixel's channels, kept as one channel."""

    def call(self, x):
        return keras.ops.mean(x, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 1)


def _pixelvae_decoder_body(z, x, image_shape, pixel_channels=64, neighbours="color"):
    """p(x_i | x_<i, z): resnet's decoder features of z and a 5x5 mask-A convolution of `pixel_channels` over
    the pixels before i (their colors, or with `neighbours` brightness their channels' mean only, so that colors
    must come from z), joined by a 1x1 convolution, then a 1x1 convolution to the parameters per pixel."""
    if neighbours not in NEIGHBOURS:
        raise ValueError(f"`neighbours` must be one of {', '.join(NEIGHBOURS)}, got {neighbours!r}.")
    context_name, neighbours_name, hidden_name, logits_name = PIXEL_LAYERS
    context = layers.Identity(name=context_name)(resnet_decoder_features(z, image_shape))
    seen = x if neighbours == "color" else Brightness(name=BRIGHTNESS_LAYER)(x)
    neighbours = MaskedConv2D(pixel_channels, NEIGHBOURHOOD, mask="A", activation="relu", name=neighbours_name)(seen)
    hidden = layers.Conv2D(pixel_channels, 1, activation="relu", name=hidden_name)(
        layers.Concatenate()([context, neighbours]))
    return layers.Conv2D(image_shape[-1], 1, name=logits_name)(hidden)


register_architecture("pixelvae", resnet_encoder_body, _pixelvae_decoder_body, decoder_kind="autoregressive",
                      likelihoods=("discretized_logistic_mixture",),
                      description="for your own images: resnet's encoder; a decoder of z and, by a masked "
                                  "convolution, the pixels before each one (PixelVAE), drawn pixel by pixel")


class NeighbourSampler:
    """x ~ p(x|z) from a pixelvae decoder, pixel by pixel in raster order, at the cost of one pixel's layers per
    pixel: z's features once for every pixel, then per pixel its masked convolution over the neighbours drawn so
    far, its two 1x1 layers and the mixture's draw from its uniforms. The same draw as the decoder pass per pixel
    (pixel_by_pixel), up to float rounding: a value within rounding of a bin's edge may land one level over."""

    def __init__(self, decoder):
        context, self.neighbours, self.hidden, self.logits = (decoder.get_layer(name) for name in PIXEL_LAYERS)
        self.context = keras.Model(decoder.inputs[0], context.output)
        self.height, self.width, self.channels = decoder.inputs[1].shape[1:]
        taps, indices = causal_neighbourhoods(self.neighbours, self.height, self.width)
        self.taps, self.indices = taps, tf.constant(indices)
        self.brightness = BRIGHTNESS_LAYER in {layer.name for layer in decoder.layers}
        self.draw = tf.function(self._draw, jit_compile=True)

    @staticmethod
    def fits(decoder):
        """Whether `decoder` is a pixelvae decoder: its named layers, ending in a discretized logistic mixture."""
        names = {layer.name for layer in decoder.layers}
        return all(name in names for name in PIXEL_LAYERS) and ends_in_mixture(decoder)

    def _draw(self, context, uniform):
        n, size = tf.shape(context)[0], self.height * self.width
        context = tf.reshape(context, (n, size, context.shape[-1]))
        uniform = tf.reshape(uniform, (n, size, self.channels + 1))
        kernel = tf.reshape(tf.gather_nd(self.neighbours.kernel, self.taps), (-1, self.neighbours.filters))
        hidden_kernel, logits_kernel = self.hidden.kernel[0, 0], self.logits.kernel[0, 0]
        image = tf.zeros((n, size + 1, self.channels))  # the pixels drawn so far, then one zero: outside the image
        for i in tf.range(size):
            around = tf.gather(image, self.indices[i], axis=1)
            around = tf.reshape(tf.reduce_mean(around, -1) if self.brightness else around, (n, -1))
            neighbours = tf.nn.relu(tf.matmul(around, kernel) + self.neighbours.bias)
            hidden = tf.nn.relu(tf.matmul(tf.concat([context[:, i], neighbours], -1), hidden_kernel) + self.hidden.bias)
            pixel = draw_mixture(tf.matmul(hidden, logits_kernel) + self.logits.bias, self.channels, uniform[:, i])
            image += tf.one_hot(i, size + 1)[None, :, None] * pixel[:, None, :]
        return tf.reshape(image[:, :size], (n, self.height, self.width, self.channels))

    def __call__(self, z, uniform):
        return self.draw(self.context(z, training=False), uniform)


AutoregressiveDecoder.samplers.append(NeighbourSampler)
