import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from keras_vae import LIKELIHOODS, bernoulli_reconstruction_loss, kl_divergence
from keras_vae.losses import get_likelihood


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
    assert {name: (p.activation, p.unit_range, p.variables, p.binary) for name, p in LIKELIHOODS.items()} == {
        "bernoulli": ("sigmoid", True, {}, True), "gaussian": ("sigmoid", False, {"output_log_var": 0.0}, False)}
    with pytest.raises(ValueError, match="Unknown likelihood 'poisson'; choose one of \\['bernoulli', 'gaussian'\\]"):
        get_likelihood("poisson")
