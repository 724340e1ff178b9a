"""The training command: data -> model -> fit -> a self-describing run folder."""
import dataclasses
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from . import loading, plots, run_data, runs
from .architectures import ARCHITECTURES, IMAGE_SHAPE, build_decoder, build_encoder, get_architecture
from .autoencoder import Autoencoder
from .checkpoint import EpochCheckpoint, load_checkpoint
from .callbacks import KLWarmup, LinearDecay, LogBeta, ProgbarLogger, ReduceLROnPlateau, TensorBoardImages
from .data import BINARIZE, binarize_images, make_dataset, unit_array
from .images import DATA_HELP, load_images, mnist_like, parse_image_size, pixels_of
from .distribute import STRATEGIES, is_chief, make_strategy
from .losses import LIKELIHOODS, MIXTURE_COMPONENTS, get_likelihood
from .model import VAE
from .options import Integer, Number, check_fields, option
from .optimizers import FusedAdam
from .priors import MixturePrior, fit_to_codes


# The options whose default depends on the data: unset (None), `train` takes the tutorial's for MNIST as its loader
# reads it and OWN_IMAGES for every other image set (DEFAULTS_RULE; the record: docs/own_images.md).
TUTORIAL = {"likelihood": "bernoulli", "architecture": "conv", "latent_dim": 2, "batch_size": 128, "lr_decay": 0.0}
OWN_IMAGES = {"likelihood": "discretized_logistic_mixture", "architecture": "resnet_modulated", "latent_dim": 32,
              "batch_size": 8, "lr_decay": 0.3}
DEFAULTS_RULE = ("the tutorial's defaults for MNIST as its loader reads it (28x28 grayscale arrays: no `data`, a data "
                 "set name, an .npz or IDX files), for binarized pixels and for a run that continues another; the "
                 "own-images defaults for every other image set, a folder of image files whatever its name")
OWN_IMAGES_REASON = ("a probability of every 8-bit value, color channels coupled, from residual blocks with no narrow "
                     "layer before z and a last 1x1 convolution of each image's own (its kernel from z: each image's "
                     "colors), batches of 8 (sixteen times the tutorial's steps), and a learning rate lowered "
                     "to 0 over the last 30% of them so that the run ends on settled weights; the tutorial's choices "
                     "draw gray, blurred images there: docs/own_images.md")

# What `model` in a TrainConfig names: the VAE, or the plain autoencoder it is contrasted with.
MODELS = {"vae": VAE, "ae": Autoencoder}


PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
SAMPLING_PRIORS = ("fitted", "standard")
# Training steps per call into TensorFlow: fewer Python round trips, the same numbers (docs/speed.md).
STEPS_PER_EXECUTION = 32
SEED = Integer(0, 2**31 - 1)


