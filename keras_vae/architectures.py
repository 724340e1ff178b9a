"""Encoder and decoder builders, and the registry of architectures they build from.

An architecture is an encoder body (image -> features) and a decoder body (z, and for an autoregressive
decoder x, -> pixel parameters of the image's shape), registered with `register_architecture`. Its options
are the bodies' keyword arguments with defaults: the builders, the training command and its flags read them
from there.
"""
import dataclasses
import inspect
import math
from typing import Callable

import keras
from keras import layers

from .decoders import DECODER_KINDS
from .layers import Clip, Sampling
from .losses import get_likelihood
from .options import Integer, Number, require

IMAGE_SHAPE = (28, 28, 1)


@dataclasses.dataclass(frozen=True)
class Architecture:
    """A registered architecture: its two bodies, its options with their defaults, its decoder kind."""

    name: str
    encoder_body: Callable
    decoder_body: Callable
    options: dict
    decoder_kind: type
    description: str
    added_layers: str  # the name prefix of layers an option adds (copied by name when a run starts from another)

    def check_options(self, options):
        """Refuse an option this architecture does not take, or a value that option_rule refuses, in one ValueError
        naming it."""
        for name, value in options.items():
            if name not in self.options:
                known = ", ".join(f"`{o}`" for o in self.options) or "none"
                raise ValueError(f"`{name}` does not apply to `architecture` {self.name} (its options: {known}).")
            rule = option_rule(self.options[name])
            if rule is not None:
                require(name, value, rule)


ARCHITECTURES = {}


def option_rule(default):
    """What an architecture option takes, told by its default: an integer 1 or more (0 or more where the default is
    0), a finite number, or anything (None)."""
    if isinstance(default, bool):
        return None
    if isinstance(default, int):
        return Integer(min(1, default))
    return Number() if isinstance(default, float) else None


def _keyword_defaults(body):
    return {name: p.default for name, p in inspect.signature(body).parameters.items()
            if p.default is not inspect.Parameter.empty and name != "image_shape"}


def register_architecture(name, encoder_body, decoder_body, decoder_kind="direct", description="", added_layers=""):
    """Register `name`: encoder_body(x, **options) -> features; decoder_body(*decoder inputs, image_shape,
    **options) -> logits of image_shape. The options are the keyword arguments with defaults of both bodies;
    `decoder_kind` names a registered decoder kind (decoders.py); layers named `added_layers`... are ones an option
    adds, which a run started from one without them (train's init_from) keeps as built."""
    encoder_options, decoder_options = _keyword_defaults(encoder_body), _keyword_defaults(decoder_body)
    shared = {k for k in encoder_options.keys() & decoder_options.keys() if encoder_options[k] != decoder_options[k]}
    if shared:
        raise ValueError(f"Architecture {name!r}: the bodies give option(s) {sorted(shared)} different defaults.")
    if decoder_kind not in DECODER_KINDS:
        raise ValueError(f"Architecture {name!r}: unknown decoder kind {decoder_kind!r}; the registered ones are "
                         f"{sorted(DECODER_KINDS)} (decoders.register_decoder_kind adds one).")
    ARCHITECTURES[name] = Architecture(name, encoder_body, decoder_body, {**encoder_options, **decoder_options},
                                       DECODER_KINDS[decoder_kind], description, added_layers)


def get_architecture(name):
    """The registered architecture `name`; a ValueError naming the registered ones otherwise."""
    if name not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture {name!r}; choose one of {sorted(ARCHITECTURES)}.")
    return ARCHITECTURES[name]


def _body_options(architecture, body, options):
    """The options `body` takes, after refusing any option the architecture does not have (check_options)."""
    architecture.check_options(options)
    return {k: v for k, v in options.items() if k in _keyword_defaults(body)}


def _conv_encoder_body(x):
    """The Keras example: Conv2D 32/64 with stride 2, then Dense 16."""
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    return layers.Dense(16, activation="relu")(x)


