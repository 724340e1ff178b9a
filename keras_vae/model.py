"""The VAE (encoder -> Sampling -> decoder, trained on the negative ELBO) and what it shares with the plain
autoencoder (autoencoder.py)."""
import math
import warnings
import weakref

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from .decoders import check_labels, decoder_kind, image_shape, latent_dim, num_classes, tile_draws
from .layers import PreActivation
from .losses import get_likelihood, kl_divergence, log_prior_ratio
from .options import Integer, Number, require
from .priors import StandardNormalPrior

BACKEND = keras.backend.backend()  # tensorflow (the default), jax or torch


def logits_model(decoder, likelihood):
    """The decoder up to its last activation, which must be the likelihood's (Bernoulli: the sigmoid), so that the
    loss works from the logits: the input of a final Activation layer (or of the likelihood's own last layer, as a
    mixture's mean), or the output of a last Dense, Conv2D or Conv2DTranspose layer that applies the activation
    itself, computed without it (the same weights)."""
    last = decoder.layers[-1]
    own_layer = isinstance(likelihood.activation, type)  # a layer of the likelihood's own: a mixture's mean
    if own_layer and not isinstance(last, likelihood.activation):
        raise ValueError(f"The decoder must end with the {likelihood.name} likelihood's "
                         f"{likelihood.activation.__name__} layer (build_decoder adds it); its last layer is {last.name!r}.")
    if not own_layer and getattr(last, "activation", None) is not keras.activations.get(likelihood.activation):
        raise ValueError(
            f"The decoder must end with the {likelihood.name} likelihood's activation, {likelihood.activation!r} "
            f"(keras.layers.Activation({likelihood.activation!r}), or a last layer built with "
            f"activation={likelihood.activation!r}), so that the loss can use its logits; its last layer is "
            f"{last.name!r}.")
    before = own_layer or isinstance(last, keras.layers.Activation)
    logits = last.input if before else PreActivation(last)(last.input)
    inputs = decoder.inputs if len(decoder.inputs) > 1 else decoder.inputs[0]  # as the decoder is called
    return keras.Model(inputs, logits, name="decoder_logits")


def check_pair(encoder, decoder):
    """Refuse an encoder and a decoder that are not Keras models, or that do not fit together: the encoder's code
    and the decoder's z of one size, the encoder's images and the decoder's of one shape."""
    for name, model in (("encoder", encoder), ("decoder", decoder)):
        if not isinstance(model, keras.Model):
            raise ValueError(f"`{name}` must be a keras.Model (build_{name} makes one), got {type(model).__name__}.")
    code, images = encoder.outputs[0].shape[-1], tuple(encoder.inputs[0].shape[1:])
    if code != latent_dim(decoder):
        raise ValueError(f"`encoder` gives {code}-D codes and `decoder` takes {latent_dim(decoder)}-D z: build both "
                         "with the same latent_dim.")
    if images != image_shape(decoder):
        raise ValueError(f"`encoder` takes images of shape {images} and `decoder` gives {image_shape(decoder)}: build "
                         "both with the same image_shape.")
    if num_classes(encoder) != num_classes(decoder):
        said = lambda n: "no class" if n is None else f"{n} classes"
        raise ValueError(f"`encoder` takes {said(num_classes(encoder))} and `decoder` {said(num_classes(decoder))}: "
                         "build both with the same num_classes (a conditional VAE), or both without.")


