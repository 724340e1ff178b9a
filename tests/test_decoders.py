"""Decoder kinds: told from the decoder's inputs; decode shows each kind's image for z, batch by batch."""
import numpy as np

from keras_vae import build_decoder, decode, sample_prior
from keras_vae.autoregressive import AutoregressiveDecoder
from keras_vae.decoders import DirectDecoder, decoder_kind, image_shape, latent_dim


def test_the_kind_is_told_by_the_inputs_the_decoder_takes():
    direct, made = build_decoder(3, "mlp", hidden_dim=8), build_decoder(3, "made", hidden_dim=8)
    assert decoder_kind(direct) is DirectDecoder and decoder_kind(made) is AutoregressiveDecoder
    assert latent_dim(direct) == latent_dim(made) == 3
    assert image_shape(direct) == image_shape(made) == (28, 28, 1)


def test_decode_gives_decoder_of_z_for_a_direct_decoder_across_batches():
    decoder = build_decoder(2, "mlp", hidden_dim=8)
    z = np.random.default_rng(0).standard_normal((300, 2)).astype("float32")
    np.testing.assert_allclose(decode(decoder, z, batch_size=128), decoder.predict(z, verbose=0), atol=1e-6)


def test_prior_samples_are_seeded_draws_of_z_through_the_decoder():
    decoder = build_decoder(2, "mlp", hidden_dim=8)
    z = np.random.default_rng(5).standard_normal((9, 2)).astype("float32")
    np.testing.assert_allclose(sample_prior(decoder, 9, seed=5), decoder.predict(z, verbose=0), atol=1e-6)
    assert not np.allclose(sample_prior(decoder, 9, seed=5), sample_prior(decoder, 9, seed=6))
