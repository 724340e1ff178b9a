"""The autoregressive (MADE) decoder: causal masks, a normalized p(x|z), exact sampling, saving and export."""
import itertools
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_vae import VAE, build_decoder, build_encoder
from keras_vae.export import export_saved_model
from keras_vae.autoregressive import MadeSampler, pixel_by_pixel
from keras_vae.decoders import decode
from keras_vae.train import copy_weights

TINY = (2, 2, 1)  # 4 pixels: all 16 images can be enumerated


def tiny_vae(latent_dim=2, masked_layers=1, local_channels=0, local_layers=0):
    options = {"hidden_dim": 8, "image_shape": TINY, "masked_layers": masked_layers, "local_channels": local_channels,
               "local_layers": local_layers}
    decoder = build_decoder(latent_dim, "made", **options)
    return VAE(build_encoder(latent_dim, "made", seed=0, **options), with_random_local_logits(decoder))


def with_random_local_logits(decoder, seed=0):
    """`decoder` with random weights in the local layers that start at zero (no effect): the last, the residual ones."""
    rng = np.random.default_rng(seed)
    for layer in decoder.layers:
        if layer.name == "local_logits" or layer.name.startswith("local_block"):
            layer.kernel.assign(rng.normal(0.0, 0.5, layer.kernel.shape).astype("float32"))
    return decoder


def all_images(shape=TINY):
    pixels = np.array(list(itertools.product([0.0, 1.0], repeat=int(np.prod(shape)))), dtype="float32")
    return pixels.reshape(-1, *shape)


@pytest.mark.parametrize("masked_layers, local_channels, local_layers", [(1, 0, 0), (2, 0, 0), (1, 4, 0), (1, 4, 2)])
def test_each_pixel_depends_only_on_the_pixels_before_it_in_raster_order(masked_layers, local_channels, local_layers):
    decoder = with_random_local_logits(build_decoder(3, "made", hidden_dim=32, masked_layers=masked_layers,
                                                     local_channels=local_channels, local_layers=local_layers))
    # Two masked layers are drawn by the pixel-by-pixel loop: the fast sampler knows one.
    assert MadeSampler.fits(decoder) == (masked_layers == 1)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((2, 3)).astype("float32")
    x = (rng.random((2, 28, 28, 1)) < 0.5).astype("float32")
    before = decoder.predict([z, x], verbose=0).reshape(2, -1)
    for j in (0, 100, 783):
        flipped = x.copy().reshape(2, -1)
        flipped[:, j] = 1 - flipped[:, j]
        after = decoder.predict([z, flipped.reshape(x.shape)], verbose=0).reshape(2, -1)
        changed = np.abs(after - before).max(axis=0) > 0
        assert not changed[: j + 1].any()  # pixel j and those before it never see pixel j
        assert changed[j + 1:].any() or j == 783


@pytest.mark.parametrize("masked_layers, local_channels, local_layers", [(1, 0, 0), (2, 0, 0), (1, 4, 0), (1, 4, 1)])
def test_p_x_given_z_sums_to_one_over_all_images(masked_layers, local_channels, local_layers):
    vae = tiny_vae(masked_layers=masked_layers, local_channels=local_channels, local_layers=local_layers)
    x = all_images()
    for z in np.random.default_rng(1).standard_normal((3, 1, 2)).astype("float32"):
        log_p = -keras.ops.convert_to_numpy(vae.reconstruction_loss(x, np.repeat(z, len(x), axis=0)))
        np.testing.assert_allclose(np.exp(log_p).sum(), 1.0, atol=1e-5)


def test_pixel_by_pixel_sampling_draws_from_p_x_given_z():
    vae = tiny_vae()
    x = all_images()
    z = np.full((len(x), 2), 0.3, dtype="float32")
    p = np.exp(-keras.ops.convert_to_numpy(vae.reconstruction_loss(x, z)))
    n = 20000
    draws = decode(vae.decoder, np.full((n, 2), 0.3, dtype="float32"), seed=0, batch_size=n).reshape(n, 4)
    assert set(np.unique(draws)) <= {0.0, 1.0}
    counts = np.bincount((draws @ np.array([8, 4, 2, 1])).astype(int), minlength=16)
    # Each pattern's frequency within 5 binomial standard deviations of its probability.
    np.testing.assert_array_less(np.abs(counts / n - p), 5 * np.sqrt(p * (1 - p) / n) + 1e-4)


@pytest.mark.parametrize("local_channels", [0, 4])
def test_a_made_vae_round_trips_through_a_keras_file(tmp_path, local_channels):
    vae = VAE(build_encoder(4, "made", seed=0, hidden_dim=16),
              with_random_local_logits(build_decoder(4, "made", hidden_dim=16, local_channels=local_channels)))
    vae.compile(optimizer=keras.optimizers.Adam())
    x = (np.random.default_rng(0).random((8, 28, 28, 1)) < 0.3).astype("float32")
    vae.fit(x, epochs=1, batch_size=8, verbose=0)
    vae.save(tmp_path / "vae.keras")
    loaded = keras.models.load_model(tmp_path / "vae.keras", safe_mode=True)
    z = np.zeros((8, 4), dtype="float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.reconstruction_loss(x, z)),
                               keras.ops.convert_to_numpy(vae.reconstruction_loss(x, z)), rtol=1e-6)


