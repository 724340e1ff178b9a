import numpy as np
import pytest
import tensorflow as tf
from scipy import integrate, stats

from keras_vae import LIKELIHOODS, bernoulli_reconstruction_loss, kl_divergence, losses
from keras_vae.losses import (DiscretizedMixtureMean, bits_per_dim, draw_mixture, continuous_bernoulli_mean,
                              continuous_bernoulli_reconstruction_loss, discretized_logistic_mixture_reconstruction_loss,
                              discretized_logistic_reconstruction_loss, gaussian_calibrated_reconstruction_loss,
                              gaussian_reconstruction_loss, get_likelihood, mixture_log_probs, mixture_parameters)


def test_closed_form_kl_equals_the_textbook_formula_and_a_monte_carlo_estimate():
    rng = np.random.default_rng(0)
    z_mean = rng.normal(size=(3, 4)).astype("float32")
    z_log_var = rng.normal(scale=0.5, size=(3, 4)).astype("float32")
    kl = kl_divergence(z_mean, z_log_var).numpy()

    var = np.exp(z_log_var.astype("float64"))
    formula = 0.5 * np.sum(var + z_mean**2 - 1.0 - np.log(var), axis=1)
    np.testing.assert_allclose(kl, formula, rtol=1e-5)

    std = np.sqrt(var)
    z = z_mean + std * rng.standard_normal((400_000, 3, 4))
    log_q = stats.norm.logpdf(z, z_mean, std).sum(-1)
    log_p = stats.norm.logpdf(z).sum(-1)
    np.testing.assert_allclose(kl, (log_q - log_p).mean(axis=0), rtol=0.02, atol=0.01)


def test_bernoulli_reconstruction_loss_is_binary_cross_entropy_summed_over_pixels():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(2, 28, 28, 1)).astype("float32")
    logits = rng.normal(scale=3.0, size=(2, 28, 28, 1)).astype("float32")
    p = 1.0 / (1.0 + np.exp(-logits.astype("float64")))
    expected = -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=(1, 2, 3))
    np.testing.assert_allclose(bernoulli_reconstruction_loss(x, logits).numpy(), expected, rtol=1e-5)


def test_losses_and_gradients_stay_finite_at_extreme_logits_and_log_variances():
    x = tf.constant(np.tile([0.0, 1.0], 392).reshape(1, 28, 28, 1), "float32")
    logits = tf.Variable(np.tile([60.0, -60.0], 392).reshape(1, 28, 28, 1).astype("float32"))
    z_mean = tf.Variable([[0.0, 3.0]])
    z_log_var = tf.Variable([[40.0, -40.0]])
    with tf.GradientTape() as tape:
        reconstruction = bernoulli_reconstruction_loss(x, logits)
        kl = kl_divergence(z_mean, z_log_var)
        total = reconstruction + kl
    gradients = tape.gradient(total, [logits, z_mean, z_log_var])
    # Every pixel is maximally wrong: 60 nats each, exactly.
    np.testing.assert_allclose(reconstruction.numpy(), [784 * 60.0], rtol=1e-6)
    assert np.isfinite(kl.numpy()).all() and kl.numpy()[0] > 1e17
    for g in gradients:
        assert np.isfinite(g.numpy()).all()


def test_each_likelihood_declares_its_activation_range_learned_variables_and_data():
    assert {name: (p.activation, p.unit_range, p.variables, p.binary, p.discrete) for name, p in LIKELIHOODS.items()} == {
        "bernoulli": ("sigmoid", True, {}, True, False),
        "gaussian": ("sigmoid", False, {"output_log_var": 0.0}, False, False),
        "gaussian_calibrated": ("sigmoid", False, {}, False, False),
        "continuous_bernoulli": (continuous_bernoulli_mean, True, {}, False, False),
        "discretized_logistic": ("sigmoid", True, {"output_log_scale": -2.0}, False, True),
        "discretized_logistic_mixture": (DiscretizedMixtureMean, True, {}, False, True)}
    assert all(p.description for p in LIKELIHOODS.values())
    with pytest.raises(ValueError, match="Unknown likelihood 'poisson'; choose one of \\['bernoulli', 'continuous_bernoulli'"):
        get_likelihood("poisson")


LOGITS = [-12.0, -5.0, -0.3, -0.004, 0.0, 0.004, 2.0, 8.0, 12.0]


