"""The two terms of the negative ELBO per example, in nats, and the registry of likelihoods p(x|z).

A likelihood is one function, -log p(x|z) summed over pixels, from the decoder's parameters (the tensor
before its last activation), registered with `register_likelihood`: the registration declares the decoder's
last activation (parameters -> the image shown), how many parameters a pixel has, whether x must lie in [0, 1],
and any learned scalars.
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
    activation: str | Callable | type  # parameters -> the image shown (the mean of p(x|z)): an activation, or a
    # Layer class built with the image's channels (the decoder's last layer)
    unit_range: bool  # whether pixels must lie in [0, 1]
    variables: dict  # learned scalars the VAE owns and passes by name: name -> initial value
    binary: bool  # a likelihood of 0/1 pixels only: on grayscale pixels its loss is not -log p(x)
    discrete: bool  # a probability of 8-bit pixel values: its NLL in bits per dimension compares with the literature
    description: str  # when to use it, in a line
    parameters: Callable = None  # (channels, components) -> the decoder's parameters per pixel; None: one per channel

    def parameters_per_pixel(self, channels, components=None):
        """How many numbers the decoder gives per pixel for images of `channels` channels."""
        return channels if self.parameters is None else self.parameters(channels, components)


LIKELIHOODS = {}


def register_likelihood(name, activation="sigmoid", unit_range=False, variables=None, binary=False, discrete=False,
                        description="", parameters=None):
    """Decorator: register `reconstruction_loss(x, parameters, **variables)` as the likelihood `name`."""
    def register(reconstruction_loss):
        LIKELIHOODS[name] = Likelihood(name, reconstruction_loss, activation, unit_range, dict(variables or {}), binary,
                                       discrete, description, parameters)
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

    Working from logits, -x log sigmoid(l) - (1 - x) log(1 - sigmoid(l)) = softplus(l) - x*l, which stays finite for
    any logit (softplus is computed stably) and is a quarter of Keras' binary_crossentropy's time on JAX.
    """
    logits = ops.cast(logits, "float32")
    x = ops.cast(x, "float32")
    return _per_example_sum(ops.softplus(logits) - x * logits)


@register_likelihood("gaussian", variables={"output_log_var": 0.0},
                     description="a density with one learned variance: squared error, scaled")
def gaussian_reconstruction_loss(x, logits, output_log_var):
    """-log N(x; sigmoid(logits), exp(output_log_var) I), summed over pixels: a squared error scaled by
    the learned variance, plus its log-normaliser."""
    x_mean = ops.sigmoid(ops.cast(logits, "float32"))
    x = ops.cast(x, "float32")
    nll = 0.5 * (ops.square(x - x_mean) * ops.exp(-output_log_var) + output_log_var + math.log(2.0 * math.pi))
    return _per_example_sum(nll)


MIN_LOG_SIGMA = -6.0  # the calibrated Gaussian's floor on log sigma, as in the sigma-VAE's code: a batch decoded
# exactly would otherwise have a density without bound


@register_likelihood("gaussian_calibrated",
                     description="the sigma-VAE: a Gaussian whose one variance is the batch's mean squared error, so "
                                 "the KL cannot win by default (no collapse)")
def gaussian_calibrated_reconstruction_loss(x, logits):
    """-log N(x; sigmoid(logits), sigma^2 I), summed over pixels, with sigma^2 the batch's mean squared error: the
    variance that maximizes the batch's likelihood (Rybkin et al. 2021, "Simple and Effective VAE Training with
    Calibrated Decoders"), set at every step instead of learned slowly, so that the squared error is weighed as it
    should be from the first step. log sigma is floored at MIN_LOG_SIGMA."""
    x_mean = ops.sigmoid(ops.cast(logits, "float32"))
    squared_error = ops.square(ops.cast(x, "float32") - x_mean)
    log_sigma = 0.5 * ops.log(ops.maximum(ops.mean(squared_error), math.exp(2.0 * MIN_LOG_SIGMA)))
    nll = 0.5 * squared_error * ops.exp(-2.0 * log_sigma) + log_sigma + 0.5 * math.log(2.0 * math.pi)
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


