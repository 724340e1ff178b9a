"""The prior p(z): N(0, I), the tutorials' choice, or a mixture of diagonal Gaussians fitted by EM to the
aggregate posterior q(z) = E_x q(z|x). A prior gives log p(z), the ELBO's KL term, and draws of z."""
import math

import keras
import numpy as np
from keras import ops

from .data import binarize_images, require_images
from .losses import kl_divergence, log_prior_ratio, standard_normal_log_prob
from .options import Integer, Number, require


@keras.saving.register_keras_serializable(package="keras_vae")
class StandardNormalPrior(keras.layers.Layer):
    """p(z) = N(0, I): the KL term in closed form."""

    description = "N(0, I)"

    def __init__(self, latent_dim, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = require("latent_dim", latent_dim, Integer(1))
        self.built = True

    def log_prob(self, z):
        return standard_normal_log_prob(ops.cast(z, "float32"))

    def kl_divergence(self, z, z_mean, z_log_var):
        """KL(q(z|x) || N(0, I)) in closed form (z unused)."""
        return kl_divergence(z_mean, z_log_var)

    def sample(self, n, seed=0):
        """n draws of z (numpy float32, seeded)."""
        require("n", n, Integer(1))
        return np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype("float32")

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim}


def mixture_component_log_probs(z, means, log_vars, log_weights):
    """log w_c + log N(z; mean_c, diag(exp(log_var_c))) for each component c, shape (..., components), by matrix
    products (no (..., components, latent_dim) tensor)."""
    z = ops.cast(z, "float32")
    precisions = ops.exp(-log_vars)
    flat = ops.reshape(z, (-1, ops.shape(z)[-1]))
    squared = (ops.matmul(ops.square(flat), ops.transpose(precisions))
               - 2.0 * ops.matmul(flat, ops.transpose(means * precisions))
               + ops.sum(ops.square(means) * precisions + log_vars, axis=-1))
    log_probs = log_weights - 0.5 * (squared + ops.shape(z)[-1] * math.log(2.0 * math.pi))
    return ops.reshape(log_probs, (*ops.shape(z)[:-1], -1))


@keras.saving.register_keras_serializable(package="keras_vae")
class MixturePrior(keras.layers.Layer):
    """p(z) = sum_c w_c N(z; mean_c, diag(exp(log_var_c))), w = softmax(logits): fitted to draws of the aggregate
    posterior (`fit`), where N(0, I) leaves holes between the codes; its weights also train with the model.
    The KL term has no closed form: it is log q(z|x) - log p(z) at the draw z, a one-sample estimate."""

    def __init__(self, latent_dim, components, fitted_to=None, **kwargs):
        super().__init__(**kwargs)
        self.fitted_to = fitted_to  # what its fit's draws were, in words (the description says so), or None
        self.latent_dim = require("latent_dim", latent_dim, Integer(1))
        self.components = require("components", components, Integer(1, 100000))
        shape = (self.components, self.latent_dim)
        self.means = self.add_weight(shape=shape, initializer=keras.initializers.RandomNormal(seed=0), name="means")
        self.log_vars = self.add_weight(shape=shape, initializer="zeros", name="log_vars")
        self.logits = self.add_weight(shape=(self.components,), initializer="zeros", name="logits")
        self.built = True

    @property
    def description(self):
        fitted = f" fitted to {self.fitted_to}" if self.fitted_to else ""
        return f"a {self.components}-component Gaussian mixture{fitted}"

    def log_prob(self, z):
        log_weights = ops.log_softmax(self.logits)
        return ops.logsumexp(mixture_component_log_probs(z, self.means, self.log_vars, log_weights), axis=-1)

    def kl_divergence(self, z, z_mean, z_log_var):
        """log q(z|x) - log p(z) at the draw z of q(z|x): an unbiased one-sample estimate of the KL."""
        return -log_prior_ratio(ops.cast(z, "float32"), z_mean, z_log_var, self.log_prob)

    def sample(self, n, seed=0, temperature=1.0):
        """n draws of z (numpy float32, seeded): a component by its weight, then its Gaussian, its standard deviations
        scaled by `temperature` (1: the mixture itself; below 1, draws nearer the components' means)."""
        require("n", n, Integer(1))
        require("temperature", temperature, Number())
        rng = np.random.default_rng(seed)
        weights = ops.convert_to_numpy(ops.softmax(self.logits)).astype("float64")
        chosen = rng.choice(self.components, size=n, p=weights / weights.sum())
        means, log_vars = ops.convert_to_numpy(self.means), ops.convert_to_numpy(self.log_vars)
        eps = rng.standard_normal((n, self.latent_dim))
        return (means[chosen] + temperature * np.exp(0.5 * log_vars[chosen]) * eps).astype("float32")

    def fit(self, z, iterations=50, seed=0, min_var=1e-4, chunk_size=100_000, verbose=0):
        """Set the weights by EM on the draws z (n, latent_dim), started from `components` of the draws as means
        and z's variance; returns the mean log p(z) of the draws under the fit (nats). The E-step runs over
        `chunk_size` draws at a time, so memory stays bounded for many draws per image; `verbose` shows a progress
        bar with the draws' mean log p(z) before each M-step."""
        require("iterations", iterations, Integer(1))
        require("chunk_size", chunk_size, Integer(1))
        require("min_var", min_var, Number(0.0, inclusive=False))
        z = np.asarray(z, dtype="float32")
        if z.ndim != 2 or z.shape[1] != self.latent_dim or len(z) < self.components:
            raise ValueError(f"`z` must hold at least {self.components} draws (`components`) of shape (n, "
                             f"{self.latent_dim}), got {z.shape}.")
        if not np.isfinite(z).all():
            raise ValueError("`z` holds NaN or Inf draws: encode finite images.")
        means = ops.convert_to_tensor(z[np.random.default_rng(seed).choice(len(z), self.components, replace=False)])
        log_vars = ops.log(ops.broadcast_to(ops.convert_to_tensor(z.var(axis=0)), ops.shape(means)))
        log_weights = ops.full((self.components,), -math.log(self.components))
        chunks = [ops.convert_to_tensor(z[start:start + chunk_size]) for start in range(0, len(z), chunk_size)]
        progress = keras.utils.Progbar(iterations, verbose=verbose, unit_name="iteration", stateful_metrics=["log_p_z"])
        for iteration in range(iterations):
            counts, sums, squares, total_log_prob = 1e-6, 0.0, 0.0, 0.0
            for chunk in chunks:
                log_probs = mixture_component_log_probs(chunk, means, log_vars, log_weights)
                log_prob = ops.logsumexp(log_probs, axis=1)
                responsibilities = ops.exp(log_probs - log_prob[:, None])
                total_log_prob = total_log_prob + ops.sum(log_prob)
                counts = counts + ops.sum(responsibilities, axis=0)
                sums = sums + ops.matmul(ops.transpose(responsibilities), chunk)
                squares = squares + ops.matmul(ops.transpose(responsibilities), ops.square(chunk))
            means = sums / counts[:, None]
            log_vars = ops.log(ops.maximum(squares / counts[:, None] - ops.square(means), min_var))
            log_weights = ops.log(counts / len(z))
            progress.update(iteration + 1, [("log_p_z", float(total_log_prob) / len(z))])
        for variable, value in ((self.means, means), (self.log_vars, log_vars), (self.logits, log_weights)):
            variable.assign(value)
        return float(np.mean(np.concatenate([ops.convert_to_numpy(self.log_prob(chunk)) for chunk in chunks])))

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "components": self.components,
                "fitted_to": self.fitted_to}


