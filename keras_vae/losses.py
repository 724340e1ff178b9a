"""The two terms of the negative ELBO per example, in nats, and the registry of likelihoods p(x|z).

A likelihood is one function, -log p(x|z) summed over pixels, from the decoder's parameters (the tensor
before its last activation), registered with `register_likelihood`: the registration declares the decoder's
last activation (parameters -> the image shown), whether x must lie in [0, 1], and any learned scalars.
"""
import dataclasses
import math
from typing import Callable

import keras
from keras import ops


@dataclasses.dataclass(frozen=True)
class Likelihood:
    """A registered p(x|z): its reconstruction loss and what it asks of the decoder and the data."""

    name: str
    reconstruction_loss: Callable  # (x, parameters, **variables) -> -log p(x|z) per example, in nats
    activation: str | Callable  # the decoder's last layer: parameters -> the image it shows (the mean of p(x|z))
    unit_range: bool  # whether pixels must lie in [0, 1]
    variables: dict  # learned scalars the VAE owns and passes by name: name -> initial value
    binary: bool  # a likelihood of 0/1 pixels only: on grayscale pixels its loss is not -log p(x)
    discrete: bool  # a probability of 8-bit pixel values: its NLL in bits per dimension compares with the literature
    description: str  # when to use it, in a line


LIKELIHOODS = {}


def register_likelihood(name, activation="sigmoid", unit_range=False, variables=None, binary=False, discrete=False,
                        description=""):
    """Decorator: register `reconstruction_loss(x, parameters, **variables)` as the likelihood `name`."""
    def register(reconstruction_loss):
        LIKELIHOODS[name] = Likelihood(name, reconstruction_loss, activation, unit_range, dict(variables or {}), binary,
                                       discrete, description)
        return reconstruction_loss
    return register


def get_likelihood(name):
    """The registered likelihood `name`; a ValueError naming the registered ones otherwise."""
    if name not in LIKELIHOODS:
        raise ValueError(f"Unknown likelihood {name!r}; choose one of {sorted(LIKELIHOODS)}.")
    return LIKELIHOODS[name]


def _per_example_sum(values):
    return ops.sum(ops.reshape(values, (ops.shape(values)[0], -1)), axis=1)


@register_likelihood("bernoulli", unit_range=True, binary=True,
                     description="binary pixels (binarized MNIST); on grayscale the tutorials' loss, not a density")
def bernoulli_reconstruction_loss(x, logits):
    """-log p(x|z) for Bernoulli pixels: binary cross-entropy from logits, summed over pixels.

    Working from logits, max(l, 0) - l*x + log(1 + exp(-|l|)), stays finite for any logit.
    """
    logits = ops.cast(logits, "float32")
    x = ops.cast(x, "float32")
    return _per_example_sum(ops.binary_crossentropy(x, logits, from_logits=True))


@register_likelihood("gaussian", variables={"output_log_var": 0.0},
                     description="a density with one learned variance: squared error, scaled")
def gaussian_reconstruction_loss(x, logits, output_log_var):
    """-log N(x; sigmoid(logits), exp(output_log_var) I), summed over pixels: a squared error scaled by
    the learned variance, plus its log-normaliser."""
    x_mean = ops.sigmoid(ops.cast(logits, "float32"))
    x = ops.cast(x, "float32")
    nll = 0.5 * (ops.square(x - x_mean) * ops.exp(-output_log_var) + output_log_var + math.log(2.0 * math.pi))
    return _per_example_sum(nll)


SMALL_LOGIT = 1e-2  # below it, the continuous Bernoulli's closed forms are replaced by their Taylor series