def _architecture_help():
    return "; ".join(f"{a.name}: {a.description}" for a in ARCHITECTURES.values())


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a run, declared once: the API's defaults and checks, the training command's flags
    (cli.py derives them), and the run's config.json."""

    kind: str = option("vae", "vae, or ae: the plain autoencoder (reconstruction loss alone) the tutorials contrast "
                              "it with", choices=lambda: MODELS)
    conditional: bool = option(False, "a conditional VAE (Sohn et al. 2015): the encoder and decoder also take each "
                                      "image's class (subfolders, an npz's y_train, MNIST's digits), so that `sample "
                                      "--label` draws the class asked for; its loss bounds log p(x|y), not log p(x)")
    architecture: str | None = option(None, _architecture_help, choices=lambda: ARCHITECTURES, inherited=True)
    latent_dim: int | None = option(None, "size of z", Integer(1, 1024), inherited=True)
    options: dict = dataclasses.field(default_factory=dict)  # the architecture's options (architectures.py)
    epochs: int = option(30, "passes over the training images", Integer(1))
    batch_size: int | None = option(None, "images per step", Integer(1, 60000))
    learning_rate: float = option(1e-3, "Adam's step size", Number(0.0, inclusive=False))
    beta: float = option(1.0, "weight of the KL term", Number())
    ema_momentum: float = option(0.0, "m > 0: keep an exponential moving average of the weights (per step: "
                                      "a = m a + (1 - m) w) and end with it; 0.999 averages over about the last 1,000 "
                                      "steps (0: off)", Number(below=1.0))
    importance_samples: int = option(1, "k > 1: train on the importance-weighted bound (IWAE, Burda et al. 2015) "
                                        "with k draws per image", Integer(1, 1000))
    free_bits: float = option(0.0, "lambda > 0: each latent dim's KL counts for at least lambda nats in the loss "
                                    "(free bits, Kingma et al. 2016), so that a strong decoder does not leave z unused "
                                    "(0: off)", Number())
    prior_components: int = option(0, "C > 0: p(z) is a C-component Gaussian mixture trained with the model, not "
                                      "N(0, I) (start it fitted: fit-prior, then `init_from` its run)", Integer(0, 10000))
    init_from: str | None = option(None, "start from the weights of a trained run (the same `architecture`, "
                                         "`latent_dim` and options) and fine-tune them, e.g. on `importance_samples`", path="run")
    seed: int = option(0, "random seed", SEED)
    binarize: str | None = option(None, "none (grayscale; the default), dynamic (a fresh Bernoulli draw each epoch) "
                                          "or static (one draw)", choices=BINARIZE, inherited=True)
    likelihood: str | None = option(None, "p(x|z) of a pixel", choices=lambda: LIKELIHOODS, inherited=True)
    mixture_components: int | None = option(None, "K, the logistics per pixel of the discretized_logistic_mixture "
                                                  f"likelihood (default {MIXTURE_COMPONENTS})", Integer(1, 100),
                                            inherited=True)
    kl_warmup_epochs: int = option(0, "raise beta from 0 over this many epochs (fewer than `epochs`)", Integer(0))
    lr_decay: float | None = option(None, "f > 0: hold the learning rate, then lower it linearly to 0 over the last "
                                          "fraction f of the steps, so that the run ends on settled weights (0: off)",
                                    Number(below=1.0))
    lr_patience: int = option(0, "halve the learning rate after this many epochs without a better val_loss (0: off)",
                              Integer(0))
    early_stopping_patience: int = option(0, "stop after this many epochs without a better val_loss and restore the "
                                             "best weights (0: off)", Integer(0))
    validation_images: int = option(0, "hold out the last n training images as the validation set that schedules "
                                       "watch (0: watch the test set)", Integer(0))
    steps_per_execution: int = option(STEPS_PER_EXECUTION, "training steps per call into the backend (PyTorch: 1)",
                                      Integer(1))
    jit_compile: bool = option(False, "compile the train step with XLA (on JAX always: its step runs compiled)")
    precision: str = option("float32", "layer compute dtype: mixed_float16 for GPUs, mixed_bfloat16 for TPUs and "
                                       "recent CPUs", choices=PRECISIONS)
    strategy: str = option("none", "tf.distribute: mirrored (local GPUs) or multiworker (TF_CONFIG)",
                           choices=STRATEGIES)
    data: str | None = option(None, DATA_HELP, path="data")
    image_size: str | None = option(None, "H or HxW: resize every image to it (default: the images' own size, which "
                                          "must be one)", inherited=True)
    channels: int | None = option(None, "1 (grayscale) or 3 (color): convert every image (default: the images' own)",
                                  Integer(1, 3), choices=(1, 3), inherited=True)
    test_split: float = option(0.1, "where the images have no test split, the fraction held out as one (seeded by "
                                    "`seed`)", Number(0.0, inclusive=False, below=1.0))
    sampling_prior: str | None = option(None, "the p(z) that `sample` and the run's samples.png draw from: fitted (a "
                                              "Gaussian mixture fitted to the training images' codes when training "
                                              "ends: new images like the data, where N(0, I) reaches codes no image "
                                              "has) or standard (N(0, I)); default standard for a 2-D z (the "
                                              "tutorial's manifold), fitted otherwise", choices=SAMPLING_PRIORS)
    sampling_components: int = option(2000, "Gaussians in the fitted sampling prior, at most one per two training "
                                            "images (a conditional run: each class its share)", Integer(1, 100000))
    figures: bool = option(True, "the run's figures and TensorBoard images (on; --no-figures leaves them out for "
                                 "scripted runs: the models, history and metrics are the same, and the figures "
                                 "command draws them later)")
    out: str | None = option(None, "run folder (default saved_models/<architecture>_latent<d>); written whole at the "
                                   "end", path="folder")

    def run_dir(self):
        prefix = "" if self.kind == "vae" else f"{self.kind}_"
        return Path(self.out or f"saved_models/{prefix}{self.architecture}_latent{self.latent_dim}")

    def __post_init__(self):
        self.check()

    def check(self):
        """Refuse a value out of its declared range or choices, and options that contradict each other, in one
        ValueError that names the arguments."""
        check_fields(self)
        parse_image_size(self.image_size)
        if self.architecture is not None:  # unset: checked once `train` has chosen it
            get_architecture(self.architecture).check_options(self.options)
        if self.kl_warmup_epochs >= self.epochs:
            raise ValueError(f"`kl_warmup_epochs` {self.kl_warmup_epochs} must be below `epochs` {self.epochs}, "
                             "or beta never reaches `beta`.")
        if self.lr_decay and self.lr_patience:
            raise ValueError(f"`lr_decay` {self.lr_decay:g} and `lr_patience` {self.lr_patience} both set the learning "
                             "rate; give one of them (`lr_decay` 0 turns the decay off).")
        if self.ema_momentum and self.early_stopping_patience:
            raise ValueError("`ema_momentum` and `early_stopping_patience`: early stopping would put back its best "
                             "epoch's weights over the averaged ones; give one of them.")
        if self.binarize not in (None, "none") and self.likelihood and get_likelihood(self.likelihood).discrete:
            raise ValueError(f"`binarize` {self.binarize} makes 0/1 pixels, and `likelihood` {self.likelihood} models "
                             "8-bit values: give `binarize` none, or `likelihood` bernoulli for binary pixels.")
        mixture = self.likelihood and get_likelihood(self.likelihood).parameters is not None
        if self.mixture_components is not None and self.likelihood and not mixture:
            raise ValueError(f"`mixture_components` applies to a mixture likelihood (discretized_logistic_mixture), not "
                             f"`likelihood` {self.likelihood}.")
        if self.kind == "ae" and self.sampling_prior == "fitted":
            raise ValueError("`kind` ae draws from N(0, I), the tutorials' contrast: `sampling_prior` fitted applies to "
                             "`kind` vae only.")
        if self.kind == "ae" and (self.beta != 1.0 or self.kl_warmup_epochs or self.importance_samples > 1
                                  or self.prior_components or self.free_bits):
            raise ValueError("`kind` ae has no KL term: `beta`, `kl_warmup_epochs`, `importance_samples`, `free_bits` "
                             "and `prior_components` apply to `kind` vae only.")

    def inherit(self, source):
        """This config with each inherited option left unset taken from `source`, the config.json of the run it
        starts from (fine-tuning sees the data as that run did)."""
        taken = {f.name: source[f.name] for f in dataclasses.fields(self)
                 if f.metadata.get("inherited") and getattr(self, f.name) is None and source.get(f.name) is not None}
        return dataclasses.replace(self, **taken)

    def with_defaults(self, mnist_like=True):
        """This config with the options still unset chosen by DEFAULTS_RULE for images that are MNIST as its loader
        reads them (`mnist_like`, images.mnist_like) or not, and the record of the choice for config.json: which
        defaults, why, and the values chosen."""
        own = not (mnist_like or self.binarize not in (None, "none") or self.init_from)
        defaults = OWN_IMAGES if own else TUTORIAL
        chosen = {name: value for name, value in defaults.items() if getattr(self, name) is None}
        if self.lr_patience:  # the schedule asked for replaces the decay
            chosen.pop("lr_decay", None)
        because = ("not MNIST as its loader reads it" if own else
                   "a run that continues another" if self.init_from else
                   "binarized pixels" if self.binarize not in (None, "none") else "MNIST as its loader reads it")
        record = {"chosen": "own images" if own else "tutorial", "because": because, "values": chosen}
        unset = {"binarize": self.binarize or "none", "lr_decay": self.lr_decay or 0.0}
        latent_dim = chosen.get("latent_dim", self.latent_dim)
        if self.sampling_prior is None:  # N(0, I) for the plain autoencoder (the tutorials' contrast) and a 2-D z
            unset["sampling_prior"] = "standard" if self.kind == "ae" or latent_dim <= 2 else "fitted"
        return dataclasses.replace(self, **{**unset, **chosen}), record

    def architecture_options(self):
        """The architecture's options: its registered defaults, updated by `options`."""
        return {**get_architecture(self.architecture).options, **self.options}

    def callbacks(self):
        """The schedules this config asks for: KL warm-up, the learning rate's final decay or its halving, early
        stopping.

        The last two watch val_loss only once the warm-up is over, when beta has stopped changing. A VAE's
        logs also record beta.
        """
        callbacks = [LogBeta()] if self.kind == "vae" else []
        if self.kl_warmup_epochs:
            callbacks.append(KLWarmup(self.kl_warmup_epochs, self.beta))
        if self.lr_decay:
            callbacks.append(LinearDecay(self.lr_decay, self.learning_rate))
        if self.lr_patience:
            callbacks.append(ReduceLROnPlateau(
                "val_loss", factor=0.5, patience=self.lr_patience, start_from_epoch=self.kl_warmup_epochs))
        if self.early_stopping_patience:
            callbacks.append(keras.callbacks.EarlyStopping(
                "val_loss", patience=self.early_stopping_patience, restore_best_weights=True,
                start_from_epoch=self.kl_warmup_epochs))
        return callbacks


