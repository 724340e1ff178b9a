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
from .layers import Clip, OneHot, PerImageProjection, Sampling
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
    likelihoods: tuple  # the likelihoods its decoder takes; () for any its kind takes

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


def make_architecture(name, encoder_body, decoder_body, decoder_kind="direct", description="", added_layers="",
                      likelihoods=()):
    """An architecture that build_encoder and build_decoder take in place of a registered name, registered nowhere
    (an experiment's variant): encoder_body(x, **options) -> features; decoder_body(*decoder inputs, image_shape,
    **options) -> logits of image_shape. The options are the keyword arguments with defaults of both bodies;
    `decoder_kind` names a registered decoder kind (decoders.py); layers named `added_layers`... are ones an option
    adds, which a run started from one without them (train's init_from) keeps as built; `likelihoods` names the
    only ones its decoder takes, if not all that its kind takes."""
    encoder_options, decoder_options = _keyword_defaults(encoder_body), _keyword_defaults(decoder_body)
    shared = {k for k in encoder_options.keys() & decoder_options.keys() if encoder_options[k] != decoder_options[k]}
    if shared:
        raise ValueError(f"Architecture {name!r}: the bodies give option(s) {sorted(shared)} different defaults.")
    if decoder_kind not in DECODER_KINDS:
        raise ValueError(f"Architecture {name!r}: unknown decoder kind {decoder_kind!r}; the registered ones are "
                         f"{sorted(DECODER_KINDS)} (decoders.register_decoder_kind adds one).")
    return Architecture(name, encoder_body, decoder_body, {**encoder_options, **decoder_options},
                        DECODER_KINDS[decoder_kind], description, added_layers, tuple(likelihoods))


def register_architecture(name, encoder_body, decoder_body, decoder_kind="direct", description="", added_layers="",
                          likelihoods=()):
    """Register `name` (make_architecture's arguments), so that build_encoder, build_decoder and the training
    command's `architecture` take it by name."""
    ARCHITECTURES[name] = make_architecture(name, encoder_body, decoder_body, decoder_kind, description, added_layers,
                                            likelihoods)


def get_architecture(name):
    """The registered architecture `name` (an Architecture, make_architecture's, is itself); a ValueError naming the
    registered ones otherwise."""
    if isinstance(name, Architecture):
        return name
    if name not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture {name!r}; choose one of {sorted(ARCHITECTURES)}.")
    return ARCHITECTURES[name]


def _body_options(architecture, body, options):
    """The options `body` takes, after refusing any option the architecture does not have (check_options)."""
    architecture.check_options(options)
    return {k: v for k, v in options.items() if k in _keyword_defaults(body)}


SMALLEST_SIDE = 8  # the conv stacks halve the image until each side is at most this


def halvings(image_shape, architecture="conv"):
    """How many stride-2 layers the conv stacks take for `image_shape`: halve until each side is at most 8 (28 -> 7
    and 32 -> 8 in two, 64 -> 8 in three), each side dividing evenly; a ValueError names the sizes that do."""
    height, width = image_shape[:2]
    count = 0
    while max(height, width) > SMALLEST_SIDE * 2 ** count:
        count += 1
    if height % 2 ** count or width % 2 ** count:
        fit = lambda side: str(max(1, round(side / 2 ** count)) * 2 ** count)
        raise ValueError(f"`architecture` {architecture} halves each side until it is at most {SMALLEST_SIDE}: "
                         f"{height}x{width} takes {count} halvings, so each side must divide by {2 ** count} "
                         f"(such as 28, 32 or 64); give `image_size` {fit(height)}x{fit(width)}"
                         " or take architecture mlp.")
    return count


def filters(stage):
    """The conv stacks' channels at stage 0, 1, 2...: the Keras example's 32, 64, then 128 from there on."""
    return min(32 * 2 ** stage, 128)


