"""Decoder-only and encoder-decoder helpers that work with any Keras-callable models."""
import numpy as np


def sample_prior(decoder, n=64, seed=0, latent_dim=None):
    """Decode n draws of z ~ N(0, I) (numpy, seeded) into images."""
    latent_dim = latent_dim or decoder.input_shape[-1]
    z = np.random.default_rng(seed).standard_normal((n, latent_dim)).astype("float32")
    return decoder.predict(z, verbose=0)


def reconstruct(encoder, decoder, x):
    """decoder(z_mean): the deterministic reconstruction at the posterior mean."""
    z_mean = encoder.predict(x, verbose=0)[0]
    return decoder.predict(z_mean, verbose=0)
