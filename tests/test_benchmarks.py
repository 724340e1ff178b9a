"""The benchmarks' arithmetic: interleaved rounds, paired ratios, FLOP counts, the likelihood levers. The lab, not the
package: the slow lane runs these (--runslow)."""
import keras
import numpy as np
import pytest

pytestmark = pytest.mark.slow

from benchmarks import color_fidelity
from benchmarks.compute_cap import forward_flops
from benchmarks.likelihood import reading_z
from benchmarks.likelihood_levers import pixelcnn_decoder, reverse_pixel_order, set_output_bias
from benchmarks.throughput import interleaved_rounds, summarize
from keras_vae import build_decoder, build_encoder, losses
from keras_vae.decoders import mixture_parameters_model
from keras_vae.autoregressive.layers import LOCAL_PREFIX
from keras_vae.synthetic import colored_mnist


def test_rounds_skip_the_warm_up_and_rotate_the_order():
    calls = []

    def setup(name, seconds):
        times = iter(seconds)
        return lambda: calls.append(name) or next(times)

    epochs = {"a": setup("a", [100.0, 1.0, 2.0, 4.0]), "b": setup("b", [100.0, 2.0, 2.0, 8.0])}
    measured = interleaved_rounds(epochs, num_samples=8, rounds=3)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]
    assert measured == [{"a": 8.0, "b": 4.0}, {"a": 4.0, "b": 4.0}, {"a": 2.0, "b": 1.0}]


def test_ratios_pair_setups_within_a_round():
    # The machine slows down between rounds; within each round "a" is twice as fast, except in one.
    measured = [{"a": 100.0, "b": 50.0}, {"a": 10.0, "b": 5.0}, {"a": 40.0, "b": 40.0}]
    summary = summarize(measured, ["b"])
    assert summary["a"]["samples_per_second"] == 40.0 and summary["b"]["samples_per_second"] == 40.0
    assert summary["a"]["vs b"] == 2.0  # the ratio of the medians would say 1.0
    assert summary["b"]["vs b"] == 1.0


