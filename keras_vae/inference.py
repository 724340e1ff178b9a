"""Decoder-only and encoder-decoder helpers that work with any Keras-callable models."""
import numpy as np
import tensorflow as tf

from .model import is_autoregressive


def latent_dim(decoder):
    """The size of z that `decoder` takes."""
    return decoder.inputs[0].shape[-1]


def sample_pixels(decoder, z, uniform):
    """x ~ p(x|z) from an autoregressive decoder, one pixel at a time in raster order.

    Pixel i is 1 where uniform_i < p(x_i = 1 | x_<i, z); `uniform` fixes the draw (shape of x).
    """
    x = tf.zeros_like(uniform)
    num_pixels = tf.size(uniform[0])
    for i in tf.range(num_pixels):
        probabilities = decoder([z, x], training=False)
        pixel = tf.reshape(tf.one_hot(i, num_pixels, dtype=x.dtype), tf.shape(x)[1:])
        x += pixel * tf.cast(uniform < probabilities, x.dtype)
    return x


def decode(decoder, z, seed=0, batch_size=256):
    """Images for latent codes z: decoder(z), or for an autoregressive decoder a seeded draw x ~ p(x|z)."""
    z = np.asarray(z, dtype="float32")
    if not is_autoregressive(decoder):
        return decoder.predict(z, batch_size=batch_size, verbose=0)
    image_shape = tuple(decoder.inputs[1].shape[1:])
    uniform = np.random.default_rng(seed).random((len(z), *image_shape), dtype="float32")
    sample = tf.function(sample_pixels)
    return np.concatenate([sample(decoder, z[i:i + batch_size], uniform[i:i + batch_size]).numpy()
                           for i in range(0, len(z), batch_size)])


def sample_prior(decoder, n=64, seed=0):
    """Decode n draws of z ~ N(0, I) (numpy, seeded) into images."""
    z = np.random.default_rng(seed).standard_normal((n, latent_dim(decoder))).astype("float32")
    return decode(decoder, z, seed)


def reconstruct(encoder, decoder, x):
    """The reconstruction decoded from the posterior mean z_mean."""
    z_mean = encoder.predict(x, verbose=0)[0]
    return decode(decoder, z_mean)
