"""Test-set quality in nats per image: the ELBO and the importance-weighted log-likelihood (Burda et al. 2015)."""
import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops
from scipy.special import logsumexp

from . import loading, run_data, runs
from .layers import Sampling
from .losses import bits_per_dim, log_prior_ratio
from .model import VAE
from .options import Integer, require


def _batches(x, batch_size):
    for start in range(0, len(x), batch_size):
        yield x[start:start + batch_size]


CONDITIONAL = ("a conditional VAE bounds log p(x|y), the class given, not log p(x): its test loss (the conditional "
               "ELBO) is in metrics.json, and is not to be set beside a log-likelihood")


def check_vae(vae):
    """Refuse what is not a VAE of p(x): an Autoencoder, say, defines no p(x), a conditional VAE p(x|y)."""
    if not isinstance(vae, VAE):
        raise ValueError(f"`vae` must be a keras_vae.VAE, got {type(vae).__name__} (an Autoencoder defines no p(x)).")
    if vae.num_classes is not None:
        raise ValueError(f"No log p(x) to estimate: {CONDITIONAL}.")


def evaluate_elbo(vae, x, batch_size=500):
    """Mean over images of the ELBO, E_q[log p(x|z)] - KL(q(z|x) || p(z)), with one z per image (nats; the KL in
    closed form under N(0, I), at that z under another prior)."""
    check_vae(vae)
    require("batch_size", batch_size, Integer(1))
    vae.check_input(x, "x")
    total = 0.0
    for batch in _batches(x, batch_size):
        z_mean, z_log_var, z = vae.encoder(batch, training=False)
        elbo = -vae.reconstruction_loss(batch, z) - vae.prior.kl_divergence(z, z_mean, z_log_var)
        total += float(ops.sum(elbo))
    return total / len(x)


def estimate_log_likelihood(vae, x, k=5000, batch_size=20, samples_per_pass=250, seed=0, verbose=1):
    """Mean over images of log p(x) ~ log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x) (nats): the
    mean of `log_likelihoods`. k=1 gives an unbiased ELBO estimate."""
    return float(np.mean(log_likelihoods(vae, x, k, batch_size, samples_per_pass, seed, verbose)))


def log_likelihoods(vae, x, k=5000, batch_size=20, samples_per_pass=250, seed=0, verbose=1):
    """Each image's log p(x) ~ log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x), in nats (shape (n,)).

    The k importance samples go through the decoder `samples_per_pass` at a time, so memory is bounded
    for any k; the log-mean-exp is accumulated across passes. p(z) is the VAE's prior (`vae.prior`).
    """
    check_vae(vae)
    for name, value in (("k", k), ("batch_size", batch_size), ("samples_per_pass", samples_per_pass)):
        require(name, value, Integer(1))
    vae.check_input(x, "x")
    sampling = Sampling(seed=seed)
    passes = math.ceil(k / samples_per_pass)
    progress = keras.utils.Progbar(math.ceil(len(x) / batch_size) * passes, verbose=verbose, unit_name="pass")

    def log_weights(batch, z_mean, z_log_var, n):
        # (n, batch) importance log-weights log p(x|z) + log p(z) - log q(z|x).
        shape = (n, *ops.shape(z_mean))
        z = sampling([ops.broadcast_to(z_mean, shape), ops.broadcast_to(z_log_var, shape)])
        flat_z = ops.reshape(z, (-1, ops.shape(z_mean)[-1]))  # draw-major, as reconstruction_loss takes them
        log_px_z = -ops.reshape(vae.reconstruction_loss(batch, flat_z), (n, -1))
        return log_px_z + log_prior_ratio(z, z_mean, z_log_var, vae.prior.log_prob)

    if keras.backend.backend() == "tensorflow":  # traced once per pass size; another backend runs it as it is
        log_weights = tf.function(log_weights)
    result = []
    for batch in _batches(x, batch_size):
        z_mean, z_log_var, _ = vae.encoder(batch, training=False)
        log_sum = np.full(len(batch), -np.inf)
        for start in range(0, k, samples_per_pass):
            n = min(samples_per_pass, k - start)
            weights = ops.convert_to_numpy(log_weights(ops.convert_to_tensor(batch), z_mean, z_log_var, n)).astype("float64")
            log_sum = np.logaddexp(log_sum, logsumexp(weights, axis=0))
            progress.add(1)
        result.append(log_sum - math.log(k))
    return np.concatenate(result)


def evaluate_run(run, k=5000, n=None, seed=0, data=None, force=False):
    """Score the run at `run` on its test set (the first n images; see run_data.test_set) and record the test ELBO
    and the importance-weighted log-likelihood in its metrics.json (runs.record_evaluation).

    Returns (the evaluation, a sentence saying where it was recorded). Where p(x|z) is a probability of discrete
    pixel values (binary, or 8-bit: discretized_logistic) the evaluation holds the NLL and the negative ELBO in bits
    per dimension too; a density (gaussian, continuous_bernoulli) has its NLL in nats only. A run that models grayscale pixels with a
    likelihood of binary pixels has no NLL to report: a ValueError says so.
    """
    binarize = runs.read_config(run).get("binarize", "none")
    vae = loading.load_model(run)
    if not isinstance(vae, VAE):
        raise ValueError(f"{run} is an autoencoder: it defines no p(x), so there is no ELBO or log-likelihood to "
                         f"estimate (its test reconstruction loss is in {runs.METRICS}).")
    check_vae(vae)
    if binarize == "none" and vae.likelihood_kind.binary:
        raise ValueError(f"No NLL for {run}: it models grayscale pixels with the {vae.likelihood} likelihood, whose "
                         "loss is not -log p(x) there (its test loss is in metrics.json); train with "
                         "`binarize` dynamic to score an NLL.")
    x_test, _ = run_data.test_set(run, data, n)
    evaluation = {
        "test_elbo": evaluate_elbo(vae, x_test),
        "test_log_likelihood": estimate_log_likelihood(vae, x_test, k=k, seed=seed),
        "k": k,
        "test_images": len(x_test),
        "binarize": binarize,
        "seed": seed,
    }
    if vae.likelihood_kind.discrete or vae.likelihood_kind.binary:  # a probability of discrete pixel values, not a density
        evaluation["bits_per_dim"] = bits_per_dim(-evaluation["test_log_likelihood"], x_test.shape[1:])
        evaluation["elbo_bits_per_dim"] = bits_per_dim(-evaluation["test_elbo"], x_test.shape[1:])
    return evaluation, runs.record_evaluation(run, evaluation, force)