class ClassPriors:
    """p(z|y) of a conditional VAE: one mixture per class y, fitted to the codes of that class's images (one prior
    over all codes would put a 7's draws among the 1s' codes), and p(y), the classes' shares of the images."""

    def __init__(self, priors, frequencies):
        self.priors = list(priors)
        self.frequencies = np.asarray(frequencies, dtype="float64") / np.sum(frequencies)
        self.latent_dim = self.priors[0].latent_dim

    @property
    def description(self):
        components = sorted({p.components for p in self.priors})
        each = "-".join(map(str, (components[0], components[-1]) if len(components) > 1 else components))
        return f"p(z|y): a {each}-component Gaussian mixture per class, fitted to its class's codes"

    def labels(self, n, seed=0):
        """n classes y ~ p(y) (seeded)."""
        return np.random.default_rng(seed).choice(len(self.priors), size=n, p=self.frequencies).astype("int32")

    def given_labels(self, labels, seed=0):
        """One draw of z ~ p(z|y) per class y in `labels` (numpy float32, seeded)."""
        labels = np.asarray(labels).reshape(-1)
        z = np.zeros((len(labels), self.latent_dim), "float32")
        for label in np.unique(labels):
            rows = np.flatnonzero(labels == label)
            z[rows] = self.priors[label].sample(len(rows), seed + int(label))
        return z


CODES = "the codes"  # what a run's sampling prior is fitted to: its training images' codes


def posterior_draws(vae, x, draws=2, dynamic=True, seed=0, batch_size=1000, labels=None):
    """z ~ q(z|x) (q(z|x, y) given the images' classes `labels`) for `draws` passes over the images x; with
    `dynamic`, each pass encodes a fresh Bernoulli draw of them (seeded), as dynamically binarized training does."""
    require_images(x)
    inputs = lambda images: images if labels is None else [images, np.asarray(labels, "int32")]
    return np.concatenate([vae.encoder.predict(inputs(binarize_images(x, seed=seed + draw) if dynamic else x),
                                               batch_size=batch_size, verbose=0)[2] for draw in range(draws)])


def fit_to_codes(vae, x, components=50, draws=2, dynamic=False, iterations=50, seed=0, verbose=0, labels=None):
    """A MixturePrior fitted by EM to `draws` draws of z ~ q(z|x) per image of x (the aggregate posterior's sample),
    and the draws' mean log p(z) under it and under the VAE's own prior. Given the images' classes `labels` (a
    conditional VAE), ClassPriors: per class a mixture of its share of the components (at least one), fitted to the
    draws of its images."""
    z = posterior_draws(vae, x, draws, dynamic, seed, labels=labels)
    if labels is None:
        prior = MixturePrior(z.shape[-1], components, fitted_to=CODES, name="sampling_prior")
        fitted = prior.fit(z, iterations=iterations, seed=seed, verbose=verbose)
    else:
        y = np.tile(np.asarray(labels), draws)
        counts = np.bincount(y, minlength=vae.num_classes)
        if not counts.all():
            raise ValueError(f"No images of class(es) {np.flatnonzero(counts == 0).tolist()}: each class needs images "
                             "to fit its prior.")
        priors = []
        for label, count in enumerate(counts):
            share = min(count, max(1, round(components * count / len(y))))
            priors.append(MixturePrior(z.shape[-1], share, fitted_to=CODES, name=f"sampling_prior_{label}"))
            priors[-1].fit(z[y == label], iterations=iterations, seed=seed, verbose=verbose)
        prior = ClassPriors(priors, counts)
        fitted = float(np.mean(np.concatenate([ops.convert_to_numpy(priors[label].log_prob(z[y == label]))
                                               for label in range(len(counts))])))
    return prior, {"fitted": fitted, "model_prior": float(np.mean(ops.convert_to_numpy(vae.prior.log_prob(z))))}