def _density(logit):
    """x -> the continuous Bernoulli's density at one pixel, from the registered loss."""
    return lambda x: np.exp(-float(continuous_bernoulli_reconstruction_loss(
        np.array([[x]], "float32"), np.array([[logit]], "float32"))[0]))


@pytest.mark.parametrize("logit", LOGITS)
def test_continuous_bernoulli_integrates_to_one_and_its_mean_is_the_image_shown(logit):
    total = integrate.quad(_density(logit), 0.0, 1.0, points=[0.001, 0.999])[0]
    mean = integrate.quad(lambda x: x * _density(logit)(x), 0.0, 1.0, points=[0.001, 0.999])[0]
    np.testing.assert_allclose(total, 1.0, rtol=2e-4)
    np.testing.assert_allclose(float(continuous_bernoulli_mean(np.float32(logit))), mean, atol=2e-5)


def test_continuous_bernoulli_is_cross_entropy_less_its_log_normalizer_in_closed_form():
    x = np.array([[0.1, 0.5, 0.9, 0.0]], "float32")
    logits = np.array([[1.5, -2.0, 0.7, 3.0]], "float32")
    lam = 1.0 / (1.0 + np.exp(-logits.astype("float64")))
    log_c = np.log(2.0 * np.arctanh(1.0 - 2.0 * lam) / (1.0 - 2.0 * lam))
    expected = -np.sum(x * np.log(lam) + (1 - x) * np.log(1 - lam) + log_c)
    np.testing.assert_allclose(continuous_bernoulli_reconstruction_loss(x, logits).numpy(), [expected], rtol=1e-5)


@pytest.mark.parametrize("logit, log_scale", [(0.0, -2.0), (3.0, -5.0), (-4.0, -6.0), (0.2, -9.0), (0.0, 1.0)])
def test_discretized_logistic_is_a_probability_over_the_256_levels(logit, log_scale):
    levels = (np.arange(256, dtype="float32") / 255.0)[:, None]
    nll = discretized_logistic_reconstruction_loss(levels, np.full((256, 1), logit, "float32"), np.float32(log_scale))
    np.testing.assert_allclose(np.exp(-nll.numpy().astype("float64")).sum(), 1.0, atol=2e-6)


def test_discretized_logistic_gives_a_bin_the_logistic_mass_over_it():
    k, mean, scale = 100, 0.4, 0.05
    cdf = lambda v: stats.logistic.cdf(v, mean, scale)
    expected = -np.log(cdf((k + 0.5) / 255) - cdf((k - 0.5) / 255))
    logit = np.log(mean / (1 - mean))
    nll = discretized_logistic_reconstruction_loss(np.array([[k / 255]], "float32"), np.array([[logit]], "float32"),
                                                   np.float32(np.log(scale)))
    np.testing.assert_allclose(nll.numpy(), [expected], rtol=1e-4)


def test_new_likelihoods_stay_finite_with_finite_gradients_at_extremes():
    x = tf.constant(np.tile([0.0, 1.0, 0.5, 1 / 255], 4).reshape(1, 16), "float32")
    logits = tf.Variable(np.tile([60.0, -60.0, 0.0, 1e-6], 4).reshape(1, 16).astype("float32"))
    log_scale = tf.Variable(-12.0)
    with tf.GradientTape() as tape:
        losses = [continuous_bernoulli_reconstruction_loss(x, logits),
                  discretized_logistic_reconstruction_loss(x, logits, log_scale)]
        total = tf.add_n(losses)
    for value in [*losses, *tape.gradient(total, [logits, log_scale])]:
        assert np.isfinite(value.numpy()).all()


def test_the_calibrated_gaussian_is_the_gaussian_at_the_batchs_best_variance_the_mean_squared_error():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (4, 6, 6, 3)).astype("float32")
    logits = rng.normal(0, 1, x.shape).astype("float32")
    squared_error = np.mean((x - 1 / (1 + np.exp(-logits))) ** 2)
    calibrated = gaussian_calibrated_reconstruction_loss(x, logits).numpy()
    np.testing.assert_allclose(calibrated, gaussian_reconstruction_loss(x, logits, np.log(squared_error)).numpy(),
                               rtol=1e-5)
    # no other shared variance gives the batch a higher likelihood
    for log_var in np.log(squared_error) + np.array([-0.5, -0.05, 0.05, 0.5]):
        assert gaussian_reconstruction_loss(x, logits, np.float32(log_var)).numpy().sum() > calibrated.sum()
    # closed form: sum over the batch = N D / 2 (log(2 pi sigma^2) + 1)
    np.testing.assert_allclose(calibrated.sum(), x.size / 2 * (np.log(2 * np.pi * squared_error) + 1), rtol=1e-5)