def build_model(config, optimizer=None, image_shape=IMAGE_SHAPE, num_classes=None):
    """A compiled VAE (or Autoencoder) for the config and images of `image_shape`, its layers computing in
    `config.precision` (the loss stays float32).

    optimizer: fastest_adam(config.learning_rate) unless given (with config.ema_momentum, one that keeps a moving
    average of the weights, which Keras' fit puts in their place when it ends); a given optimizer is used as it is.
    Options left unset take DEFAULTS_RULE's values for images of `image_shape` given as arrays. A conditional
    config takes `num_classes`, the classes of its images.
    """
    if config.conditional and num_classes is None:
        raise ValueError("`conditional`: give `num_classes`, the number of classes the model takes.")
    num_classes = num_classes if config.conditional else None
    config = config.with_defaults(mnist_like(image_shape, files=False))[0]
    options = config.architecture_options()
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(config.precision)
    try:
        encoder = build_encoder(config.latent_dim, config.architecture, image_shape, seed=config.seed,
                                num_classes=num_classes, **options)
        decoder = build_decoder(config.latent_dim, config.architecture, image_shape, likelihood=config.likelihood,
                                mixture_components=config.mixture_components, num_classes=num_classes, **options)
        prior = MixturePrior(config.latent_dim, config.prior_components) if config.prior_components else None
        prior_terms = ({"beta": config.beta, "importance_samples": config.importance_samples, "prior": prior,
                        "free_bits": config.free_bits}
                       if config.kind == "vae" else {})
        model = MODELS[config.kind](encoder, decoder, likelihood=config.likelihood, **prior_terms)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    # Keras 3.15's multi-step loop fails under MultiWorkerMirroredStrategy ("must feed a value for placeholder"), and
    # its PyTorch backend runs one step per call.
    one_step = config.strategy == "multiworker" or keras.backend.backend() == "torch"
    steps_per_execution = 1 if one_step else config.steps_per_execution
    model.compile(  # under mixed_float16, compile wraps the optimizer in a LossScaleOptimizer
        optimizer=optimizer or fastest_adam(config.learning_rate, use_ema=config.ema_momentum > 0,
                                            ema_momentum=config.ema_momentum),
        steps_per_execution=steps_per_execution,
        jit_compile=config.jit_compile or keras.backend.backend() == "jax",  # JAX's step is fast compiled whole
    )
    return model