def discretized_logistic_log_prob(x, mean, log_scale):
    """log P(x) of 8-bit values x = k / 255 under a logistic of `mean` and scale exp(log_scale), elementwise
    (PixelCNN++'s discretized logistic, Salimans et al. 2017): the logistic's mass over each value's bin, the end
    bins 0 and 255 taking the tails, so that the 256 values' masses sum to 1."""
    inverse_scale = ops.exp(-log_scale)
    centered = x - mean
    plus, minus = inverse_scale * (centered + 0.5 / LEVELS), inverse_scale * (centered - 0.5 / LEVELS)
    log_cdf_plus = plus - ops.softplus(plus)  # log sigmoid(plus): the mass below the first bin's top
    log_survival_minus = -ops.softplus(minus)  # log (1 - sigmoid(minus)): the mass above the last bin's bottom
    mass = ops.sigmoid(plus) - ops.sigmoid(minus)
    middle = inverse_scale * centered  # where the bin's mass underflows: its density times the bin width
    log_density_mid = middle - log_scale - 2.0 * ops.softplus(middle) - math.log(LEVELS)
    log_mass = ops.where(mass > 1e-5, ops.log(ops.maximum(mass, 1e-12)), log_density_mid)
    return ops.where(x < 0.5 / LEVELS, log_cdf_plus, ops.where(x > 1.0 - 0.5 / LEVELS, log_survival_minus, log_mass))


def eight_bit(x):
    """x rounded to the nearest of the 256 levels k / 255, as float32."""
    return ops.round(ops.cast(x, "float32") * LEVELS) / LEVELS


@register_likelihood("discretized_logistic", variables={"output_log_scale": -2.0}, unit_range=True, discrete=True,
                     description="8-bit pixels, color included: a probability of each value, scored in bits/dim")
def discretized_logistic_reconstruction_loss(x, logits, output_log_scale):
    """-log P(x|z) of 8-bit pixels, summed over pixels: each value k / 255 gets the mass of a logistic of mean
    sigmoid(logits) and one learned scale over its bin (discretized_logistic_log_prob). x is rounded to the nearest
    of the 256 levels."""
    mean = ops.sigmoid(ops.cast(logits, "float32"))
    return -_per_example_sum(discretized_logistic_log_prob(eight_bit(x), mean, output_log_scale))


MIN_LOG_SCALE = -7.0  # PixelCNN++'s floor on a logistic's log-scale: a bin of 1/255 still gets a finite density
# A fresh decoder's outputs lie near 0: these offsets start its logistics mid-range (mean 0.5) and about a dozen
# 8-bit bins wide (scale e^-3), so that the first steps learn the images, not the scale (Adam moves a bias ~1e-3
# a step: from scale 1 to a few bins would take thousands of steps).
MEAN_OFFSET, LOG_SCALE_OFFSET = 0.5, -3.0
COUPLING_RANGE = 1.0  # PixelCNN++'s coupling coefficients lie in (-1, 1); a wider range gained nothing on colored
# MNIST, where a stroke's green may be up to 10 times its red (docs/own_images.md)
MIXTURE_COMPONENTS = 1  # the mixture's K unless a decoder is built with another: in 10 epochs on colored MNIST one
# logistic per pixel shows the digit in its mean image, two or five do not (docs/own_images.md)


