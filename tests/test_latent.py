"""The latent space the explorers show: the map's geometry, the dims by KL, typed z, drawings as model inputs."""
import numpy as np
import pytest

from keras_vae import VAE, build_decoder, build_encoder
from keras_vae.decoders import encode
from keras_vae.latent import LatentSpace, check_map_dims, digit_from_sketch, parse_z
from keras_vae.plots import informative_dims


@pytest.fixture(scope="module")
def space(mnist_small):
    (x_test, y_test) = mnist_small[1]
    vae = VAE(build_encoder(4, "mlp", hidden_dim=16, seed=0), build_decoder(4, "mlp", hidden_dim=16))
    return LatentSpace(vae.encoder, vae.decoder, x_test, y_test, sliders=3)


def test_a_point_of_the_map_and_its_z_are_each_others_inverse(space):
    x_dim, y_dim = space.map_dims
    z = space.at_fraction(0.25, 0.75)
    (x_lo, x_hi), (y_lo, y_hi) = space.limits[x_dim], space.limits[y_dim]
    assert z[x_dim] == pytest.approx(x_lo + 0.25 * (x_hi - x_lo)) and z[y_dim] == pytest.approx(y_lo + 0.75 * (y_hi - y_lo))
    others = [d for d in range(4) if d not in space.map_dims]
    np.testing.assert_allclose(z[others], space.z_mean.mean(axis=0)[others], rtol=1e-6)
    assert space.fraction_of(z) == pytest.approx((0.25, 0.75))
    assert space.limits[x_dim][0] <= -3 and space.limits[x_dim][1] >= 3  # at least the prior's +-3


def test_the_map_and_sliders_take_the_dims_with_the_most_kl(space, mnist_small):
    z_mean, z_log_var = encode(space.encoder, mnist_small[1][0])
    order = informative_dims(z_mean, z_log_var)
    assert space.map_dims == order[:2] and space.slider_dims == order[:3]
    chosen = LatentSpace(space.encoder, space.decoder, mnist_small[1][0], map_dims=(3, 0), sliders=3)
    assert chosen.map_dims == (3, 0) and chosen.slider_dims == (3, 0, next(d for d in order if d not in (3, 0)))


def test_the_image_at_z_is_what_the_decoder_gives(space):
    z = space.at_fraction(0.1, 0.9)
    np.testing.assert_allclose(space.image(z), space.decoder.predict(z[None], verbose=0)[0], atol=1e-6)


def test_the_map_picture_is_square_and_coloured_by_label(space):
    pixels = space.map_pixels(size=200)
    assert pixels.shape == (200, 200, 3) and pixels.dtype == np.uint8
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 10  # white ground and the labels' colours


@pytest.mark.parametrize("text,message", [("0.5", "this model's z has 4 numbers; 1 were given"),
                                          ("1, 2, x, 4", "z is 4 numbers separated by commas"),
                                          ("1 2 nan 4", "finite")])
def test_a_typed_z_of_the_wrong_size_or_not_numbers_is_refused_in_one_sentence(text, message):
    with pytest.raises(ValueError, match=message):
        parse_z(text, 4)
    np.testing.assert_array_equal(parse_z("1, -2 3.5,4", 4), [1, -2, 3.5, 4])


@pytest.mark.parametrize("dims", [(0, 0), (0, 4), (0, 1, 2), (-1, 2)])
def test_map_dims_must_be_two_different_dims_of_the_model(dims):
    with pytest.raises(ValueError, match="two different dims of z, each in 0..3 for this 4-D model"):
        check_map_dims(dims, 4)


def test_a_drawing_becomes_an_mnist_like_digit_scaled_and_centred_by_mass():
    ink = np.zeros((280, 280), "float32")
    ink[20:120, 200:230] = 1.0  # a bar in the top right corner, 100 tall
    digit = digit_from_sketch(ink, (28, 28, 1))
    assert digit.shape == (28, 28, 1)
    rows, cols = np.nonzero(digit[..., 0] > 0.5)
    assert rows.max() - rows.min() + 1 in (19, 20, 21)  # the longer side 20 of 28, as in MNIST
    mass = (np.indices((28, 28)) * digit[..., 0]).reshape(2, -1).sum(axis=1) / digit.sum()
    np.testing.assert_allclose(mass, [13.5, 13.5], atol=1.0)
    np.testing.assert_array_equal(digit * 255, np.round(digit * 255))  # 8-bit steps, as an image file holds
    assert digit_from_sketch(ink, (32, 32, 3)).shape == (32, 32, 3)


def test_an_empty_drawing_is_refused():
    with pytest.raises(ValueError, match="the sketchpad is empty: draw a digit on it first"):
        digit_from_sketch(np.zeros((280, 280)), (28, 28, 1))
