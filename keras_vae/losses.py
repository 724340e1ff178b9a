"""The two terms of the negative ELBO, per example, in nats."""
import math

from keras import ops


def bernoulli_reconstruction_loss(x, logits):
    """-log p(x|z) for Bernoulli pixels: binary cross-entropy from logits, summed over pixels.

    Working from logits, max(l, 0) - l*x + log(1 + exp(-|l|)), stays finite for any logit.
    """
    logits = ops.cast(logits, "float32")
    x = ops.cast(x, "float32")
    bce = ops.binary_crossentropy(x, logits, from_logits=True)
    return ops.sum(ops.reshape(bce, (ops.shape(bce)[0], -1)), axis=1)


def kl_divergence(z_mean, z_log_var):
    """KL(N(z_mean, exp(z_log_var)) || N(0, I)) = -0.5 * sum(1 + log_var - mean^2 - exp(log_var))."""
    z_mean = ops.cast(z_mean, "float32")
    z_log_var = ops.cast(z_log_var, "float32")
    return -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)


def gaussian_reconstruction_loss(x, x_mean, log_var):
    """-log N(x; x_mean, exp(log_var) I), summed over pixels: a squared error scaled by the variance, plus its log-normaliser."""
    x_mean = ops.cast(x_mean, "float32")
    x = ops.cast(x, "float32")
    nll = 0.5 * (ops.square(x - x_mean) * ops.exp(-log_var) + log_var + math.log(2.0 * math.pi))
    return ops.sum(ops.reshape(nll, (ops.shape(nll)[0], -1)), axis=1)


def standard_normal_log_prob(z):
    """log N(z; 0, I), summed over latent dimensions."""
    return -0.5 * ops.sum(ops.square(z) + math.log(2.0 * math.pi), axis=-1)


def diagonal_normal_log_prob(z, z_mean, z_log_var):
    """log N(z; z_mean, diag(exp(z_log_var))), summed over latent dimensions."""
    return -0.5 * ops.sum(
        ops.square(z - z_mean) * ops.exp(-z_log_var) + z_log_var + math.log(2.0 * math.pi), axis=-1
    )
