"""The priors p(z): log-densities against scipy, the KL term against its closed form, EM against a known mixture,
draws against the mixture's moments, and a VAE's prior through saving."""
import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from keras_vae import VAE, build_decoder, build_encoder, kl_divergence
from keras_vae.priors import MixturePrior, StandardNormalPrior
from keras_vae.loading import load_keras_model


def mixture(means, scales, weights):
    """A MixturePrior with the given components (means and scales (components, latent_dim), weights summing to 1)."""
    means, scales = np.atleast_2d(means), np.atleast_2d(scales)
    prior = MixturePrior(means.shape[1], means.shape[0])
    for variable, value in ((prior.means, means), (prior.log_vars, 2 * np.log(scales)), (prior.logits, np.log(weights))):
        variable.assign(np.asarray(value, "float32"))
    return prior


TWO_BLOBS = dict(means=[[-2.0, 1.0], [1.5, -0.5]], scales=[[0.5, 0.8], [1.2, 0.3]], weights=[0.3, 0.7])


def test_a_mixture_log_density_is_scipys():
    z = np.random.default_rng(0).normal(size=(50, 2)).astype("float32")
    prior = mixture(**TWO_BLOBS)
    expected = logsumexp([np.log(w) + stats.norm.logpdf(z, m, s).sum(axis=1) for m, s, w in zip(*TWO_BLOBS.values())],
                         axis=0)
    np.testing.assert_allclose(np.asarray(prior.log_prob(z)), expected, rtol=1e-5)


def test_a_one_component_mixture_at_the_origin_is_the_standard_normal():
    z = np.random.default_rng(1).normal(size=(20, 3)).astype("float32")
    prior = mixture(np.zeros((1, 3)), np.ones((1, 3)), [1.0])
    np.testing.assert_allclose(np.asarray(prior.log_prob(z)), np.asarray(StandardNormalPrior(3).log_prob(z)), rtol=1e-6)


def test_the_mixtures_one_draw_kl_averages_to_the_closed_form_under_n01():
    rng = np.random.default_rng(2)
    z_mean, z_log_var = np.float32([[0.5, -1.0]]), np.float32([[-0.5, 0.3]])
    z = (z_mean + np.exp(0.5 * z_log_var) * rng.standard_normal((200000, 2))).astype("float32")
    tiled_mean, tiled_log_var = np.repeat(z_mean, len(z), 0), np.repeat(z_log_var, len(z), 0)
    one_draw = np.asarray(mixture(np.zeros((1, 2)), np.ones((1, 2)), [1.0]).kl_divergence(z, tiled_mean, tiled_log_var))
    closed_form = float(kl_divergence(z_mean, z_log_var)[0])
    assert float(StandardNormalPrior(2).kl_divergence(z[:1], z_mean, z_log_var)[0]) == pytest.approx(closed_form)
    assert one_draw.mean() == pytest.approx(closed_form, abs=4 * one_draw.std() / np.sqrt(len(z)))
    assert one_draw.std() > 0.1  # a one-draw estimate, not the closed form


def test_draws_have_the_mixtures_moments():
    draws = mixture(**TWO_BLOBS).sample(100000, seed=3)
    means, scales, weights = (np.array(v) for v in TWO_BLOBS.values())
    mean = weights @ means
    variance = weights @ (scales ** 2 + means ** 2) - mean ** 2
    assert draws.shape == (100000, 2) and draws.dtype == np.float32
    np.testing.assert_allclose(draws.mean(axis=0), mean, atol=0.02)
    np.testing.assert_allclose(draws.var(axis=0), variance, rtol=0.02)
    np.testing.assert_array_equal(mixture(**TWO_BLOBS).sample(100000, seed=3), draws)  # seeded


def test_em_recovers_a_known_mixture_and_beats_n01_on_its_draws():
    draws = mixture(**TWO_BLOBS).sample(20000, seed=4)
    fitted = MixturePrior(2, 2)
    mean_log_prior = fitted.fit(draws, iterations=100)
    order = np.argsort(np.asarray(fitted.means)[:, 0])  # components come back in any order
    np.testing.assert_allclose(np.asarray(fitted.means)[order], TWO_BLOBS["means"], atol=0.05)
    np.testing.assert_allclose(np.exp(0.5 * np.asarray(fitted.log_vars))[order], TWO_BLOBS["scales"], rtol=0.05)
    np.testing.assert_allclose(np.exp(np.asarray(fitted.logits))[order], TWO_BLOBS["weights"], atol=0.02)
    truth = float(np.mean(mixture(**TWO_BLOBS).log_prob(draws)))
    assert mean_log_prior == pytest.approx(truth, abs=0.02)
    assert mean_log_prior > float(np.mean(StandardNormalPrior(2).log_prob(draws))) + 0.5


def test_em_over_chunks_of_the_draws_is_em_over_all_of_them():
    draws = mixture(**TWO_BLOBS).sample(5000, seed=5)
    whole, chunked = MixturePrior(2, 3), MixturePrior(2, 3)
    fits = whole.fit(draws, iterations=20, seed=1), chunked.fit(draws, iterations=20, seed=1, chunk_size=700)
    assert fits[0] == pytest.approx(fits[1], abs=1e-4)
    for name in ("means", "log_vars", "logits"):
        np.testing.assert_allclose(np.asarray(getattr(chunked, name)), np.asarray(getattr(whole, name)), atol=1e-3)


def test_em_refuses_fewer_draws_than_components():
    with pytest.raises(ValueError, match=r"at least 10 draws \(`components`\) of shape"):
        MixturePrior(2, 10).fit(np.zeros((5, 2)))


def test_a_vaes_mixture_prior_survives_saving_and_an_older_vae_loads_under_n01(tmp_path):
    encoder, decoder = build_encoder(2, "mlp", hidden_dim=16, seed=0), build_decoder(2, "mlp", hidden_dim=16)
    vae = VAE(encoder, decoder, prior=mixture(**TWO_BLOBS))
    vae.save(tmp_path / "vae.keras")
    loaded = load_keras_model(tmp_path / "vae.keras")
    assert isinstance(loaded.prior, MixturePrior)
    z = np.random.default_rng(5).normal(size=(10, 2)).astype("float32")
    np.testing.assert_allclose(np.asarray(loaded.prior.log_prob(z)), np.asarray(vae.prior.log_prob(z)), rtol=1e-6)
    plain = VAE.from_config({k: v for k, v in VAE(encoder, decoder).get_config().items() if k != "prior"})
    assert isinstance(plain.prior, StandardNormalPrior)


def test_a_prior_over_another_latent_size_is_refused():
    with pytest.raises(ValueError, match="3-D z, the decoder takes 2-D z"):
        VAE(build_encoder(2, "mlp", hidden_dim=16), build_decoder(2, "mlp", hidden_dim=16), prior=MixturePrior(3, 4))


def test_a_mixture_drawn_at_a_lower_temperature_lies_nearer_its_components_means():
    from keras_vae.priors import MixturePrior

    prior = MixturePrior(3, 1)
    prior.log_vars.assign(np.zeros((1, 3), "float32"))
    spread = [np.std(prior.sample(4000, seed=0, temperature=t) - prior.means.numpy()) for t in (1.0, 0.5, 0.0)]
    assert spread[0] == pytest.approx(1.0, abs=0.03) and spread[1] == pytest.approx(0.5, abs=0.02) and spread[2] == 0
