"""The made architecture: an MLP encoder and a MADE decoder conditioned on z, with optional local convolutions."""
import math

from keras import layers

from ..architectures import register_architecture
from .layers import LOCAL_BLOCK, LOCAL_LAYERS, LOCAL_PREFIX, MaskedConv2D, MaskedDense


def _made_encoder_body(x, hidden_dim=500):
    """Two hidden layers: the posterior of a strong decoder needs a little more than one."""
    x = layers.Flatten()(x)
    x = layers.Dense(hidden_dim, activation="relu")(x)
    return layers.Dense(hidden_dim, activation="relu")(x)


def _made_decoder_body(z, x, image_shape, hidden_dim=500, masked_layers=1, local_channels=0, local_layers=0):
    """p(x_i | x_<i, z): a MADE over the pixels in raster order, conditioned on an MLP of z.

    Global shape comes from z; strokes' local continuity from the preceding pixels, through `masked_layers`
    masked hidden layers and masked direct connections (each pixel sees all pixels before it). With
    `local_channels` C > 0, a causal 7x7 convolution of C channels (PixelCNN's first layer), a 1x1 one and a
    1x1 to one logit add what the 24 preceding neighbours say, the same at every position; `local_layers`
    residual 3x3 convolutions after the 7x7 one widen what they see by a row above and a column each side.
    """
    if image_shape[-1] != 1:
        raise ValueError(f"`architecture` made models grayscale images (one channel, drawn as binary pixels in raster "
                         f"order); these have {image_shape[-1]}: give `channels` 1, or take conv or deepconv.")
    num_pixels = math.prod(image_shape)
    pixels = layers.Flatten()(x)
    context = layers.Dense(hidden_dim, activation="relu")(z)
    context = layers.Dense(hidden_dim, activation="relu")(context)
    hidden, kind = pixels, "pixels"
    for _ in range(masked_layers):
        hidden = layers.Add()([MaskedDense(hidden_dim, num_pixels, kind, "hidden")(hidden),
                               layers.Dense(hidden_dim, use_bias=False)(context)])
        hidden, kind = layers.Activation("relu")(hidden), "hidden"
    logits = layers.Add()([
        MaskedDense(num_pixels, num_pixels, "hidden", "pixels")(hidden),
        MaskedDense(num_pixels, num_pixels, "pixels", "pixels", use_bias=False)(pixels),
        layers.Dense(num_pixels, use_bias=False)(context),
    ])
    logits = layers.Reshape(image_shape, name="made_logits" if local_channels else "logits")(logits)
    if local_layers and not local_channels:
        raise ValueError(f"`local_layers` {local_layers} adds to the local convolutions: give `local_channels` too.")
    if not local_channels:
        return logits
    return layers.Add(name="logits")([logits, _local_logits(x, local_channels, local_layers)])


def _local_logits(x, channels, blocks):
    """Each pixel's logit from its preceding neighbours (raster order), by layers named "local_...": a 7x7 mask-A
    convolution, `blocks` residual 3x3 mask-B ones, two 1x1. The residual kernels and the last layer start at
    zero, so that a run started from one without them (train --init-from) starts at its p(x|z)."""
    neighbours, hidden, logits = LOCAL_LAYERS
    local = MaskedConv2D(channels, 7, mask="A", activation="relu", name=neighbours)(x)
    for block in range(1, blocks + 1):
        update = MaskedConv2D(channels, 3, mask="B", kernel_initializer="zeros", name=LOCAL_BLOCK.format(block))(local)
        local = layers.Activation("relu")(layers.Add()([local, update]))
    local = layers.Conv2D(channels, 1, activation="relu", name=hidden)(local)
    return layers.Conv2D(x.shape[-1], 1, kernel_initializer="zeros", name=logits)(local)


register_architecture("made", _made_encoder_body, _made_decoder_body, decoder_kind="autoregressive",
                      description="MLP encoder, autoregressive (MADE) decoder", added_layers=LOCAL_PREFIX,
                      likelihoods=("bernoulli",))
