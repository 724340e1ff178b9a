"""The two terms of the negative ELBO per example, in nats, and the registry of likelihoods p(x|z).

A likelihood is one function, -log p(x|z) summed over pixels, from the decoder's parameters (the tensor
before its last activation), registered with `register_likelihood`: the registration declares the decoder's
last activation (parameters -> the image shown), whether x must lie in [0, 1], and any learned scalars.
"""
import dataclasses
import math
from typing import Callable

from keras import ops


@dataclasses.dataclass(frozen=True)
class Likelihood:
    """A registered p(x|z): its reconstruction loss and what it asks of the decoder and the data."""

    name: str
    reconstruction_loss: Callable  # (x, parameters, **variables) -> -log p(x|z) per example, in nats
    activation: str  # the decoder's last layer: parameters -> the image it shows (the mean of p(x|z))
    unit_range: bool  # whether pixels must lie in [0, 1]
    variables: dict  # learned scalars the VAE owns and passes by name: name -> initial value
    binary: bool  # a likelihood of 0/1 pixels only: on grayscale pixels its loss is not -log p(x)


LIKELIHOODS = {}


def register_likelihood(name, activation="sigmoid", unit_range=False, variables=None, binary=False):
    """Decorator: register `reconstruction_loss(x, parameters, **variables)` as the likelihood `name`."""
    def register(reconstruction_loss):
        LIKELIHOODS[name] = Likelihood(name, reconstruction_loss, activation, unit_range, dict(variables or {}), binary)
        return reconstruction_loss
    return register


def get_likelihood(name):
    """The registered likelihood `name`; a ValueError naming the registered ones otherwise."""
    if name not in LIKELIHOODS:
        raise ValueError(f"Unknown likelihood {name!r}; choose one of {sorted(LIKELIHOODS)}.")
    return LIKELIHOODS[name]


def _per_example_sum(values):
    return ops.sum(ops.reshape(values, (ops.shape(values)[0], -1)), axis=1)


@register_likelihood("bernoulli", unit_range=True, binary=True)
def bernoulli_reconstruction_loss(x, logits):
    """-log p(x|z) for Bernoulli pixels: binary cross-entropy from logits, summed over pixels.

    Working from logits, max(l, 0) - l*x + log(1 + exp(-|l|)), stays finite for any logit.
    """
    logits = ops.cast(logits, "float32")
    x = ops.cast(x, "float32")
    return _per_example_sum(ops.binary_crossentropy(x, logits, from_logits=True))


@register_likelihood("gaussian", variables={"output_log_var": 0.0})
def gaussian_reconstruction_loss(x, logits, output_log_var):
    """-log N(x; sigmoid(logits), exp(output_log_var) I), summed over pixels: a squared error scaled by
    the learned variance, plus its log-normaliser."""
    x_mean = ops.sigmoid(ops.cast(logits, "float32"))
    x = ops.cast(x, "float32")
    nll = 0.5 * (ops.square(x - x_mean) * ops.exp(-output_log_var) + output_log_var + math.log(2.0 * math.pi))
    return _per_example_sum(nll)


def kl_divergence(z_mean, z_log_var):
    """KL(N(z_mean, exp(z_log_var)) || N(0, I)) = -0.5 * sum(1 + log_var - mean^2 - exp(log_var))."""
    z_mean = ops.cast(z_mean, "float32")
    z_log_var = ops.cast(z_log_var, "float32")
    return -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)


def standard_normal_log_prob(z):
    """log N(z; 0, I), summed over latent dimensions."""
    return -0.5 * ops.sum(ops.square(z) + math.log(2.0 * math.pi), axis=-1)


def diagonal_normal_log_prob(z, z_mean, z_log_var):
    """log N(z; z_mean, diag(exp(z_log_var))), summed over latent dimensions."""
    return -0.5 * ops.sum(
        ops.square(z - z_mean) * ops.exp(-z_log_var) + z_log_var + math.log(2.0 * math.pi), axis=-1
    )


def log_prior_ratio(z, z_mean, z_log_var, prior_log_prob=standard_normal_log_prob):
    """log p(z) - log q(z|x) for draws z of q(z|x) = N(z_mean, diag(exp(z_log_var))): with log p(x|z), an
    importance log-weight (the NLL estimate, evaluate.py; the IWAE bound, model.py). p(z) is N(0, I) unless
    `prior_log_prob` gives another log-density."""
    return prior_log_prob(z) - diagonal_normal_log_prob(z, z_mean, z_log_var)