def check_images(x, image_shape, name="x", likelihood=None):
    """Raise ValueError, naming the fix, unless x is a non-empty, finite float array of `image_shape` images,
    with pixels in [0, 1] where the likelihood (losses.Likelihood) requires it, as Bernoulli does."""
    x = np.asarray(x)
    expected = f"(n, {', '.join(map(str, image_shape))})"
    if x.size == 0:
        raise ValueError(f"{name} is empty: give at least one image of shape {expected}.")
    if x.shape[1:] != tuple(image_shape):
        hint = f"; reshape with {name}.reshape(-1, {', '.join(map(str, image_shape))})" if x.size % np.prod(image_shape) == 0 else ""
        raise ValueError(f"{name} has shape {x.shape}, expected images of shape {expected}{hint}.")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{name} has dtype {x.dtype}: convert to float32 in [0, 1] (for 0..255 pixels, divide by 255).")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} holds {np.size(x) - np.isfinite(x).sum()} NaN or Inf pixels: remove or repair those images.")
    low, high = float(x.min()), float(x.max())
    if likelihood is not None and likelihood.unit_range and (low < 0.0 or high > 1.0):
        fix = "divide by 255" if high > 1.0 and low >= 0.0 else "rescale to [0, 1]"
        raise ValueError(f"{name} has pixels in [{low:g}, {high:g}]; the {likelihood.name} likelihood needs [0, 1]: {fix}.")
    if likelihood is not None and likelihood.discrete and np.abs(x * 255 - np.round(x * 255)).max() > 1e-3:
        raise ValueError(f"{name} has pixels between the 256 levels k / 255; the {likelihood.name} likelihood models "
                         "8-bit values: give np.round(x * 255) / 255, or a likelihood of continuous pixels (gaussian, "
                         "continuous_bernoulli).")