@pytest.mark.parametrize("layer, input_shape, flops", [
    (keras.layers.Dense(400), (784,), 2 * 784 * 400),
    (keras.layers.Conv2D(32, 3, strides=2, padding="same"), (28, 28, 1), 2 * 14 * 14 * 9 * 1 * 32),
    (keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same"), (14, 14, 64), 2 * 14 * 14 * 9 * 64 * 32),
])
def test_forward_flops_count_multiply_adds_per_image(layer, input_shape, flops):
    keras.Model(inputs := keras.Input(input_shape), layer(inputs))
    assert forward_flops(layer) == flops


def test_the_estimator_cap_counts_the_made_layers_that_read_z_not_those_that_read_x_alone():
    decoder = build_decoder(4, "made", hidden_dim=10, local_channels=3, local_layers=1)
    names = {layer.name for layer in reading_z(decoder) if hasattr(layer, "kernel")}
    x_alone = {l.name for l in decoder.layers
               if getattr(l, "inputs_kind", None) == "pixels" or l.name.startswith(LOCAL_PREFIX) and hasattr(l, "kernel")}
    assert len(x_alone) == 6 and not names & x_alone
    assert len(names) == 5  # the two context Dense layers, the two bias-free ones, the hidden -> pixels masked one


def test_repeated_ratios_are_the_median_and_range_of_each_runs_ratio():
    from benchmarks.repeats import repeated_ratios

    runs = [{"models": {"mlp": {"summary": {"a": {"samples_per_second": 1.0, "vs b": ratio}}}}} for ratio in (1.2, 0.9, 1.5)]
    assert repeated_ratios(runs) == {"mlp": {"a": {"vs b": {"median": 1.2, "low": 0.9, "high": 1.5, "runs": [1.2, 0.9, 1.5]}}}}


def test_the_output_bias_lever_makes_a_blank_decoder_draw_the_mean_image():
    decoder = build_decoder(2, "made", hidden_dim=8)
    decoder.set_weights([np.zeros_like(w) for w in decoder.get_weights()])
    x = np.random.default_rng(0).uniform(0.05, 0.95, size=(50, 28, 28, 1)).astype("float32")
    set_output_bias(decoder, x)
    p = decoder.predict([np.zeros((3, 2), "float32"), np.zeros((3, 28, 28, 1), "float32")], verbose=0)
    np.testing.assert_allclose(p, np.broadcast_to(x.mean(axis=0), p.shape), rtol=1e-4)


def test_reversed_pixel_order_reverses_the_raster_order_and_undoes_itself():
    x = np.arange(2 * 28 * 28, dtype="float32").reshape(2, 28, 28, 1)
    np.testing.assert_array_equal(reverse_pixel_order(x).reshape(2, -1), x.reshape(2, -1)[:, ::-1])
    np.testing.assert_array_equal(reverse_pixel_order(reverse_pixel_order(x)), x)


def test_the_timed_pixelcnn_decoder_is_autoregressive_in_raster_order():
    decoder = pixelcnn_decoder(3, channels=4, layers=2)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((2, 3)).astype("float32")
    x = (rng.random((2, 28, 28, 1)) < 0.5).astype("float32")
    before = decoder.predict([z, x], verbose=0).reshape(2, -1)
    for j in (0, 300, 783):
        flipped = x.reshape(2, -1).copy()
        flipped[:, j] = 1 - flipped[:, j]
        changed = np.abs(decoder.predict([z, flipped.reshape(x.shape)], verbose=0).reshape(2, -1) - before).max(axis=0) > 0
        assert not changed[:j + 1].any()  # pixel j and those before it never see pixel j
        assert changed[j + 1:].any() or j == 783


def test_codec_bits_per_dim_are_small_for_flat_images_and_near_eight_for_noise():
    from benchmarks.codecs import codec_bits_per_dim

    flat = np.full((4, 32, 32, 3), 0.5, "float32")
    noise = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3)).astype("float32") / 255
    binary = (np.random.default_rng(1).random((4, 28, 28, 1)) < 0.5).astype("float32")
    assert all(value < 0.5 for value in codec_bits_per_dim(flat).values())
    assert all(7.5 < value < 9.0 for value in codec_bits_per_dim(noise).values())  # noise does not compress
    # Random 1-bit pixels: 1 bit each, plus the file's own bytes (about 1 bit more per pixel on a 28x28 image).
    assert 1.0 < codec_bits_per_dim(binary, binary=True)["PNG"] < 2.5 < codec_bits_per_dim(binary)["PNG"]


def test_color_fidelity_finds_each_digits_stroke_and_scores_a_reconstructions_colors(mnist_small):
    (x, _), _ = mnist_small
    colored = colored_mnist(x[:50]).astype("float32") / 255
    digit = np.pad(x[:50, ..., 0], ((0, 0), (2, 2), (2, 2))) > 0.5
    stroke = color_fidelity.regions(colored)
    assert (stroke & digit).sum() / (stroke | digit).sum() > 0.8
    assert color_fidelity.color_errors(colored, colored) == {"stroke": 0.0, "background": 0.0,
                                                             "stroke where drawn": 0.0}
    gray = np.repeat(colored.mean(-1, keepdims=True), 3, axis=-1)  # the same strokes, their hue lost
    errors = color_fidelity.color_errors(colored, gray)
    assert errors["stroke"] > 10 and errors["background"] > 5 and errors["stroke where drawn"] > 10
    moved = np.roll(colored, 3, axis=2)  # each stroke in its color, three pixels off its place
    errors = color_fidelity.color_errors(colored, moved)
    assert errors["stroke where drawn"] < 1 < 10 < errors["stroke"]