def fastest_adam(learning_rate, **options):
    """Adam as fast as the backend runs it: FusedAdam's one TensorFlow kernel per variable on TensorFlow
    (docs/speed.md), Keras' Adam on JAX and PyTorch (their steps are compiled whole); the same update either way."""
    if keras.backend.backend() == "tensorflow":
        return FusedAdam(learning_rate, **options)
    return keras.optimizers.Adam(learning_rate, **options)


def _shape(weights, i):
    return f"{weights[i].path} {tuple(weights[i].shape)}" if i < len(weights) else "none"


def _ordered_weights(part, keep=lambda name: True):
    """`part`'s weights, those of the layers an option adds (named with an architecture's added_layers prefix) last
    and by name, an order that does not depend on their place in the graph; `keep(name)` picks the added layers."""
    prefixes = tuple(a.added_layers for a in ARCHITECTURES.values() if a.added_layers)
    added = [layer for layer in part.layers if prefixes and layer.name.startswith(prefixes)]
    chosen = [layer for layer in part.layers if layer not in added] + sorted(
        (layer for layer in added if keep(layer.name)), key=lambda layer: layer.name)
    return [w for layer in chosen for w in layer.weights]


def copy_weights(model, source):
    """Start `model` from the trained `source` (same kind, architecture and sizes, or with layers an option
    adds, such as made's local_channels or local_layers, which start as built): its encoder's, decoder's,
    likelihood's and mixture prior's weights (a mixture a source under N(0, I) lacks starts as built); the
    optimizer starts afresh. A ValueError says what differs."""
    if type(model) is not type(source):
        raise ValueError(f"`init_from`: it holds a {type(source).__name__}, not the {type(model).__name__} this run trains.")
    for part in ("encoder", "decoder"):
        names = {layer.name for layer in getattr(source, part).layers}  # local layers it lacks keep their start
        ours, theirs = _ordered_weights(getattr(model, part), names.__contains__), _ordered_weights(getattr(source, part))
        mismatch = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a.shape != b.shape),
                        None if len(ours) == len(theirs) else min(len(ours), len(theirs)))
        if mismatch is not None:
            raise ValueError(f"`init_from`: its {part} does not fit this run's (weight {mismatch}: "
                             f"{_shape(theirs, mismatch)} there, {_shape(ours, mismatch)} here); give the same "
                             "`architecture`, `latent_dim` and options.")
        for weight, value in zip(ours, theirs):
            weight.assign(value)
    for name in model.likelihood_kind.variables:
        getattr(model, name).assign(getattr(source, name))
    ours, theirs = getattr(model, "prior", None), getattr(source, "prior", None)
    if isinstance(theirs, MixturePrior):
        if not isinstance(ours, MixturePrior) or ours.components != theirs.components:
            raise ValueError(f"`init_from`: its prior is {theirs.description}; give `prior_components` "
                             f"{theirs.components} to start from it (or train from the run it was fitted to).")
        for weight, value in zip(ours.weights, theirs.weights):
            weight.assign(value)