class AutoencoderBase(keras.Model):
    """What the VAE and the plain Autoencoder share: an encoder, a decoder scored by a registered likelihood
    (losses.py) and Keras' plumbing (compile, checked fit/evaluate, the optimizer step, metrics, config). A
    subclass writes its `train_step(data, training=True)`, whose terms `loss_terms` names, and `call`.

    `decoder` maps z (or [z, x], see decoders.py) to the image the likelihood shows: pixel probabilities
    (Bernoulli) or means (Gaussian). `likelihood` names a registered likelihood; `likelihood_kind` is its record
    (losses.py), as `decoder_kind` is the decoder's (decoders.py). A likelihood's learned variables are attributes
    of the model named as it declares them: the Gaussian's `output_log_var`, one log-variance shared by every pixel.
    Built with `num_classes` (a conditional model: q(z|x, y), p(x|z, y)), the model's input is the images and their
    integer classes, {"x": x, "y": labels} or [x, labels], in fit, evaluate and predict alike: y is an input, not a
    target, and the loss is a bound on log p(x|y).
    Keras' contracts hold: `compile` trains the optimizer it is given, with Keras' defaults (the training command
    passes FusedAdam and steps_per_execution=32, its measured fast path: docs/speed.md).
    """

    loss_terms = ("loss", "reconstruction_loss")

    def __init__(self, encoder, decoder, likelihood="bernoulli", **kwargs):
        check_pair(encoder, decoder)
        super().__init__(**kwargs)
        self.likelihood_kind = get_likelihood(likelihood)
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        self.decoder_logits = logits_model(decoder, self.likelihood_kind)
        self.decoder_kind = decoder_kind(decoder)
        self.num_classes = num_classes(decoder)  # None: unconditional
        if self.decoder_kind.likelihoods is not None and likelihood not in self.decoder_kind.likelihoods:
            raise ValueError(f"An {self.decoder_kind.name} decoder takes the {' or '.join(self.decoder_kind.likelihoods)} "
                             f"likelihood, not {likelihood}: it draws pixels from them one by one.")
        for name, initial_value in self.likelihood_kind.variables.items():  # e.g. self.output_log_var
            setattr(self, name, keras.Variable(initial_value, dtype="float32", name=name))
        self.trackers = [keras.metrics.Mean(name=term) for term in self.loss_terms]
        self.built = True

    @property
    def metrics(self):
        return self.trackers

    def split(self, inputs, sample_weight=None):
        """(x, labels) of the model's inputs: the images, and for a conditional model their classes, from
        {"x": x, "y": labels} or [x, labels] (labels None otherwise); a sample_weight is refused, as every image
        counts once in the mean per image."""
        if sample_weight is not None:
            raise ValueError(f"`sample_weight`: {type(self).__name__} weighs every image the same in its loss per "
                             "image; repeat or leave out images instead.")
        return split_inputs(inputs, self.num_classes)

    def conditioned(self, values, labels, draws=1):
        """What the encoder or decoder takes: `values` (x or z), or for a conditional model [values, labels], the
        labels repeated for `draws` draws per image (draw-major, as tile_draws)."""
        return values if labels is None else [values, labels if draws == 1 else tile_draws(labels, draws)]

    def logits(self, z, x, labels=None, training=False):
        """The decoder's output before its last activation (Bernoulli: each pixel's logit) for each row of z (and
        the image's class, for a conditional model): decoder(z)'s, or for an autoregressive decoder decoder([z, x])'s,
        each pixel given the true ones before it. z may hold several draws per image of x, draw-major (row
        j * len(x) + i is draw j for image i)."""
        if self.decoder_kind.reads_x:
            return self.decoder_kind.logits(self.decoder_logits, z, x, training)
        if labels is not None:  # each draw with its image's class
            z = [z, tile_draws(labels, ops.shape(z)[0] // ops.shape(labels)[0])]
        return self.decoder_logits(z, training=training)

    def negative_log_likelihood(self, x, logits):
        """-log p(x|z) per row of `logits` (the logits method's), in nats, by the registered likelihood."""
        variables = {name: getattr(self, name) for name in self.likelihood_kind.variables}
        draws = ops.shape(logits)[0] // ops.shape(x)[0]  # a number on JAX and PyTorch, a tensor in a TensorFlow graph
        x = x if isinstance(draws, int) and draws == 1 else tile_draws(x, draws)
        return self.likelihood_kind.reconstruction_loss(x, logits, **variables)

    def reconstruction_loss(self, x, z, training=False, labels=None):
        """-log p(x|z) (p(x|z, y) given `labels`) for each row of z (several draws per image of x, as the logits
        method takes them), in nats."""
        return self.negative_log_likelihood(x, self.logits(z, x, labels, training=training))

    if BACKEND == "tensorflow":  # keras-io's step; JAX and PyTorch train through Keras' own, around compute_loss
        def train_step(self, data):
            """The TensorFlow step of keras-io's VAE example around the loss that every backend shares: the forward
            pass (call), the loss (compute_loss, the tutorial's lines), one gradient step on it (minimize)."""
            x, _, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
            with tf.GradientTape() as tape:
                y_pred = self(x, training=True)
                total_loss = self.compute_loss(x, y_pred=y_pred, sample_weight=sample_weight)
            self.minimize(tape, total_loss)
            return self.logs()

        def test_step(self, data):
            """The training step's losses on a batch, without the update."""
            x, _, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
            self.compute_loss(x, y_pred=self(x, training=False), sample_weight=sample_weight, training=False)
            return self.logs()

    def predict(self, x, batch_size=None, **kwargs):
        """The reconstruction of x, as the model's `predict` is documented (call gives the loss's inputs instead):
        decoder(z) through a sampled z, on any backend; images (and labels) checked first."""
        self.check_input(x, "x")
        return reconstructor(self).predict(x, batch_size=batch_size, **kwargs)

    def minimize(self, tape, loss):
        """One optimizer step down `loss`'s gradient, the loss taken on `tape`. tf.distribute sums the replicas'
        gradients, so each replica takes its share of the mean; under mixed precision the optimizer scales the loss
        (a LossScaleOptimizer's scale_loss), or its float16 gradients underflow."""
        with tape:
            scaled_loss = self.optimizer.scale_loss(loss / tf.distribute.get_strategy().num_replicas_in_sync)
        self.optimizer.apply(tape.gradient(scaled_loss, self.trainable_weights), self.trainable_weights)

    def track(self, x, **terms):
        """Add the batch's loss terms to the metrics, weighted by its size, so that an epoch's numbers are means per
        image even when the last batch is smaller; returns the loss."""
        batch_size = ops.cast(ops.shape(x)[0], "float32")
        for tracker in self.trackers:
            tracker.update_state(terms[tracker.name], sample_weight=batch_size)
        return terms["loss"]

    def logs(self):
        """The metrics' results, as Keras' logs take them (the TensorFlow step's return value)."""
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras 3.15 reduces multi-worker logs with reduce(MEAN, axis=0), which needs a batch axis.
            return {m.name: ops.reshape(m.result(), (1,)) for m in self.metrics}
        return {m.name: m.result() for m in self.metrics}

    def fit(self, x=None, y=None, validation_data=None, **kwargs):
        """Model.fit after checking the images. y is ignored, with a warning: the model reconstructs x."""
        self.check_weights(kwargs)
        if y is not None:
            warnings.warn(f"{type(self).__name__}.fit ignores y: it is unsupervised and learns to reconstruct x.",
                          stacklevel=2)
        self.check_input(x, "x")
        if validation_data is not None:
            self.check_input(validation_data[0] if isinstance(validation_data, tuple) else validation_data, "validation_data")
        return super().fit(x, None, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, **kwargs):
        """Model.evaluate after checking the images; y is ignored."""
        self.check_weights(kwargs)
        self.check_input(x, "x")
        return super().evaluate(x, None, **kwargs)

    def check_weights(self, kwargs):
        """Refuse a compiled `loss` or `metrics`, and fit's or evaluate's sample_weight or class_weight, each in one
        sentence: the model's loss is its own (the negative ELBO), its metrics the loss terms it reports, and every
        image counts once in the mean per image (see split)."""
        compiled = self.get_compile_config() or {}
        for name in ("loss", "metrics", "weighted_metrics"):
            if compiled.get(name):
                raise ValueError(f"`{name}` in compile: {type(self).__name__} computes its own loss and reports its "
                                 f"terms ({', '.join(self.loss_terms)}); compile it with an optimizer alone.")
        for name in ("sample_weight", "class_weight"):
            if kwargs.get(name) is not None:
                raise ValueError(f"`{name}`: {type(self).__name__} weighs every image the same in its loss per image; "
                                 "repeat or leave out images instead.")

    def check_input(self, x, name):
        """Refuse data the encoder cannot take or the likelihood cannot score (see check_images), and for a
        conditional model labels that are missing or name no class."""
        image_shape = image_shape_of(self.encoder)
        if isinstance(x, tf.data.Dataset):
            spec = x.element_spec[0] if isinstance(x.element_spec, tuple) else x.element_spec
            spec = split_inputs(spec, self.num_classes, name)[0]
            if tuple(spec.shape[1:]) != image_shape or not spec.dtype.is_floating:
                raise ValueError(f"{name} yields {spec.dtype.name} batches of shape {tuple(spec.shape)}, "
                                 f"expected float batches of shape (n, {', '.join(map(str, image_shape))}).")
        elif x is not None:
            images, labels = split_inputs(x, self.num_classes, name)
            check_images(images, image_shape, name, self.likelihood_kind)
            if labels is not None:
                check_labels(labels, len(images), self.num_classes, f"`{name}`'s labels")

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "likelihood": self.likelihood,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"))
        return cls(encoder, decoder, **config)


_RECONSTRUCTORS = weakref.WeakKeyDictionary()  # a model -> its functional x -> reconstruction model, made once


def reconstructor(model):
    """A functional model of `model`'s layers from its inputs (x, or x and y) to its reconstruction, decoder(z) for
    z the encoder's last output (a VAE's draw, an autoencoder's code): what `predict` returns, on every backend."""
    if model not in _RECONSTRUCTORS:
        x = keras.Input(shape=image_shape_of(model.encoder), name="x")
        y = None if model.num_classes is None else keras.Input(shape=(), dtype="int32", name="y")
        code = model.encoder(model.conditioned(x, y))
        z = code[-1] if isinstance(code, (list, tuple)) else code
        image = model.decoder(model.conditioned(model.decoder_kind.scoring_inputs(z, x), y))
        _RECONSTRUCTORS[model] = keras.Model(model.conditioned(x, y), image, name="reconstructor")
    return _RECONSTRUCTORS[model]


def image_shape_of(encoder):
    """The shape of one image that `encoder` takes (its input x, beside a conditional encoder's y)."""
    return tuple(encoder.inputs[0].shape[1:])


def split_inputs(inputs, classes, name="x"):
    """(x, labels) of a model's inputs: x alone (labels None) for an unconditional model (`classes` None), else
    {"x": x, "y": labels} or [x, labels]; a ValueError in the caller's words otherwise."""
    if classes is None:
        if isinstance(inputs, dict) or (isinstance(inputs, (list, tuple)) and len(inputs) == 2):
            raise ValueError(f"`{name}` holds images and labels, and this model is not conditional: give the images "
                             "alone (train with `conditional` to give a class).")
        return inputs, None
    if isinstance(inputs, dict) and set(inputs) == {"x", "y"}:
        return inputs["x"], inputs["y"]
    if isinstance(inputs, (list, tuple)) and len(inputs) == 2:
        return tuple(inputs)
    raise ValueError(f"`{name}`: this model is conditional on {classes} classes: give {{'x': images, 'y': labels}} "
                     "or [images, labels], labels one integer class per image.")


@keras.saving.register_keras_serializable(package="keras_vae")
class VAE(AutoencoderBase):
    """A variational autoencoder whose loss is reconstruction + beta * KL, in nats per image.

    `encoder` maps x to [z_mean, z_log_var, z]; `decoder` and `likelihood` as in AutoencoderBase; `prior` is
    p(z), N(0, I) unless given (priors.py: a fitted mixture). `beta` is a variable so that callbacks (KL
    warm-up) can change it during training. With `importance_samples` k > 1 the loss is instead the
    importance-weighted bound of Burda et al. (2015), -log (1/k) sum_j w_j with
    w_j = p(x|z_j) p(z_j)^beta / q(z_j|x)^beta over k draws z_j ~ q(z|x), which is tighter than the ELBO for
    beta = 1; `reconstruction_loss` and `kl_loss` still report the ELBO's terms (means over the k draws). With
    `free_bits` lambda > 0 (under N(0, I)), each latent dim's KL, averaged over the batch, counts for at least lambda
    nats in the loss (Kingma et al. 2016), so that z is not left unused; `kl_loss` still reports the true KL.
    """

    loss_terms = ("loss", "reconstruction_loss", "kl_loss")

    def __init__(self, encoder, decoder, beta=1.0, likelihood="bernoulli", importance_samples=1, prior=None,
                 free_bits=0.0, **kwargs):
        require("beta", beta, Number())
        require("importance_samples", importance_samples, Integer(1, 100000))
        require("free_bits", free_bits, Number())
        super().__init__(encoder, decoder, likelihood, **kwargs)
        self.beta = keras.Variable(beta, trainable=False, dtype="float32", name="beta")
        self.importance_samples = int(importance_samples)
        self.free_bits = float(free_bits)
        self.prior = StandardNormalPrior(latent_dim(decoder)) if prior is None else prior
        if self.prior.latent_dim != latent_dim(decoder):
            raise ValueError(f"The prior is over {self.prior.latent_dim}-D z, the decoder takes {latent_dim(decoder)}-D z.")
        if self.free_bits and (self.importance_samples > 1 or not isinstance(self.prior, StandardNormalPrior)):
            raise ValueError("`free_bits` floors each latent dim's KL to N(0, I): give it without `importance_samples` "
                             "and without a mixture prior.")

    def call(self, inputs, training=False):
        """q(z|x): the encoder's [z_mean, z_log_var, z], what compute_loss reads (Keras' step calls the model, then
        the loss, on every backend: one forward pass). Variants: importance_samples k > 1 encodes each image k times
        (k draws of z), a conditional model each image with its class. `predict` gives the reconstruction."""
        x, labels = split_inputs(inputs, self.num_classes)
        k = self.importance_samples  # 1: the ELBO
        return self.encoder(self.conditioned(x if k == 1 else tile_draws(x, k), labels, k), training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The tutorial's step, the loss of a batch on any backend (Keras' train_step computes its gradient; the
        TensorFlow step is train_step): the encoder's outputs (call), decoder(z), the two loss terms and their sum,
        which the metrics track. Variants a first reading can skip: importance_samples k > 1 (the IWAE bound),
        another prior (its KL term), an autoregressive decoder (the logits method), a conditional model (labels)."""
        x, labels = self.split(x, sample_weight)  # labels: None, unless the model is conditional
        # q(z|x) = N(z_mean, exp(z_log_var)); z = z_mean + exp(0.5 * z_log_var) * eps: self.encoder(x), in call
        z_mean, z_log_var, z = y_pred
        # decoder(z) before its last activation: for Bernoulli pixels, their logits
        logits = self.logits(z, x, labels, training=training)
        # -log p(x|z) summed over pixels, by the likelihood (Bernoulli: the binary cross-entropy)
        reconstruction_loss = self.negative_log_likelihood(x, logits)
        # KL(q(z|x) || p(z)); for p(z) = N(0, I) in closed form: -0.5 * sum_j (1 + z_log_var - z_mean^2 - exp(z_log_var))
        kl_loss = self.prior.kl_divergence(z, z_mean, z_log_var)
        # the negative ELBO, averaged over the batch: nats per image
        total_loss = ops.mean(reconstruction_loss) + self.beta * ops.mean(kl_loss)
        if self.free_bits:  # variant: each latent dim's KL counts for at least free_bits nats
            total_loss = ops.mean(reconstruction_loss) + self.beta * self.free_bits_kl(z_mean, z_log_var)
        if self.importance_samples > 1:  # variant: the IWAE bound over the k draws
            total_loss = self.importance_weighted_loss(reconstruction_loss, z, z_mean, z_log_var)
        return self.track(x, loss=total_loss, reconstruction_loss=ops.mean(reconstruction_loss),
                          kl_loss=ops.mean(kl_loss))

    def free_bits_kl(self, z_mean, z_log_var):
        """sum_j max(free_bits, the batch's mean KL(q(z_j|x) || N(0, 1))): the KL term with a floor on each dim."""
        kl_per_dim = ops.mean(kl_divergence(z_mean[..., None], z_log_var[..., None]), axis=0)
        return ops.sum(ops.maximum(kl_per_dim, self.free_bits))

    def importance_weighted_loss(self, reconstruction_loss, z, z_mean, z_log_var):
        """-log (1/k) sum_j p(x|z_j) p(z_j)^beta / q(z_j|x)^beta, meaned over the images, for k draws z_j per image
        (draw-major rows): Burda et al.'s bound, tighter than the ELBO for beta = 1."""
        k = self.importance_samples
        log_weights = -reconstruction_loss + self.beta * log_prior_ratio(z, z_mean, z_log_var, self.prior.log_prob)
        return -ops.mean(ops.logsumexp(ops.reshape(log_weights, (k, -1)), axis=0) - math.log(k))

    def get_config(self):
        return {**super().get_config(), "beta": float(ops.convert_to_numpy(self.beta)),
                "importance_samples": self.importance_samples, "free_bits": self.free_bits,
                "prior": keras.saving.serialize_keras_object(self.prior)}

    @classmethod
    def from_config(cls, config):
        prior = config.get("prior")
        return super().from_config({**config, "prior": prior and keras.saving.deserialize_keras_object(prior)})