def test_the_calibrated_gaussian_floors_log_sigma_so_an_exact_batch_stays_finite():
    x = tf.constant(np.full((2, 4), 0.5, "float32"))
    logits = tf.Variable(np.zeros((2, 4), "float32"))  # sigmoid(0) = 0.5: decoded exactly
    with tf.GradientTape() as tape:
        loss = gaussian_calibrated_reconstruction_loss(x, logits)
    np.testing.assert_allclose(loss.numpy(), 4 * (-6.0 + 0.5 * np.log(2 * np.pi)), rtol=1e-6)
    assert np.isfinite(tape.gradient(loss, logits).numpy()).all()


def test_bits_per_dim_divides_the_nll_by_the_dimensions_and_ln_2():
    assert bits_per_dim(32 * 32 * 3 * np.log(2.0) * 4.5, (32, 32, 3)) == pytest.approx(4.5)


def mixture_parameters_of(rng, components, channels, extreme=False):
    """Random parameters of one pixel's K-component mixture (1, P); `extreme`: means far outside [0, 1], scales at
    the floor and beyond, mixture logits of +-30."""
    parameters = rng.normal(size=(1, mixture_parameters(channels, components)))
    if extreme:
        parameters *= 30.0
    return parameters.astype("float32")


@pytest.mark.parametrize("extreme", [False, True])
def test_each_channel_of_each_mixture_component_gives_the_256_values_masses_that_sum_to_one(extreme):
    rng = np.random.default_rng(0)
    parameters = mixture_parameters_of(rng, 3, 3, extreme)
    levels = np.arange(256, dtype="float32") / 255
    for channel in range(3):
        x = np.tile(rng.integers(0, 256, 3).astype("float32") / 255, (256, 1))  # the earlier channels held fixed
        x[:, channel] = levels
        _, log_probs = mixture_log_probs(tf.constant(x), tf.constant(np.repeat(parameters, 256, axis=0)))
        masses = np.exp(log_probs.numpy()[:, :, channel].astype("float64")).sum(axis=0)  # one sum per component
        np.testing.assert_allclose(masses, 1.0, atol=2e-4)


def reference_mixture_nll(x, parameters, components):
    """-log P(x) of one 3-channel pixel written out from the definition in float64: per component, channel c a
    logistic of mean 0.5 + mu_c + sum_j<c tanh(a_cj) x_j and scale exp(max(log s_c - 3, -7)) over x's bin of 1/255
    (the end bins take the tails); the components mixed by softmax(logits)."""
    logits, rest = parameters[:components], parameters[components:].reshape(components, 9)
    means, log_scales, coefficients = rest[:, :3] + 0.5, np.maximum(rest[:, 3:6] - 3.0, -7.0), np.tanh(rest[:, 6:])
    weights = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    total = 0.0
    for k in range(components):
        shifted = [means[k, 0], means[k, 1] + coefficients[k, 0] * x[0],
                   means[k, 2] + coefficients[k, 1] * x[0] + coefficients[k, 2] * x[1]]
        p = weights[k]
        for c in range(3):
            cdf = lambda v: stats.logistic.cdf(v, loc=shifted[c], scale=np.exp(log_scales[k, c]))
            upper = 1.0 if x[c] > 1 - 0.5 / 255 else cdf(x[c] + 0.5 / 255)
            lower = 0.0 if x[c] < 0.5 / 255 else cdf(x[c] - 0.5 / 255)
            p *= upper - lower
        total += p
    return -np.log(total)


def test_the_coupled_mixture_loss_is_the_definition_written_out():
    rng = np.random.default_rng(1)
    for _ in range(20):
        parameters = mixture_parameters_of(rng, 4, 3) * np.float32(0.5)
        x = np.concatenate([[0.0, 1.0], rng.integers(0, 256, 1) / 255.0])[rng.permutation(3)].astype("float32")
        loss = discretized_logistic_mixture_reconstruction_loss(tf.constant(x[None, None, None]),
                                                                tf.constant(parameters[None, None]))
        assert float(loss[0]) == pytest.approx(reference_mixture_nll(x.astype("float64"), parameters[0].astype("float64"), 4),
                                               rel=1e-4, abs=1e-4)