def hardware():
    """A short description of where this ran."""
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return {
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "gpus": gpus,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
    }


def write_figures(run_dir, model, x_test, y_test):
    """Draw a run's figures from its model, its test images and the history and config in its folder, into the
    folder (after a change to plots.py too: redraw_figures); returns their names."""
    config, history = runs.read_config(run_dir), runs.read_json(Path(run_dir) / runs.HISTORY)
    figures = plots.run_figures(model, x_test, y_test, history, config.get("kl_warmup_epochs", 0),
                                runs.validated_on(config), config.get("images", {}).get("class_names"),
                                runs.read_sampling_prior(run_dir))
    runs.save_figures(run_dir, figures)
    return sorted(figures)


def redraw_figures(run, data=None):
    """Draw a finished run's figures again from its models, history and test set, into its folder; their names."""
    return write_figures(run, loading.load_model(run), *run_data.test_set(run, data))


def describe_images(images):
    """One line saying what was read: the source, the split sizes, the image shape and anything changed or skipped."""
    record = images.record
    notes = "; ".join(record[key] for key in ("converted", "skipped") if key in record)
    return (f"Images: {record['source']}, {record['train_images']} train / {record['test_images']} test "
            f"({record['test']}), {'x'.join(map(str, images.image_shape))}" + (f"; {notes}" if notes else ""))