def mixture_parameters(channels, components=None):
    """The numbers per pixel of a K-component discretized logistic mixture over `channels` channels: per component a
    mixture logit, a mean and a log-scale per channel, and one coupling coefficient per pair of channels."""
    return (components or MIXTURE_COMPONENTS) * (1 + 2 * channels + channels * (channels - 1) // 2)


def split_mixture(parameters, channels):
    """The decoder's parameters (..., K * (1 + 2C + C(C-1)/2)) as (logits (..., K), means (..., K, C) offset by
    MEAN_OFFSET, log-scales (..., K, C) offset by LOG_SCALE_OFFSET and floored at MIN_LOG_SCALE, coupling coefficients
    (..., K, C(C-1)/2) in (-COUPLING_RANGE, COUPLING_RANGE))."""
    parameters = ops.cast(parameters, "float32")
    pairs = channels * (channels - 1) // 2
    components = parameters.shape[-1] // (1 + 2 * channels + pairs)
    batch = ops.shape(parameters)[:-1]
    logits = parameters[..., :components]
    rest = ops.reshape(parameters[..., components:], (*batch, components, 2 * channels + pairs))
    means = rest[..., :channels] + MEAN_OFFSET
    log_scales = ops.maximum(rest[..., channels:2 * channels] + LOG_SCALE_OFFSET, MIN_LOG_SCALE)
    return logits, means, log_scales, COUPLING_RANGE * ops.tanh(rest[..., 2 * channels:] / COUPLING_RANGE)


def log_mixture_weights(logits):
    """log pi_k = logits_k - logsumexp(logits): the log-softmax, written out so that K = 1 is no special case."""
    return logits - ops.logsumexp(logits, axis=-1, keepdims=True)


def coupled_mean(means, coefficients, x, c):
    """Channel c's mean in each component given the earlier channels' values x (..., K or 1, C): its own mean plus
    sum_j<c coefficient_cj * x_j (PixelCNN++'s linear coupling: green follows red, blue red and green)."""
    pair = c * (c - 1) // 2  # channel c's coefficients follow those of channels 1..c-1
    return means[..., c] + sum((coefficients[..., pair + j] * x[..., j] for j in range(c)), 0.0)


@keras.saving.register_keras_serializable(package="keras_vae")
class DiscretizedMixtureMean(keras.layers.Layer):
    """The image a discretized logistic mixture shows: its mean, sum_k pi_k * the component's channel means (each
    channel's given the component's means of the earlier ones), clipped to [0, 1]."""

    def __init__(self, channels, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels

    def call(self, parameters):
        logits, means, _, coefficients = split_mixture(parameters, self.channels)
        component_means = []
        for c in range(self.channels):
            earlier = ops.stack(component_means, axis=-1) if component_means else None
            component_means.append(coupled_mean(means, coefficients, earlier, c))
        weights = ops.exp(log_mixture_weights(logits))[..., None]
        return ops.clip(ops.sum(weights * ops.stack(component_means, axis=-1), axis=-2), 0.0, 1.0)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


def draw_mixture(parameters, channels, uniform):
    """x ~ the mixture, per pixel, from `uniform` (..., channels + 1) in (0, 1): a component k from the last
    uniform (the inverse of the weights' cumulative sum), then each channel c from its logistic by the inverse of
    its CDF at uniform c, its mean coupled to the channels drawn before it, rounded to the 256 levels (the edge
    bins take the tails)."""
    logits, means, log_scales, coefficients = split_mixture(parameters, channels)
    uniform = ops.clip(ops.cast(uniform, "float32"), 1e-6, 1.0 - 1e-6)
    cumulative = ops.cumsum(ops.exp(log_mixture_weights(logits)), axis=-1)
    component = ops.minimum(ops.sum(ops.cast(cumulative < uniform[..., channels:], "int32"), axis=-1),
                            ops.shape(logits)[-1] - 1)
    chosen = ops.one_hot(component, ops.shape(logits)[-1])[..., None]
    means, log_scales, coefficients = (ops.sum(chosen * v, axis=-2) for v in (means, log_scales, coefficients))
    x = []
    for c in range(channels):
        u = uniform[..., c]
        earlier = ops.stack(x, axis=-1) if x else None
        value = coupled_mean(means, coefficients, earlier, c) + ops.exp(log_scales[..., c]) * (ops.log(u) - ops.log1p(-u))
        x.append(eight_bit(ops.clip(value, 0.0, 1.0)))
    return ops.stack(x, axis=-1)


def mixture_log_probs(x, parameters):
    """(log mixture weights (..., K), log P(x_c | x_<c, component) (..., K, C)) of 8-bit pixels x (..., C)."""
    channels = x.shape[-1]
    logits, means, log_scales, coefficients = split_mixture(parameters, channels)
    x = ops.expand_dims(x, -2)  # (..., 1, C): the same pixel for every component
    mean = ops.stack([coupled_mean(means, coefficients, x, c) for c in range(channels)], axis=-1)
    return log_mixture_weights(logits), discretized_logistic_log_prob(x, mean, log_scales)


@register_likelihood("discretized_logistic_mixture", activation=DiscretizedMixtureMean, unit_range=True,
                     discrete=True, parameters=mixture_parameters,
                     description="8-bit pixels, color included: PixelCNN++'s mixture of K logistics per pixel, its "
                                 "channels coupled; scored in bits/dim")
def discretized_logistic_mixture_reconstruction_loss(x, parameters):
    """-log P(x|z) of 8-bit pixels, summed over pixels: per pixel, a mixture of K discretized logistics whose
    channels are coupled (mixture_log_probs), log P(x) = logsumexp_k [log pi_k + sum_c log P(x_c | x_<c, k)]."""
    x = eight_bit(x)
    log_weights, log_probs = mixture_log_probs(x, parameters)
    return -_per_example_sum(ops.logsumexp(log_weights + ops.sum(log_probs, axis=-1), axis=-1))


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