def test_several_draws_of_z_per_image_score_as_the_images_repeated_for_each_draw():
    # The decoder's layers that read x alone run once per image, the others once per draw of z.
    vae = tiny_vae(local_channels=4)
    x = all_images()
    z = np.random.default_rng(4).standard_normal((3 * len(x), 2)).astype("float32")
    repeated = keras.ops.convert_to_numpy(vae.reconstruction_loss(np.tile(x, (3, 1, 1, 1)), z))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(vae.reconstruction_loss(x, z)), repeated, rtol=1e-6)
    assert np.ptp(repeated.reshape(3, -1), axis=0).min() > 0  # the draws do differ


@pytest.mark.parametrize("before, after", [((0, 0), (4, 0)), ((4, 0), (4, 2))])
def test_local_layers_start_from_a_made_run_without_them_at_its_p_x_given_z(before, after):
    # (local_channels, local_layers) of the run started from, and of the run started.
    without = tiny_vae(local_channels=before[0], local_layers=before[1])
    local = VAE(build_encoder(2, "made", seed=1, hidden_dim=8, image_shape=TINY),
                build_decoder(2, "made", hidden_dim=8, image_shape=TINY, local_channels=after[0], local_layers=after[1]))
    copy_weights(local, without)
    x, z = all_images(), np.random.default_rng(5).standard_normal((16, 2)).astype("float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(local.reconstruction_loss(x, z)),
                                  keras.ops.convert_to_numpy(without.reconstruction_loss(x, z)))
    with pytest.raises(ValueError, match="its decoder does not fit"):
        copy_weights(without, local)


FIRST_PIXEL_FREQUENCY = """
import sys, numpy as np, tensorflow as tf
decoder = tf.saved_model.load(sys.argv[1])
x = decoder.signatures["serve"](z=tf.fill((4000, 2), 0.3))["x"].numpy()
assert "keras_vae" not in sys.modules and x.shape == (4000, 2, 2, 1) and set(np.unique(x)) <= {0.0, 1.0}
print(x[:, 0, 0, 0].mean())
"""


@pytest.mark.slow
def test_the_exported_decoder_draws_images_pixel_by_pixel_without_keras_vae(tmp_path):
    vae = tiny_vae()
    export_saved_model(vae, tmp_path)
    out = subprocess.run([sys.executable, "-c", FIRST_PIXEL_FREQUENCY, str(tmp_path / "decoder")],
                         check=True, capture_output=True, text=True, cwd="/").stdout
    # The first pixel sees no other: its frequency estimates p(x_0 = 1 | z) directly.
    p0 = float(vae.decoder([tf.fill((1, 2), 0.3), tf.zeros((1, *TINY))])[0, 0, 0, 0])
    assert abs(float(out.split()[-1]) - p0) < 5 * np.sqrt(p0 * (1 - p0) / 4000) + 1e-3


@pytest.mark.parametrize("seed", [0, 1])
def test_sampling_with_a_fixed_draw_is_a_fixed_point_of_the_decoder(seed):
    decoder = tiny_vae().decoder
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((64, 2)).astype("float32")
    uniform = rng.random((64, *TINY), dtype="float32")
    x = tf.function(pixel_by_pixel)(decoder, z, uniform).numpy()
    # Every pixel is the draw its own conditional gives, given the pixels drawn before it.
    np.testing.assert_array_equal(x, (uniform < decoder.predict([z, x], verbose=0)).astype("float32"))


@pytest.mark.parametrize("local_channels, local_layers", [(0, 0), (4, 0), (4, 2)])
def test_the_incremental_made_sampler_draws_what_the_pixel_by_pixel_loop_draws(local_channels, local_layers):
    decoder = with_random_local_logits(build_decoder(3, "made", hidden_dim=16, image_shape=(10, 10, 1),
                                                     local_channels=local_channels, local_layers=local_layers), seed=1)
    rng = np.random.default_rng(2)
    z = rng.standard_normal((32, 3)).astype("float32")
    uniform = rng.random((32, 10, 10, 1), dtype="float32")
    assert MadeSampler.fits(decoder)
    sampler = MadeSampler(decoder)
    fast = tf.function(sampler)(z, uniform).numpy()
    np.testing.assert_array_equal(fast, tf.function(pixel_by_pixel)(decoder, z, uniform).numpy())
    # The incremental pass itself draws it, up to rounding: the check after it does not have to redraw.
    one_pass = sampler.draw_from(tf.zeros((32, 100)), tf.zeros((32,), tf.int32), uniform.reshape(32, 100),
                                 *sampler.context(z)).numpy()
    assert (one_pass != fast.reshape(32, 100)).mean() < 1e-3
    assert 0.2 < fast.mean() < 0.8  # the draws are not trivially all 0 or all 1


def test_a_draw_that_disagrees_with_the_decoder_is_redrawn_from_the_first_wrong_pixel():
    decoder = tiny_vae().decoder
    rng = np.random.default_rng(3)
    z = rng.standard_normal((64, 2)).astype("float32")
    uniform = rng.random((64, *TINY), dtype="float32")
    sampler = MadeSampler(decoder)
    # A broken incremental pass: keeps the pixels before `start` and sets every later one to 0.
    sampler.draw_from = lambda x, start, *_: x * tf.cast(tf.range(4)[None, :] < start[:, None], x.dtype)
    np.testing.assert_array_equal(sampler(z, uniform).numpy(), tf.function(pixel_by_pixel)(decoder, z, uniform).numpy())
