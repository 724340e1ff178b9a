"""Decoder kinds, and decoding through any decoder: prior samples, reconstructions, images for given z.

Each kind knows the inputs its decoder takes, how x is fed to it to score log p(x|z), and how it draws the
image it shows for a z. The model, the figures, export and the commands ask the kind instead of branching:
- direct (here): decoder(z) gives every pixel's parameters at once; the image shown is the mean, decoder(z).
- autoregressive (keras_vae.autoregressive, registered with register_decoder_kind): p(x|z) = prod_i
  p(x_i | x_<i, z); the decoder takes [z, x], and the image shown is a draw x ~ p(x|z), one pixel at a time.
A kind that `reads_x` gives the decoder's logits for several draws of z per image through its `logits`; the
model calls a direct decoder itself.
"""
import weakref

import keras
import numpy as np
import tensorflow as tf

from .data import require_images
from .layers import OneHot
from .losses import DiscretizedMixtureMean, draw_mixture
from .options import Integer, require
from .priors import StandardNormalPrior


class DirectDecoder:
    """decoder(z) -> the parameters of every pixel at once."""

    name = "direct"
    draws = False  # the image shown is decoder(z), not a random draw
    shows = "decoder({z})"  # what the image shown for a code {z} is
    likelihoods = None  # any registered likelihood
    reads_x = False  # scores x from decoder(z) alone

    @staticmethod
    def inputs(latent_dim, image_shape):
        return [keras.Input(shape=(latent_dim,), name="z")]

    @staticmethod
    def scoring_inputs(z, x):
        """What the decoder takes to score x given z."""
        return z

    @staticmethod
    def drawer(decoder):
        """z, uniform -> the image shown for z: decoder(z)."""
        return lambda z, uniform=None: decoder(z, training=False)


def tile_draws(tensor, draws):
    """`tensor` repeated `draws` times along its first axis, draw-major: [tensor, tensor, ...] (any backend)."""
    tensor = keras.ops.convert_to_tensor(tensor)
    return keras.ops.tile(tensor, [draws] + [1] * (len(tensor.shape) - 1))


DECODER_KINDS = {DirectDecoder.name: DirectDecoder}


def register_decoder_kind(kind):
    """Register a decoder kind (a class like DirectDecoder: its name, the inputs its decoders take, how it scores
    and draws), which architectures then name. Kinds are told apart by how many inputs their decoders take."""
    DECODER_KINDS[kind.name] = kind
    return kind


def decoder_kind(decoder):
    """The kind of a built decoder, told by the inputs it takes beside a class label (a SavedModel decoder takes z
    alone)."""
    inputs = len(decoder.inputs) - (num_classes(decoder) is not None)
    for kind in DECODER_KINDS.values():
        if len(kind.inputs(1, (1,))) == inputs:
            return kind
    raise ValueError(f"A decoder takes z or [z, x]; this one takes {len(decoder.inputs)} inputs.")


def num_classes(model):
    """The classes a conditional encoder or decoder takes (its OneHot layer's), or None for an unconditional one."""
    return next((layer.num_classes for layer in getattr(model, "layers", ()) if isinstance(layer, OneHot)), None)


def given(model, values, labels, name="labels"):
    """What `model` (an encoder or decoder) takes: `values` (x or z) alone, or for a conditional one [values, labels]
    with labels integer classes, one per row; a ValueError where labels are missing, out of range or not wanted."""
    classes = num_classes(model)
    if classes is None:
        if labels is not None:
            raise ValueError(f"`{name}`: this {model.name} is not conditional (train with `conditional` to give a class).")
        return values
    if labels is None:
        raise ValueError(f"This {model.name} is conditional on a class: give `{name}`, an integer from 0 to "
                         f"{classes - 1} for each row.")
    labels = np.broadcast_to(np.asarray(labels), (len(values),)) if np.ndim(labels) == 0 else np.asarray(labels)
    check_labels(labels, len(values), classes, f"`{name}`")
    return [values, labels.astype("int32")]


def check_labels(labels, n, classes, what="`labels`"):
    """Refuse labels (`what`, in the caller's words) that are not n integers from 0 to classes - 1."""
    labels = np.asarray(labels)
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{what} must be {n} integer classes, one per row, got shape {labels.shape} and dtype "
                         f"{labels.dtype}.")
    if labels.min() < 0 or labels.max() >= classes:
        raise ValueError(f"{what} must be classes 0 to {classes - 1}, got {labels.min()} to {labels.max()}.")


def shows(decoder, z="z"):
    """What the image `decoder` shows for a code `z` is, in words: its kind's, and for a direct decoder of a mixture
    of logistics, named as the mixture's mean (its pixels can also be drawn: draw_pixels)."""
    text = decoder_kind(decoder).shows.format(z=z)
    return f"E[x|{z}] = {text}" if draws_pixels(decoder) else text


def ends_in_mixture(decoder):
    """Whether `decoder`'s pixels follow a discretized logistic mixture (its last layer shows the mixture's mean)."""
    return isinstance(decoder.layers[-1], DiscretizedMixtureMean)


_MIXTURE_PARAMETERS = weakref.WeakKeyDictionary()  # a mixture decoder -> its model to the mixture's parameters


def mixture_parameters_model(decoder):
    """A model from `decoder`'s inputs to the parameters of its discretized logistic mixture per pixel (what its
    last layer shows the mean of); built once per decoder."""
    if decoder not in _MIXTURE_PARAMETERS:
        _MIXTURE_PARAMETERS[decoder] = keras.Model(decoder.inputs, decoder.layers[-1].input)
    return _MIXTURE_PARAMETERS[decoder]