def test_a_two_channel_pixel_of_the_mixture_is_a_probability_over_all_256_by_256_values():
    rng = np.random.default_rng(2)
    parameters = mixture_parameters_of(rng, 3, 2)
    grid = np.stack(np.meshgrid(np.arange(256), np.arange(256), indexing="ij"), axis=-1).reshape(-1, 1, 1, 2) / 255
    loss = discretized_logistic_mixture_reconstruction_loss(
        tf.constant(grid.astype("float32")), tf.constant(np.repeat(parameters, len(grid), axis=0)[:, None, None]))
    assert np.exp(-loss.numpy().astype("float64")).sum() == pytest.approx(1.0, abs=1e-3)


def test_the_mixture_loss_and_its_gradients_stay_finite_at_the_extremes():
    rng = np.random.default_rng(3)
    parameters = tf.Variable(mixture_parameters_of(rng, 5, 3, extreme=True).reshape(1, 1, 1, -1) * 3.0)
    for x in (np.zeros((1, 1, 1, 3)), np.ones((1, 1, 1, 3)), np.full((1, 1, 1, 3), 0.5)):
        with tf.GradientTape() as tape:
            loss = discretized_logistic_mixture_reconstruction_loss(tf.constant(x, "float32"), parameters)
        gradient = tape.gradient(loss, parameters)
        assert np.isfinite(loss.numpy()).all() and np.isfinite(gradient.numpy()).all()


def test_draws_from_the_mixture_follow_its_probabilities_over_the_256_by_256_values():
    rng = np.random.default_rng(4)
    parameters = mixture_parameters_of(rng, 3, 2)  # two coupled channels, three components
    grid = np.stack(np.meshgrid(np.arange(256), np.arange(256), indexing="ij"), axis=-1).reshape(-1, 1, 1, 2) / 255
    probabilities = np.exp(-discretized_logistic_mixture_reconstruction_loss(
        tf.constant(grid.astype("float32")), tf.constant(np.repeat(parameters, len(grid), axis=0)[:, None, None]))
                           .numpy().astype("float64")).reshape(256, 256)
    uniform = rng.random((40000, 3), dtype="float32")  # two channels and the component
    draws = draw_mixture(np.repeat(parameters, 40000, axis=0), 2, uniform).numpy()
    assert np.allclose(draws * 255, np.round(draws * 255), atol=1e-3)  # 8-bit values
    counts = np.zeros((256, 256))
    np.add.at(counts, tuple(np.round(draws * 255).astype(int).T), 1)
    # each channel's marginal, and the joint in 16x16 blocks, within sampling error of the probabilities
    for axis in (0, 1):
        assert 0.5 * np.abs(counts.sum(axis) / 40000 - probabilities.sum(axis)).sum() < 0.03
    blocks = lambda p: p.reshape(16, 16, 16, 16).sum(axis=(1, 3))
    assert 0.5 * np.abs(blocks(counts) / 40000 - blocks(probabilities)).sum() < 0.04
    assert 0.5 * np.abs(blocks(counts) / 40000 - np.roll(blocks(probabilities), 3)).sum() > 0.1  # it can fail


def test_the_mixture_shows_its_mean_with_the_channels_coupled():
    # One component: means 0.5 + (-0.3, -0.4, -0.4) and coupling coefficients tanh(a) = 0.5, so green shows
    # 0.1 + 0.5 * 0.2 and blue 0.1 + 0.5 * 0.2 + 0.5 * 0.2; two equal components show the same; past 1 is clipped.
    half = np.arctanh(0.5)
    one = np.array([0.0, -0.3, -0.4, -0.4, -3.0, -3.0, -3.0, half, half, half], "float32")
    shown = DiscretizedMixtureMean(3)(one[None, None, None]).numpy()[0, 0, 0]
    np.testing.assert_allclose(shown, [0.2, 0.2, 0.3], atol=1e-6)
    two = np.concatenate([[0.0, 0.0], np.tile(one[1:], 2)]).astype("float32")
    np.testing.assert_allclose(DiscretizedMixtureMean(3)(two[None, None, None]).numpy()[0, 0, 0], shown, atol=1e-6)
    gray = np.array([0.0, 1.7, -3.0], "float32")
    assert DiscretizedMixtureMean(1)(gray[None, None, None]).numpy()[0, 0, 0, 0] == 1.0
