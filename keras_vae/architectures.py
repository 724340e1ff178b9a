"""Encoder and decoder builders: one small body function per architecture, shared heads.

To add an architecture, write an encoder body (image -> features) and a decoder body
(z -> pixel logits of the image's shape) and register them in ARCHITECTURES.
"""
import math

import keras
from keras import layers

from .layers import Clip, MaskedDense, Sampling

IMAGE_SHAPE = (28, 28, 1)


def _conv_encoder_body(x, **_):
    """The Keras example: Conv2D 32/64 with stride 2, then Dense 16."""
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    return layers.Dense(16, activation="relu")(x)


def _conv_decoder_body(z, image_shape, **_):
    """The Keras example mirrored: Dense 7*7*64, Conv2DTranspose 64/32, one output channel."""
    height, width, channels = image_shape
    x = layers.Dense((height // 4) * (width // 4) * 64, activation="relu")(z)
    x = layers.Reshape((height // 4, width // 4, 64))(x)
    x = layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(x)
    return layers.Conv2DTranspose(channels, 3, padding="same", name="logits")(x)


def _mlp_encoder_body(x, hidden_dim=500, **_):
    """The tutorials' 784-500-20 model: one hidden layer."""
    x = layers.Flatten()(x)
    return layers.Dense(hidden_dim, activation="relu")(x)


def _mlp_decoder_body(z, image_shape, hidden_dim=500, **_):
    """One hidden layer, then one logit per pixel."""
    x = layers.Dense(hidden_dim, activation="relu")(z)
    x = layers.Dense(math.prod(image_shape))(x)
    return layers.Reshape(image_shape, name="logits")(x)


def _deepconv_encoder_body(x, **_):
    """A deeper stack for likelihood work: two 3x3 convolutions per resolution, then Dense 512."""
    for filters in (32, 64):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    return layers.Dense(512, activation="relu")(x)


def _deepconv_decoder_body(z, image_shape, **_):
    """The deep encoder mirrored: Dense 512, then two upsampling stages of two 3x3 convolutions."""
    height, width, channels = image_shape
    x = layers.Dense(512, activation="relu")(z)
    x = layers.Dense((height // 4) * (width // 4) * 64, activation="relu")(x)
    x = layers.Reshape((height // 4, width // 4, 64))(x)
    for filters in (64, 32):
        x = layers.Conv2DTranspose(filters, 3, strides=2, padding="same", activation="relu")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    return layers.Conv2D(channels, 3, padding="same", name="logits")(x)


def _made_encoder_body(x, hidden_dim=500, **_):
    """Two hidden layers: the posterior of a strong decoder needs a little more than one."""
    x = layers.Flatten()(x)
    x = layers.Dense(hidden_dim, activation="relu")(x)
    return layers.Dense(hidden_dim, activation="relu")(x)


def _made_decoder_body(z, image_shape, x, hidden_dim=500, **_):
    """p(x_i | x_<i, z): a MADE over the pixels in raster order, conditioned on an MLP of z.

    Global shape comes from z; strokes' local continuity from the preceding pixels, through one
    masked hidden layer and masked direct connections (each pixel sees all pixels before it).
    """
    num_pixels = math.prod(image_shape)
    pixels = layers.Flatten()(x)
    context = layers.Dense(hidden_dim, activation="relu")(z)
    context = layers.Dense(hidden_dim, activation="relu")(context)
    hidden = layers.Add()([MaskedDense(hidden_dim, num_pixels, "pixels", "hidden")(pixels),
                           layers.Dense(hidden_dim, use_bias=False)(context)])
    hidden = layers.Activation("relu")(hidden)
    logits = layers.Add()([
        MaskedDense(num_pixels, num_pixels, "hidden", "pixels")(hidden),
        MaskedDense(num_pixels, num_pixels, "pixels", "pixels", use_bias=False)(pixels),
        layers.Dense(num_pixels, use_bias=False)(context),
    ])
    return layers.Reshape(image_shape, name="logits")(logits)


ARCHITECTURES = {
    "deepconv": (_deepconv_encoder_body, _deepconv_decoder_body),
    "conv": (_conv_encoder_body, _conv_decoder_body),
    "mlp": (_mlp_encoder_body, _mlp_decoder_body),
    "made": (_made_encoder_body, _made_decoder_body),
}
# Decoders that also take the image: p(x|z) = prod_i p(x_i | x_<i, z), sampled one pixel at a time.
AUTOREGRESSIVE = ("made",)


def _bodies(architecture):
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"Unknown architecture {architecture!r}; choose one of {sorted(ARCHITECTURES)}."
        )
    return ARCHITECTURES[architecture]


def build_encoder(latent_dim=2, architecture="conv", image_shape=IMAGE_SHAPE, seed=None, **options):
    """q(z|x): a functional model from images to [z_mean, z_log_var, z]."""
    body, _ = _bodies(architecture)
    x = keras.Input(shape=image_shape, name="x")
    features = body(x, **options)
    z_mean = layers.Dense(latent_dim, name="z_mean")(features)
    z_log_var = Clip(name="z_log_var")(layers.Dense(latent_dim, name="z_log_var_dense")(features))
    z = Sampling(seed=seed, name="z")([z_mean, z_log_var])
    return keras.Model(x, [z_mean, z_log_var, z], name="encoder")


def build_decoder(latent_dim=2, architecture="conv", image_shape=IMAGE_SHAPE, **options):
    """p(x|z): a functional model from z to pixel probabilities (a sigmoid over logits).

    An autoregressive decoder takes [z, x] and gives p(x_i = 1 | x_<i, z) for every pixel i.
    """
    _, body = _bodies(architecture)
    inputs = [keras.Input(shape=(latent_dim,), name="z")]
    if architecture in AUTOREGRESSIVE:
        inputs.append(keras.Input(shape=image_shape, name="x"))
        options["x"] = inputs[1]
    logits = body(inputs[0], image_shape=tuple(image_shape), **options)
    probabilities = layers.Activation("sigmoid", dtype="float32", name="probabilities")(logits)
    return keras.Model(inputs if len(inputs) > 1 else inputs[0], probabilities, name="decoder")
