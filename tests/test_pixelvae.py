"""The pixelvae architecture: each pixel's mixture given z and the pixels before it, drawn pixel by pixel."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_vae.architectures import build_decoder, build_encoder
from keras_vae.autoregressive import NeighbourSampler, pixel_by_pixel
from keras_vae.decoders import decode, shows, uniform_shape
from keras_vae.losses import draw_mixture
from keras_vae.model import VAE

SHAPE = (8, 8, 3)


def random_decoder(components=2, seed=0, neighbours="color"):
    """A pixelvae decoder whose masked convolution and last layer have random weights, so that each pixel's
    mixture depends on its neighbours and on z."""
    decoder = build_decoder(4, "pixelvae", SHAPE, likelihood="discretized_logistic_mixture",
                            mixture_components=components, neighbours=neighbours)
    rng = np.random.default_rng(seed)
    for name in ("pixel_neighbours", "logits"):
        layer = decoder.get_layer(name)
        layer.kernel.assign(rng.normal(0.0, 0.3, layer.kernel.shape))
    return decoder


def parameters_model(decoder):
    return keras.Model(decoder.inputs, decoder.layers[-1].input)


def codes_and_uniforms(decoder, n=16, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)).astype("float32"), rng.random((n, *uniform_shape(decoder)), dtype="float32")


def test_each_pixels_mixture_sees_only_the_pixels_before_it():
    parameters = parameters_model(random_decoder())
    rng = np.random.default_rng(2)
    z, x = rng.standard_normal((1, 4)).astype("float32"), rng.random((1, *SHAPE)).astype("float32")
    before = parameters.predict([z, x], verbose=0)[0].reshape(64, -1)
    for pixel in (0, 9, 35, 63):
        changed = x.copy()
        changed[0, pixel // 8, pixel % 8] = 1.0 - changed[0, pixel // 8, pixel % 8]
        after = parameters.predict([z, changed], verbose=0)[0].reshape(64, -1)
        moved = np.abs(after - before).max(axis=1) > 1e-6
        assert not moved[:pixel + 1].any()  # itself and the pixels before it: unchanged
        assert moved[pixel + 1:].any() or pixel == 63  # some after it follow it


def test_a_drawn_image_is_a_fixed_point_of_its_pixels_conditionals():
    decoder = random_decoder()
    z, uniform = codes_and_uniforms(decoder)
    x = decode(decoder, z, seed=1)
    assert x.shape == (16, *SHAPE) and np.allclose(x * 255, np.round(x * 255), atol=1e-4)
    # Every pixel is the draw its own mixture gives with its uniforms, given the pixels drawn before it.
    x = tf.function(pixel_by_pixel)(decoder, z, uniform).numpy()
    redrawn = draw_mixture(parameters_model(decoder).predict([z, x], verbose=0), 3, uniform).numpy()
    np.testing.assert_array_equal(np.round(redrawn * 255), np.round(x * 255))
    assert 0.1 < x.std()  # the draws are not one flat color


@pytest.mark.parametrize("components, neighbours", [(1, "color"), (3, "color"), (2, "brightness")])
def test_the_neighbour_sampler_draws_what_the_decoder_pass_per_pixel_draws(components, neighbours):
    decoder = random_decoder(components, seed=components, neighbours=neighbours)
    z, uniform = codes_and_uniforms(decoder, n=32, seed=components)
    assert NeighbourSampler.fits(decoder)
    fast = NeighbourSampler(decoder)(z, uniform).numpy()
    slow = tf.function(pixel_by_pixel)(decoder, z, uniform).numpy()
    assert (np.round(fast * 255) == np.round(slow * 255)).mean() > 0.99  # the same draw, up to float rounding
    assert not NeighbourSampler.fits(build_decoder(4, "made", (4, 4, 1), hidden_dim=8))


@pytest.mark.parametrize("neighbours", ["color", "brightness"])
def test_a_pixelvae_vae_scores_trains_and_round_trips_through_a_keras_file(tmp_path, neighbours):
    vae = VAE(build_encoder(4, "pixelvae", SHAPE, seed=0), random_decoder(neighbours=neighbours),
              likelihood="discretized_logistic_mixture")
    vae.compile(keras.optimizers.Adam(1e-3))
    x = np.round(np.random.default_rng(3).random((32, *SHAPE)) * 255).astype("float32") / 255
    history = vae.fit(x, epochs=3, batch_size=16, verbose=0).history["loss"]
    assert history[-1] < history[0]
    vae.save(tmp_path / "vae.keras")
    loaded = keras.models.load_model(tmp_path / "vae.keras")
    z = np.zeros((32, 4), dtype="float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.reconstruction_loss(x, z)),
                               keras.ops.convert_to_numpy(vae.reconstruction_loss(x, z)), rtol=1e-5)
    assert shows(loaded.decoder) == "x ~ p(x|z), drawn pixel by pixel"
    np.testing.assert_array_equal(decode(loaded.decoder, z[:4]), decode(vae.decoder, z[:4]))


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian", "discretized_logistic"])
def test_pixelvae_takes_the_mixture_likelihood_only(likelihood):
    with pytest.raises(ValueError, match=f"`architecture` pixelvae takes the discretized_logistic_mixture likelihood, "
                                         f"not {likelihood}"):
        build_decoder(4, "pixelvae", SHAPE, likelihood=likelihood)


def test_brightness_neighbours_see_each_pixels_channel_mean_only():
    parameters = parameters_model(random_decoder(neighbours="brightness"))
    rng = np.random.default_rng(5)
    z, x = rng.standard_normal((1, 4)).astype("float32"), rng.random((1, *SHAPE)).astype("float32")
    hue_turned = x.copy()
    hue_turned[0, 0, 0] = x[0, 0, 0, ::-1]  # the first pixel's channels reversed: its mean kept
    np.testing.assert_allclose(parameters.predict([z, hue_turned], verbose=0), parameters.predict([z, x], verbose=0),
                               atol=1e-5)
    brighter = x.copy()
    brighter[0, 0, 0] = np.clip(x[0, 0, 0] + 0.3, 0, 1)
    assert np.abs(parameters.predict([z, brighter], verbose=0) - parameters.predict([z, x], verbose=0)).max() > 1e-4
    with pytest.raises(ValueError, match="`neighbours` must be one of color, brightness, got 'hue'"):
        build_decoder(4, "pixelvae", SHAPE, likelihood="discretized_logistic_mixture", neighbours="hue")
