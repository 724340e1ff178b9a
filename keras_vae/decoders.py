"""Decoder kinds, and decoding through any decoder: prior samples, reconstructions, images for given z.

Each kind knows the inputs its decoder takes, how x is fed to it to score log p(x|z), and which image it
shows for a z. The model, the figures, export and the commands ask the kind instead of branching:
- direct: decoder(z) gives every pixel's parameters at once; the image shown is the mean, decoder(z).
- autoregressive: p(x|z) = prod_i p(x_i | x_<i, z); the decoder takes [z, x], and the image shown is a
  draw x ~ p(x|z), one pixel at a time.
"""
import keras
import numpy as np
import tensorflow as tf


class DirectDecoder:
    """decoder(z) -> the parameters of every pixel at once."""

    name = "direct"
    draws = False  # the image shown is decoder(z), not a random draw
    shows = "decoder({z})"  # what the image shown for a code {z} is
    likelihoods = None  # any registered likelihood

    @staticmethod
    def inputs(latent_dim, image_shape):
        return [keras.Input(shape=(latent_dim,), name="z")]

    @staticmethod
    def scoring_inputs(z, x):
        """What the decoder takes to score x given z."""
        return z

    @staticmethod
    def image(decoder, z, uniform=None):
        """The image shown for z: decoder(z)."""
        return decoder(z, training=False)


class AutoregressiveDecoder:
    """decoder([z, x]) -> p(x_i = 1 | x_<i, z) for every pixel i (masked so that pixel i sees only x_<i)."""

    name = "autoregressive"
    draws = True  # the image shown is a draw, fixed by `uniform`
    shows = "x ~ p(x|{z}), drawn pixel by pixel"
    likelihoods = ("bernoulli",)  # its conditionals are drawn as binary pixels

    @staticmethod
    def inputs(latent_dim, image_shape):
        return [keras.Input(shape=(latent_dim,), name="z"), keras.Input(shape=tuple(image_shape), name="x")]

    @staticmethod
    def scoring_inputs(z, x):
        """[z, x]: each pixel is scored given the true pixels before it."""
        z = tf.convert_to_tensor(z)
        return [z, tf.cast(x, z.dtype)]

    @staticmethod
    def image(decoder, z, uniform):
        """x ~ p(x|z), one pixel at a time in raster order: pixel i is 1 where uniform_i < p(x_i = 1 | x_<i, z)."""
        x = tf.zeros_like(uniform)
        num_pixels = tf.size(uniform[0])
        for i in tf.range(num_pixels):  # a tf.while_loop under tf.function
            probabilities = decoder([z, x], training=False)
            pixel = tf.reshape(tf.one_hot(i, num_pixels, dtype=x.dtype), tf.shape(x)[1:])
            x += pixel * tf.cast(uniform < probabilities, x.dtype)
        return x


DECODER_KINDS = {kind.name: kind for kind in (DirectDecoder, AutoregressiveDecoder)}


def decoder_kind(decoder):
    """The kind of a built decoder, told by the inputs it takes (a SavedModel decoder takes z alone)."""
    for kind in DECODER_KINDS.values():
        if len(kind.inputs(1, (1,))) == len(decoder.inputs):
            return kind
    raise ValueError(f"A decoder takes z or [z, x]; this one takes {len(decoder.inputs)} inputs.")


def latent_dim(decoder):
    """The size of z that `decoder` takes."""
    return decoder.inputs[0].shape[-1]


def image_shape(decoder):
    """The shape of one image that `decoder` gives."""
    return tuple(decoder.outputs[0].shape[1:])


def image_function(decoder):
    """A tf.function z, uniform -> the image `decoder`'s kind shows for z (`uniform` fixes a draw); made once per
    decoder and kept on it, so that it is traced once, not on every call."""
    if getattr(decoder, "_image_function", None) is None:
        kind = decoder_kind(decoder)
        decoder._image_function = tf.function(lambda z, uniform=None: kind.image(decoder, z, uniform),
                                              reduce_retracing=True)
    return decoder._image_function


def decode(decoder, z, seed=0, batch_size=256):
    """Images for latent codes z, as the decoder's kind shows them: decoder(z), or for an autoregressive
    decoder a draw x ~ p(x|z) whose uniforms are np.random.default_rng(seed).random(...)."""
    z = np.asarray(z, dtype="float32")
    image = image_function(decoder)
    batches = range(0, len(z), batch_size)
    if not decoder_kind(decoder).draws:
        return np.concatenate([image(z[i:i + batch_size]).numpy() for i in batches])
    uniform = np.random.default_rng(seed).random((len(z), *image_shape(decoder)), dtype="float32")
    return np.concatenate([image(z[i:i + batch_size], uniform[i:i + batch_size]).numpy() for i in batches])


def sample_prior(decoder, n=64, seed=0):
    """Decode n draws of z ~ N(0, I) (numpy, seeded) into images."""
    z = np.random.default_rng(seed).standard_normal((n, latent_dim(decoder))).astype("float32")
    return decode(decoder, z, seed)


def reconstruct(encoder, decoder, x):
    """The reconstruction decoded from the posterior mean z_mean."""
    z_mean = encoder.predict(x, verbose=0)[0]
    return decode(decoder, z_mean)