@keras.saving.register_keras_serializable(package="keras_vae")
def continuous_bernoulli_mean(logits):
    """E[x] of the continuous Bernoulli with lambda = sigmoid(l): 1 / (1 - exp(-l)) - 1 / l (1/2 + l/12 near 0); not
    lambda itself, which is what the image shown would be under a Bernoulli."""
    small = ops.abs(logits) < SMALL_LOGIT
    safe = ops.where(small, SMALL_LOGIT, logits)
    return ops.where(small, 0.5 + logits / 12.0, -1.0 / ops.expm1(-safe) - 1.0 / safe)


def continuous_bernoulli_log_norm(logits):
    """log C(lambda), the continuous Bernoulli's normalizing constant, with lambda = sigmoid(l):
    C = 2 atanh(1 - 2 lambda) / (1 - 2 lambda) = l / tanh(l / 2) (2 + l^2 / 6 near 0)."""
    small = ops.abs(logits) < SMALL_LOGIT
    safe = ops.abs(ops.where(small, SMALL_LOGIT, logits))
    return ops.where(small, ops.log(2.0 + ops.square(logits) / 6.0), ops.log(safe) - ops.log(ops.tanh(safe / 2.0)))


@register_likelihood("continuous_bernoulli", activation=continuous_bernoulli_mean, unit_range=True,
                     description="grayscale or color pixels in [0, 1]: Bernoulli's cross-entropy made a density")
def continuous_bernoulli_reconstruction_loss(x, logits):
    """-log CB(x; lambda) (Loaiza-Ganem & Cunningham 2019), summed over pixels: the Bernoulli's binary cross-entropy
    minus log C(lambda), so that the loss is a true negative log-density of pixels in [0, 1]."""
    logits = ops.cast(logits, "float32")
    x = ops.cast(x, "float32")
    return _per_example_sum(ops.binary_crossentropy(x, logits, from_logits=True) - continuous_bernoulli_log_norm(logits))


LEVELS = 255  # an 8-bit pixel k / 255 is the bin [(k - 1/2) / 255, (k + 1/2) / 255]


@register_likelihood("discretized_logistic", variables={"output_log_scale": -2.0}, unit_range=True, discrete=True,
                     description="8-bit pixels, color included: a probability of each value, scored in bits/dim")
def discretized_logistic_reconstruction_loss(x, logits, output_log_scale):
    """-log P(x|z) of 8-bit pixels (PixelCNN++'s discretized logistic, Salimans et al. 2017), summed over pixels:
    each value k / 255 gets the mass of a logistic of mean sigmoid(logits) and one learned scale over its bin, the
    end bins 0 and 255 the tails. x is rounded to the nearest of the 256 levels."""
    mean = ops.sigmoid(ops.cast(logits, "float32"))
    x = ops.round(ops.cast(x, "float32") * LEVELS) / LEVELS
    inverse_scale = ops.exp(-output_log_scale)
    centered = x - mean
    plus, minus = inverse_scale * (centered + 0.5 / LEVELS), inverse_scale * (centered - 0.5 / LEVELS)
    log_cdf_plus = plus - ops.softplus(plus)  # log sigmoid(plus): the mass below the first bin's top
    log_survival_minus = -ops.softplus(minus)  # log (1 - sigmoid(minus)): the mass above the last bin's bottom
    mass = ops.sigmoid(plus) - ops.sigmoid(minus)
    middle = inverse_scale * centered  # where the bin's mass underflows: its density times the bin width
    log_density_mid = middle - output_log_scale - 2.0 * ops.softplus(middle) - math.log(LEVELS)
    log_mass = ops.where(mass > 1e-5, ops.log(ops.maximum(mass, 1e-12)), log_density_mid)
    log_p = ops.where(x < 0.5 / LEVELS, log_cdf_plus, ops.where(x > 1.0 - 0.5 / LEVELS, log_survival_minus, log_mass))
    return -_per_example_sum(log_p)


def bits_per_dim(nll, image_shape):
    """An NLL in nats per image as bits per dimension (pixel and channel): nll / (height * width * channels * ln 2)."""
    return nll / (math.prod(image_shape) * math.log(2.0))


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