def test_stroke_color_correlations_follow_the_originals_colors_however_pale(mnist_small):
    (x, _), _ = mnist_small
    colored = colored_mnist(x[:50]).astype("float32") / 255
    np.testing.assert_allclose(color_fidelity.stroke_color_correlations(colored, colored), 1.0, rtol=1e-6)
    pale = 0.5 * colored + 0.25  # halfway to a gray: each stroke's color lower in contrast, in the same order
    np.testing.assert_allclose(color_fidelity.stroke_color_correlations(colored, pale), 1.0, rtol=1e-6)
    assert color_fidelity.color_errors(colored, pale)["stroke"] > 10
    same = np.where(color_fidelity.regions(colored)[..., None], 0.75, colored)  # every stroke one color
    assert color_fidelity.stroke_color_correlations(colored, same) == [0.0, 0.0, 0.0]
    red_for_green = colored[..., [1, 0, 2]]  # red and green swapped: independent draws, so no correlation
    assert all(abs(value) < 0.5 for value in color_fidelity.stroke_color_correlations(colored, red_for_green)[:2])


def test_bits_by_region_splits_the_reconstruction_loss_at_z_mean(mnist_small):
    (x, _), _ = mnist_small
    colored = colored_mnist(x[:6]).astype("float32") / 255
    encoder = build_encoder(4, "resnet", colored.shape[1:], seed=0)
    decoder = build_decoder(4, "resnet", colored.shape[1:], likelihood="discretized_logistic_mixture",
                            mixture_components=2)
    z_mean = encoder.predict(colored, verbose=0)[0]
    split = color_fidelity.bits_by_region(decoder, z_mean, colored)
    parameters = mixture_parameters_model(decoder).predict(z_mean, verbose=0)
    nats = losses.discretized_logistic_mixture_reconstruction_loss(losses.eight_bit(colored), parameters)
    stroke_dims = 3 * color_fidelity.regions(colored).sum()
    regions_bits = split["stroke"][0] * stroke_dims + split["background"][0] * (colored.size - stroke_dims)
    np.testing.assert_allclose(regions_bits, float(np.sum(nats)) / np.log(2), rtol=1e-4)
    assert split["stroke"][1] + split["background"][1] == pytest.approx(1.0)
    assert split["stroke"][0] > 0 and split["background"][0] > 0


def test_the_likeliest_component_mean_takes_each_pixels_heaviest_component_with_its_coupling():
    from benchmarks.colored_ablation import likeliest_component_mean
    rng = np.random.default_rng(0)
    parameters = rng.normal(size=(2, 4, 4, losses.mixture_parameters(3, 2))).astype("float32")
    logits, means, _, coefficients = (np.asarray(v) for v in losses.split_mixture(parameters, 3))
    shown = likeliest_component_mean(parameters, 3)
    for index in np.ndindex(*shown.shape[:-1]):
        k = int(np.argmax(logits[index]))
        red = means[index][k, 0]
        green = means[index][k, 1] + coefficients[index][k, 0] * red
        blue = means[index][k, 2] + coefficients[index][k, 1] * red + coefficients[index][k, 2] * green
        np.testing.assert_allclose(shown[index], np.clip([red, green, blue], 0, 1), atol=1e-6)


def test_the_image_weights_decoder_gives_every_pixel_the_same_mixture_weights_and_its_own_means():
    from benchmarks.colored_ablation import VARIANTS
    decoder = build_decoder(4, VARIANTS["resnet_image_weights"], (32, 32, 3), likelihood="discretized_logistic_mixture",
                            mixture_components=2)
    for layer in decoder.layers:  # weights away from their zero start, so that every part reads z
        layer.set_weights([np.random.default_rng(0).normal(0, 0.1, w.shape) for w in layer.get_weights()])
    z = np.random.default_rng(1).normal(size=(2, 4)).astype("float32")
    parameters = mixture_parameters_model(decoder).predict(z, verbose=0)
    logits, means = parameters[..., :2], parameters[..., 2:]
    np.testing.assert_allclose(logits, np.broadcast_to(logits[:, :1, :1], logits.shape), atol=1e-6)
    assert np.ptp(means, axis=(1, 2)).min() > 1e-3 and not np.allclose(logits[0], logits[1])