def describe_defaults(defaults):
    """The line that says which own-images defaults `train` chose, and why (from with_defaults_for's record)."""
    values = ", ".join(f"{name} {value}" for name, value in defaults["values"].items())
    return f"Images {defaults['because']}: training with {values}: {OWN_IMAGES_REASON} (an option chooses otherwise)."


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or Inf; the last good checkpoint is kept."""


@dataclasses.dataclass
class RunImages:
    """A run's images as training takes them: the training split (less the validation images), and the validation
    and test images as the run is scored on them (one fixed draw for a binarized run)."""

    train: object
    x_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray | None
    image_shape: tuple
    record: dict  # what was read (images.ImageSet.record), less the source as given
    y_val: np.ndarray | None = None
    num_classes: int | None = None  # the classes a conditional run's model takes; None for an unconditional run

    def labels(self, split):
        """The labels a conditional run's model takes with the split's images ("train", "val", "test"); None for an
        unconditional run."""
        if self.num_classes is None:
            return None
        return {"train": self.train.labels, "val": self.y_val, "test": self.y_test}[split]


def class_count(images, source):
    """The classes of an ImageSet's labels for a conditional run: its folders' names, else the largest label + 1;
    a ValueError (nothing written yet) for images without labels or of one class."""
    labels = images.train.labels
    if labels is None:
        raise ValueError(f"`conditional`: {source} has no labels; give images in one subfolder per class "
                         "(digits/7/...), an .npz with y_train, or MNIST.")
    names = images.record.get("class_names")
    count = len(names) if names else int(max(labels.max(), -1 if images.test.labels is None else images.test.labels.max())) + 1
    if len(np.unique(labels)) < 2:
        raise ValueError(f"`conditional`: {source}'s images are all of one class; a conditional model needs two or "
                         "more (one subfolder per class).")
    return count


def read_images(config):
    """The images config.data names (MNIST by default), said in one line, split as the run uses them."""
    images = load_images(config.data, config.image_size, config.channels, config.test_split, config.seed)
    classes = class_count(images, config.data or "MNIST") if config.conditional else None
    print(describe_images(images))
    train_split, val_split = run_data.split_validation(images.train, config.validation_images)
    x_test, y_test = images.images("test")
    x_val = unit_array(pixels_of(val_split, images.image_shape))
    return RunImages(train_split, run_data.scored_images(x_val, config.binarize, seed=run_data.VALIDATION_SEED),
                     run_data.scored_images(x_test, config.binarize), y_test, images.image_shape,
                     {key: value for key, value in images.record.items() if key != "source"},
                     val_split.labels, classes)


def start_model(config, images, work_dir, resume, source):
    """The model to train and its EpochCheckpoint: from the last checkpoint in work_dir (resume), or built (from the
    weights of `source`, a trained model, where given) in an emptied work_dir. Also the first epoch to train."""
    checkpoint_dir = work_dir / runs.CHECKPOINT_DIR
    if resume:
        model, initial_epoch, history, seconds_before = load_checkpoint(checkpoint_dir)
        return model, EpochCheckpoint(checkpoint_dir, history, seconds_before), initial_epoch
    model = build_model(config, image_shape=images.image_shape, num_classes=images.num_classes)
    if source is not None:
        copy_weights(model, source)
    shutil.rmtree(work_dir, ignore_errors=True)
    return model, EpochCheckpoint(checkpoint_dir), 0


def fit_model(model, config, images, work_dir, checkpoint, initial_epoch):
    """model.fit with the config's schedules, a checkpoint each epoch and TensorBoard logs; its seconds. Schedules
    and early stopping watch val_loss: on held-out training images when asked, else on the test set."""
    train_data = make_dataset(pixels_of(images.train, images.image_shape), config.batch_size, shuffle=True,
                              seed=config.seed, binarize=config.binarize, labels=images.labels("train"))
    validation = "val" if len(images.x_val) else "test"
    val_data = make_dataset(images.x_val if len(images.x_val) else images.x_test, config.batch_size,
                            labels=images.labels(validation))
    logs = work_dir / runs.TENSORBOARD_DIR
    start = time.perf_counter()
    history = model.fit(
        train_data, epochs=config.epochs, initial_epoch=initial_epoch, validation_data=val_data, shuffle=False,
        callbacks=[*config.callbacks(), ProgbarLogger(), keras.callbacks.TerminateOnNaN(),
                   keras.callbacks.TensorBoard(logs, write_graph=False),
                   *([TensorBoardImages(logs)] if config.figures else []), checkpoint],
        verbose=1,
    ).history
    if not np.isfinite(history.get("loss", [0.0])).all():
        raise TrainingDivergedError(
            f"Training stopped at epoch {initial_epoch + len(history['loss'])}: the loss is not finite. "
            f"The last good checkpoint (epoch {len(checkpoint.history.get('loss', []))}) is in {checkpoint.directory}; "
            "lower `learning_rate` and `resume`."
        )
    return time.perf_counter() - start


def fit_sampling_prior(model, config, images):
    """The mixture prior that sampling draws from, fitted to two draws of z per training image (a fresh binarization
    each for a dynamically binarized run, the run's one draw for a statically binarized one), and its record."""
    x_train = unit_array(pixels_of(images.train, images.image_shape))
    if config.binarize == "static":
        x_train = binarize_images(x_train, config.seed)
    start = time.perf_counter()
    components = max(1, min(config.sampling_components, len(x_train) // 2))  # each Gaussian fits 4 codes or more
    prior, mean_log_prior = fit_to_codes(model, x_train, components, dynamic=config.binarize == "dynamic",
                                         seed=config.seed, labels=images.labels("train"))
    kind = "a mixture per class" if images.num_classes else "mixture"
    return prior, {"kind": kind, "components": components, "draws": 2, "codes": 2 * len(x_train),
                   "seconds": round(time.perf_counter() - start, 1), "mean_log_prior": mean_log_prior}


def write_results(work_dir, model, config, images, checkpoint, seconds):
    """Write the trained run's models, history, metrics (the test losses of the weights kept, the speed across the
    invocations of a resumed run), its sampling prior (where fitted) and figures into work_dir; the metrics."""
    history, seconds = checkpoint.history, checkpoint.seconds_before + seconds
    runs.save_models(work_dir, model)
    metrics = {
        "final": {name: values[-1] for name, values in history.items()},
        "test": model.evaluate(make_dataset(images.x_test, config.batch_size, labels=images.labels("test")), verbose=0,
                               return_dict=True),
        "epochs": len(history["loss"]),
        "seconds": round(seconds, 1),
        "samples_per_second": round(len(images.train) * len(history["loss"]) / seconds, 1),
        "hardware": hardware(),
    }
    if images.num_classes:  # the loss bounds log p(x|y): not to be set beside log p(x)
        metrics["bound"] = "conditional: the loss is the negative ELBO of log p(x|y), the class given"
    if config.kind == "vae" and config.sampling_prior == "fitted":
        prior, metrics["sampling_prior"] = fit_sampling_prior(model, config, images)
        runs.save_sampling_prior(work_dir, prior)
    runs.save_results(work_dir, history, metrics)
    if config.figures:
        write_figures(work_dir, model, images.x_test, images.y_test)
    shutil.rmtree(checkpoint.directory)
    return metrics


def train(config, resume=False, force=False):
    """Train a VAE or an autoencoder (config.kind) on the images config.data names (MNIST by default) and write a
    run folder (runs.py): the models, history, metrics and figures.

    The run is written in <run>.partial, every epoch checkpointed there (resume=True continues from the last),
    and renamed to <run> once complete. A folder that already holds a run is replaced only with force.
    """
    config.check()
    if config.out is not None and is_chief():  # refused before the images are read
        runs.check_new_run(config.out, force)
    if config.init_from:
        config = config.inherit(runs.read_config(runs.model_path(config.init_from)))
    config = dataclasses.replace(config, binarize=config.binarize or "none")  # how the images are read and scored
    strategy = make_strategy(config.strategy)  # before any TensorFlow op: MultiWorkerMirroredStrategy needs it so
    images = read_images(config)
    config, defaults = config.with_defaults(images.record["mnist_like"])
    if defaults["chosen"] == "own images" and defaults["values"]:
        print(describe_defaults(defaults))
    config = dataclasses.replace(config, options=config.architecture_options())
    # Under multi-worker training every worker runs this; only the chief writes the run folder.
    run_dir = config.run_dir() if is_chief() else Path(tempfile.mkdtemp(prefix="keras_vae_worker_")) / "run"
    runs.check_new_run(run_dir, force)
    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    source = loading.load_model(config.init_from) if config.init_from and not resume else None
    work_dir = runs.partial_dir(run_dir)
    with strategy.scope():
        model, checkpoint, initial_epoch = start_model(config, images, work_dir, resume, source)
    runs.write_config(work_dir, {**dataclasses.asdict(config), "defaults": {**defaults, "rule": DEFAULTS_RULE},
                                 "images": images.record})
    seconds = fit_model(model, config, images, work_dir, checkpoint, initial_epoch)
    metrics = write_results(work_dir, model, config, images, checkpoint, seconds)
    runs.publish(work_dir, run_dir)
    return run_dir, metrics