def draws_pixels(decoder):
    """Whether draw_pixels can draw `decoder`'s 8-bit pixels beside the mean it shows: a direct decoder of a
    discretized logistic mixture (an autoregressive one shows draws already)."""
    return ends_in_mixture(decoder) and not decoder_kind(decoder).draws


def uniform_shape(decoder):
    """The shape of the uniforms that fix one draw of an image: one per pixel and channel, and for a mixture one
    more per pixel, which picks its component."""
    height, width, channels = image_shape(decoder)
    return (height, width, channels + ends_in_mixture(decoder))


def seeded_uniforms(decoder, n, seed=0):
    """The uniforms that fix n draws of `decoder`'s images, from np.random.default_rng(seed)."""
    return np.random.default_rng(seed).random((n, *uniform_shape(decoder)), dtype="float32")


def draw_pixels(decoder, z, seed=0, labels=None):
    """x ~ p(x|z) for each row of z (and its class, for a conditional decoder), 8-bit values in [0, 1], from a decoder
    that ends in a discretized logistic mixture (its mean is what decoder(z) shows): per pixel a component, then each
    channel given the earlier ones."""
    if not draws_pixels(decoder):
        raise ValueError("Only a direct decoder of the discretized_logistic_mixture likelihood draws pixels beside "
                         f"its mean; this one shows {shows(decoder)}.")
    parameters = mixture_parameters_model(decoder).predict(given(decoder, np.asarray(z, "float32"), labels), verbose=0)
    uniform = seeded_uniforms(decoder, len(z), seed)
    return keras.ops.convert_to_numpy(draw_mixture(parameters, decoder.layers[-1].channels, uniform))


def latent_dim(decoder):
    """The size of z that `decoder` takes."""
    return decoder.inputs[0].shape[-1]


def image_shape(decoder):
    """The shape of one image that `decoder` gives."""
    return tuple(decoder.outputs[0].shape[1:])


_IMAGE_FUNCTIONS = weakref.WeakKeyDictionary()  # decoder -> its image_function, traced once


def image_function(decoder):
    """A function z, uniform -> the image `decoder`'s kind shows for z (`uniform` fixes a draw); on TensorFlow a
    tf.function made once per decoder and kept for as long as the decoder lives, so that it is traced once, not on
    every call (another backend runs the drawer as it is)."""
    if decoder not in _IMAGE_FUNCTIONS:
        drawer = decoder_kind(decoder).drawer(decoder)
        tensorflow = keras.backend.backend() == "tensorflow"
        _IMAGE_FUNCTIONS[decoder] = tf.function(drawer, reduce_retracing=True) if tensorflow else drawer
    return _IMAGE_FUNCTIONS[decoder]


def decode(decoder, z, seed=0, batch_size=256, labels=None):
    """Images for latent codes z (and their classes `labels`, for a conditional decoder), as the decoder's kind
    shows them: decoder(z), or for an autoregressive decoder a draw x ~ p(x|z) whose uniforms are
    np.random.default_rng(seed).random(...)."""
    require("batch_size", batch_size, Integer(1))
    z = np.asarray(z, dtype="float32")
    if z.ndim != 2 or z.shape[1] != latent_dim(decoder) or len(z) == 0:
        raise ValueError(f"`z` must be (n, {latent_dim(decoder)}) codes for this decoder, got shape {z.shape}.")
    inputs = given(decoder, z, labels)
    part = (lambda i: inputs[i:i + batch_size]) if labels is None else (
        lambda i: [inputs[0][i:i + batch_size], inputs[1][i:i + batch_size]])
    image = image_function(decoder)
    batches = range(0, len(z), batch_size)
    if not decoder_kind(decoder).draws:
        return np.concatenate([keras.ops.convert_to_numpy(image(part(i))) for i in batches])
    uniform = seeded_uniforms(decoder, len(z), seed)
    return np.concatenate([keras.ops.convert_to_numpy(image(part(i), uniform[i:i + batch_size])) for i in batches])


def sample_prior(decoder, n=64, seed=0, prior=None, pixels=False, labels=None):
    """Decode n seeded draws of z ~ p(z) into images: N(0, I) unless `prior` (a VAE's, priors.py) is given; for a
    conditional decoder, z ~ p(z|y) of each class in `labels` where the prior has one per class (priors.ClassPriors).
    With `pixels`, each image is a draw x ~ p(x|z) (draw_pixels), not the image the decoder shows."""
    prior = prior or StandardNormalPrior(latent_dim(decoder))
    z = prior.sample(n, seed) if labels is None or not hasattr(prior, "given_labels") else prior.given_labels(labels, seed)
    return draw_pixels(decoder, z, seed, labels) if pixels else decode(decoder, z, seed, labels=labels)


def encode(encoder, x, labels=None):
    """(z_mean, z_log_var) of x (and of their classes `labels`, for a conditional encoder) from any encoder: a VAE's
    [z_mean, z_log_var, z], a SavedModel's [z_mean, z_log_var], or an autoencoder's code z_mean alone (z_log_var
    None)."""
    require_images(x)
    outputs = encoder.predict(given(encoder, x, labels), verbose=0)
    return (outputs[0], outputs[1]) if isinstance(outputs, (list, tuple)) else (outputs, None)


def reconstruct(encoder, decoder, x, labels=None):
    """The reconstruction decoded from the code z_mean (a VAE's posterior mean), given each image's class `labels`
    for a conditional model."""
    return decode(decoder, encode(encoder, x, labels)[0], labels=labels)