def _conv_decoder_body(z, image_shape):
    """The Keras example mirrored: Dense 7*7*64, Conv2DTranspose 64/32, one output channel."""
    height, width, channels = image_shape
    x = layers.Dense((height // 4) * (width // 4) * 64, activation="relu")(z)
    x = layers.Reshape((height // 4, width // 4, 64))(x)
    x = layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(x)
    return layers.Conv2DTranspose(channels, 3, padding="same", name="logits")(x)


def _mlp_encoder_body(x, hidden_dim=500):
    """The tutorials' 784-500-20 model: one hidden layer."""
    x = layers.Flatten()(x)
    return layers.Dense(hidden_dim, activation="relu")(x)


def _mlp_decoder_body(z, image_shape, hidden_dim=500):
    """One hidden layer, then one logit per pixel."""
    x = layers.Dense(hidden_dim, activation="relu")(z)
    x = layers.Dense(math.prod(image_shape))(x)
    return layers.Reshape(image_shape, name="logits")(x)


def _deepconv_encoder_body(x):
    """A deeper stack for likelihood work: two 3x3 convolutions per resolution, then Dense 512."""
    for filters in (32, 64):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    return layers.Dense(512, activation="relu")(x)


def _deepconv_decoder_body(z, image_shape):
    """The deep encoder mirrored: Dense 512, then two upsampling stages of two 3x3 convolutions."""
    height, width, channels = image_shape
    x = layers.Dense(512, activation="relu")(z)
    x = layers.Dense((height // 4) * (width // 4) * 64, activation="relu")(x)
    x = layers.Reshape((height // 4, width // 4, 64))(x)
    for filters in (64, 32):
        x = layers.Conv2DTranspose(filters, 3, strides=2, padding="same", activation="relu")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    return layers.Conv2D(channels, 3, padding="same", name="logits")(x)


register_architecture("conv", _conv_encoder_body, _conv_decoder_body, description="the Keras example's conv stack")
register_architecture("mlp", _mlp_encoder_body, _mlp_decoder_body, description="the tutorials' one-hidden-layer MLP")
register_architecture("deepconv", _deepconv_encoder_body, _deepconv_decoder_body,
                      description="two convolutions per resolution")


def check_shapes(latent_dim, image_shape):
    """Refuse a latent size that is not an integer from 1 to 1024, or an image shape that is not (height, width,
    channels) of positive integers, in one ValueError naming the argument."""
    require("latent_dim", latent_dim, Integer(1, 1024))
    shape = tuple(image_shape) if isinstance(image_shape, (tuple, list)) else None
    if shape is None or len(shape) != 3 or any(Integer(1).problem(side) for side in shape):
        raise ValueError(f"`image_shape` must be (height, width, channels) of positive integers, got {image_shape!r}.")


def build_encoder(latent_dim=2, architecture="conv", image_shape=IMAGE_SHAPE, seed=None, **options):
    """q(z|x): a functional model from images to [z_mean, z_log_var, z]."""
    check_shapes(latent_dim, image_shape)
    if seed is not None:
        require("seed", seed, Integer(0))
    architecture = get_architecture(architecture)
    x = keras.Input(shape=image_shape, name="x")
    features = architecture.encoder_body(x, **_body_options(architecture, architecture.encoder_body, options))
    z_mean = layers.Dense(latent_dim, name="z_mean")(features)
    z_log_var = Clip(name="z_log_var")(layers.Dense(latent_dim, name="z_log_var_dense")(features))
    z = Sampling(seed=seed, name="z")([z_mean, z_log_var])
    return keras.Model(x, [z_mean, z_log_var, z], name="encoder")


def build_decoder(latent_dim=2, architecture="conv", image_shape=IMAGE_SHAPE, likelihood="bernoulli", **options):
    """p(x|z): a functional model from z (or [z, x], for an autoregressive decoder) to the image the likelihood
    shows (for Bernoulli, pixel probabilities: a sigmoid over logits)."""
    check_shapes(latent_dim, image_shape)
    architecture = get_architecture(architecture)
    inputs = architecture.decoder_kind.inputs(latent_dim, image_shape)
    logits = architecture.decoder_body(*inputs, image_shape=tuple(image_shape),
                                       **_body_options(architecture, architecture.decoder_body, options))
    activation = get_likelihood(likelihood).activation
    probabilities = layers.Activation(activation, dtype="float32", name="probabilities")(logits)
    return keras.Model(inputs if len(inputs) > 1 else inputs[0], probabilities, name="decoder")