def _conv_encoder_body(x):
    """The Keras example: Conv2D 32/64 with stride 2 (one more per halving that a larger image takes), then Dense
    16."""
    for stage in range(halvings(x.shape[1:], "conv")):
        x = layers.Conv2D(filters(stage), 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    return layers.Dense(16, activation="relu")(x)


def _upsampling_start(z, image_shape, stages, channels=64):
    """Dense to the smallest feature map the stacks reach, of `channels` channels, reshaped to it."""
    height, width = (side // 2 ** stages for side in image_shape[:2])
    x = layers.Dense(height * width * channels, activation="relu")(z)
    return layers.Reshape((height, width, channels))(x)


def _conv_decoder_body(z, image_shape):
    """The Keras example mirrored: Dense 7*7*64 (for 28x28), Conv2DTranspose 64/32 with stride 2, the image's
    channels."""
    stages = halvings(image_shape, "conv")
    x = _upsampling_start(z, image_shape, stages)
    for stage in reversed(range(stages)):
        x = layers.Conv2DTranspose(filters(stage), 3, strides=2, padding="same", activation="relu")(x)
    return layers.Conv2DTranspose(image_shape[-1], 3, padding="same", name="logits")(x)


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
    for stage in range(halvings(x.shape[1:], "deepconv")):
        x = layers.Conv2D(filters(stage), 3, padding="same", activation="relu")(x)
        x = layers.Conv2D(filters(stage), 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    return layers.Dense(512, activation="relu")(x)


def _deepconv_decoder_body(z, image_shape):
    """The deep encoder mirrored: Dense 512, then an upsampling stage of two 3x3 convolutions per halving."""
    stages = halvings(image_shape, "deepconv")
    x = layers.Dense(512, activation="relu")(z)
    x = _upsampling_start(x, image_shape, stages)
    for stage in reversed(range(stages)):
        x = layers.Conv2DTranspose(filters(stage), 3, strides=2, padding="same", activation="relu")(x)
        x = layers.Conv2D(filters(stage), 3, padding="same", activation="relu")(x)
    return layers.Conv2D(image_shape[-1], 3, padding="same", name="logits")(x)


def residual_block(x, width):
    """Two 3x3 convolutions added to their input (a 1x1 convolution where the width changes): a ResNet block. The
    second convolution starts at zero, so that each block starts as its shortcut and a stack without normalization
    trains from the first step (as in Fixup and SkipInit)."""
    shortcut = x if x.shape[-1] == width else layers.Conv2D(width, 1)(x)
    y = layers.Conv2D(width, 3, padding="same", activation="relu")(x)
    y = layers.Conv2D(width, 3, padding="same", kernel_initializer="zeros")(y)
    return layers.Activation("relu")(layers.Add()([shortcut, y]))


def resnet_encoder_body(x):
    """For images other than the tutorial's digits: per halving (down to at most 8x8: 32 -> 8 in two, 64 -> 8 in
    three) a stride-2 convolution and a residual block, widths 32, 64, 128; the feature map flattened straight into
    z's heads, with no narrow dense layer before z."""
    for stage in range(halvings(x.shape[1:], "resnet")):
        x = layers.Conv2D(filters(stage), 3, strides=2, padding="same", activation="relu")(x)
        x = residual_block(x, filters(stage))
    return layers.Flatten()(x)


def resnet_decoder_features(z, image_shape):
    """The residual encoder mirrored, up to full size: z to the smallest feature map and a residual block, then per
    halving an upsampling (stride-2 transposed convolution) and, below full size, a residual block."""
    stages = halvings(image_shape, "resnet")
    top = filters(max(stages - 1, 0))
    x = residual_block(_upsampling_start(z, image_shape, stages, top), top)
    for stage in reversed(range(stages)):
        x = layers.Conv2DTranspose(filters(max(stage - 1, 0)), 3, strides=2, padding="same", activation="relu")(x)
        if stage:
            x = residual_block(x, filters(stage - 1))
    return x


def shared_parameters(z, channels):
    """`channels` parameters of z alone that every pixel shares, shaped (1, 1, channels) to add to a feature map: a
    Dense layer starting at zero."""
    return layers.Reshape((1, 1, channels))(layers.Dense(channels, kernel_initializer="zeros")(z))


def _resnet_parameters(z, features, channels, *terms):
    """A 3x3 convolution of the features to the likelihood's `channels` parameters per pixel, plus `terms`, plus
    parameters of z alone that every pixel shares: a flat background's color in one linear step from z, not rebuilt
    at each pixel through the upsampling stack."""
    local = layers.Conv2D(channels, 3, padding="same")(features)
    return layers.Add(name="logits")([local, *terms, shared_parameters(z, channels)])


def _resnet_decoder_body(z, image_shape):
    """resnet_decoder_features to the parameters per pixel (_resnet_parameters)."""
    return _resnet_parameters(z, resnet_decoder_features(z, image_shape), image_shape[-1])


def _resnet_modulated_decoder_body(z, image_shape):
    """_resnet_decoder_body plus each image's own 1x1 convolution of the last features, its kernel from z
    (PerImageProjection): per pixel, conv(features) + features @ W(z) + shared(z). On colored MNIST it draws each
    stroke in its own color where resnet draws one pale color for all (docs/own_images.md, "A kernel from z")."""
    channels = image_shape[-1]
    features = resnet_decoder_features(z, image_shape)
    return _resnet_parameters(z, features, channels, PerImageProjection(channels)([features, z]))


register_architecture("conv", _conv_encoder_body, _conv_decoder_body, description="the Keras example's conv stack")
register_architecture("mlp", _mlp_encoder_body, _mlp_decoder_body, description="the tutorials' one-hidden-layer MLP")
register_architecture("deepconv", _deepconv_encoder_body, _deepconv_decoder_body,
                      description="two convolutions per resolution")
register_architecture("resnet", resnet_encoder_body, _resnet_decoder_body,
                      description="residual blocks for your own images (color, 32x32, 64x64): no narrow bottleneck")
register_architecture("resnet_modulated", resnet_encoder_body, _resnet_modulated_decoder_body,
                      description="resnet whose last 1x1 convolution is each image's own, from z: the default for "
                                  "your own images")


def check_shapes(latent_dim, image_shape):
    """Refuse a latent size that is not an integer from 1 to 1024, or an image shape that is not (height, width,
    channels) of positive integers, in one ValueError naming the argument."""
    require("latent_dim", latent_dim, Integer(1, 1024))
    shape = tuple(image_shape) if isinstance(image_shape, (tuple, list)) else None
    if shape is None or len(shape) != 3 or any(Integer(1).problem(side) for side in shape):
        raise ValueError(f"`image_shape` must be (height, width, channels) of positive integers, got {image_shape!r}.")


def label_input(num_classes):
    """The integer class label y that a conditional encoder and decoder take beside x or z, and its one-hot vector;
    (None, None) where num_classes is None (an unconditional model)."""
    if num_classes is None:
        return None, None
    y = keras.Input(shape=(), dtype="int32", name="y")
    return y, OneHot(num_classes, name="y_one_hot")(y)


def build_encoder(latent_dim=2, architecture="conv", image_shape=IMAGE_SHAPE, seed=None, num_classes=None, **options):
    """q(z|x): a functional model from images to [z_mean, z_log_var, z]. With `num_classes`, q(z|x, y) of a
    conditional VAE: it takes [x, y], y integer labels, whose one-hot vector joins the features before z's heads."""
    check_shapes(latent_dim, image_shape)
    if seed is not None:
        require("seed", seed, Integer(0))
    architecture = get_architecture(architecture)
    x = keras.Input(shape=image_shape, name="x")
    y, y_one_hot = label_input(num_classes)
    features = architecture.encoder_body(x, **_body_options(architecture, architecture.encoder_body, options))
    if y is not None:
        features = layers.Concatenate(name="features_y")([features, y_one_hot])
    z_mean = layers.Dense(latent_dim, name="z_mean")(features)
    z_log_var = Clip(name="z_log_var")(layers.Dense(latent_dim, name="z_log_var_dense")(features))
    z = Sampling(seed=seed, name="z")([z_mean, z_log_var])
    return keras.Model(x if y is None else [x, y], [z_mean, z_log_var, z], name="encoder")


def build_decoder(latent_dim=2, architecture="conv", image_shape=IMAGE_SHAPE, likelihood="bernoulli",
                  mixture_components=None, num_classes=None, **options):
    """p(x|z): a functional model from z (or [z, x], for an autoregressive decoder) to the image the likelihood
    shows (for Bernoulli, pixel probabilities: a sigmoid over logits). Its body gives the likelihood's parameters per
    pixel: one per channel, or for a mixture likelihood `mixture_components` K components' worth. With
    `num_classes`, p(x|z, y) of a conditional VAE: it takes [z, y], and its body reads z joined to y's one-hot vector."""
    check_shapes(latent_dim, image_shape)
    architecture = get_architecture(architecture)
    if num_classes is not None and architecture.decoder_kind.reads_x:
        raise ValueError(f"`architecture` {architecture.name} is autoregressive and takes no class: give `num_classes` "
                         "(conditional) with a direct decoder, such as conv or resnet_modulated.")
    if architecture.likelihoods and likelihood not in architecture.likelihoods:
        raise ValueError(f"`architecture` {architecture.name} takes the {' or '.join(architecture.likelihoods)} "
                         f"likelihood, not {likelihood}.")
    likelihood = get_likelihood(likelihood)
    if mixture_components is not None:
        require("mixture_components", mixture_components, Integer(1, 100))
    height, width, channels = image_shape
    inputs = architecture.decoder_kind.inputs(latent_dim, image_shape)
    y, y_one_hot = label_input(num_classes)
    body_inputs = inputs if y is None else [layers.Concatenate(name="z_y")([inputs[0], y_one_hot])]
    logits = architecture.decoder_body(*body_inputs, image_shape=(height, width, likelihood.parameters_per_pixel(
        channels, mixture_components)), **_body_options(architecture, architecture.decoder_body, options))
    inputs = inputs if y is None else [*inputs, y]
    head = (likelihood.activation(channels, dtype="float32", name="probabilities")
            if isinstance(likelihood.activation, type) else
            layers.Activation(likelihood.activation, dtype="float32", name="probabilities"))
    return keras.Model(inputs if len(inputs) > 1 else inputs[0], head(logits), name="decoder")
