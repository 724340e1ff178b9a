import numpy as np
import pytest
import tensorflow as tf
from scipy import integrate, stats

from keras_vae import LIKELIHOODS, bernoulli_reconstruction_loss, kl_divergence
from keras_vae.losses import (bits_per_dim, continuous_bernoulli_mean, continuous_bernoulli_reconstruction_loss,
                              discretized_logistic_reconstruction_loss, get_likelihood)


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
        "continuous_bernoulli": (continuous_bernoulli_mean, True, {}, False, False),
        "discretized_logistic": ("sigmoid", True, {"output_log_scale": -2.0}, False, True)}
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


def test_bits_per_dim_divides_the_nll_by_the_dimensions_and_ln_2():
    assert bits_per_dim(32 * 32 * 3 * np.log(2.0) * 4.5, (32, 32, 3)) == pytest.approx(4.5)
