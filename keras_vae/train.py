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

from . import plots, runs
from .architectures import ARCHITECTURES, build_decoder, build_encoder, get_architecture
from .autoencoder import Autoencoder
from .checkpoint import EpochCheckpoint, load_checkpoint
from .callbacks import KLWarmup, LogBeta, ReduceLROnPlateau, TensorBoardImages
from .data import load_mnist, make_dataset
from .distribute import is_chief, make_strategy
from .model import STEPS_PER_EXECUTION, VAE
from .optimizers import FusedAdam
from .priors import MixturePrior


# What `model` in a TrainConfig names: the VAE, or the plain autoencoder it is contrasted with.
MODELS = {"vae": VAE, "ae": Autoencoder}


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a run; saved as config.json in the run folder."""

    model: str = "vae"
    architecture: str = "conv"
    latent_dim: int = 2
    options: dict = dataclasses.field(default_factory=dict)  # the architecture's options (architectures.py)
    epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 1e-3
    beta: float = 1.0
    ema_momentum: float = 0.0  # m > 0: the run ends with an exponential moving average of its weights
    importance_samples: int = 1  # k > 1: train on the importance-weighted bound (IWAE) instead of the ELBO
    prior_components: int = 0  # C > 0: p(z) is a trained C-component Gaussian mixture (priors.py), not N(0, I)
    init_from: str | None = None  # a trained run whose weights this one starts from (fine-tuning)
    seed: int = 0
    binarize: str = "none"
    likelihood: str = "bernoulli"
    kl_warmup_epochs: int = 0
    lr_patience: int = 0
    early_stopping_patience: int = 0
    validation_images: int = 0
    steps_per_execution: int = STEPS_PER_EXECUTION
    jit_compile: bool = False
    precision: str = "float32"
    strategy: str = "none"
    data: str | None = None
    out: str | None = None

    def run_dir(self):
        prefix = "" if self.model == "vae" else f"{self.model}_"
        return Path(self.out or f"saved_models/{prefix}{self.architecture}_latent{self.latent_dim}")

    def check(self):
        """Refuse options that contradict each other, naming them as the training command's flags do."""
        if self.model not in MODELS:
            raise ValueError(f"Unknown model {self.model!r}; choose one of {sorted(MODELS)}.")
        if self.kl_warmup_epochs >= self.epochs:
            raise ValueError(f"--kl-warmup-epochs {self.kl_warmup_epochs} must be below --epochs {self.epochs}, "
                             "or beta never reaches --beta.")
        if self.ema_momentum and self.early_stopping_patience:
            raise ValueError("--ema-momentum and --early-stopping-patience: early stopping would put back its best "
                             "epoch's weights over the averaged ones; give one of them.")
        if self.model == "ae" and (self.beta != 1.0 or self.kl_warmup_epochs or self.importance_samples > 1
                                   or self.prior_components):
            raise ValueError("--model ae has no KL term: --beta, --kl-warmup-epochs, --importance-samples and "
                             "--prior-components apply to --model vae only.")

    def architecture_options(self):
        """The architecture's options: its registered defaults, updated by `options`."""
        return {**get_architecture(self.architecture).options, **self.options}

    def callbacks(self):
        """The schedules this config asks for: KL warm-up, learning-rate halving, early stopping.

        The last two watch val_loss only once the warm-up is over, when beta has stopped changing. A VAE's
        logs also record beta.
        """
        callbacks = [LogBeta()] if self.model == "vae" else []
        if self.kl_warmup_epochs:
            callbacks.append(KLWarmup(self.kl_warmup_epochs, self.beta))
        if self.lr_patience:
            callbacks.append(ReduceLROnPlateau(
                "val_loss", factor=0.5, patience=self.lr_patience, start_from_epoch=self.kl_warmup_epochs))
        if self.early_stopping_patience:
            callbacks.append(keras.callbacks.EarlyStopping(
                "val_loss", patience=self.early_stopping_patience, restore_best_weights=True,
                start_from_epoch=self.kl_warmup_epochs))
        return callbacks


PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def build_model(config, optimizer=None):
    """A compiled VAE (or Autoencoder) for the config, its layers computing in `config.precision` (the loss
    stays float32).

    optimizer: FusedAdam(config.learning_rate) unless given (with config.ema_momentum, one that keeps a moving
    average of the weights, which Keras' fit puts in their place when it ends); a given optimizer is used as it is.
    """
    if config.precision not in PRECISIONS:
        raise ValueError(f"Unknown precision {config.precision!r}; choose one of {PRECISIONS}.")
    options = config.architecture_options()
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(config.precision)
    try:
        encoder = build_encoder(config.latent_dim, config.architecture, seed=config.seed, **options)
        decoder = build_decoder(config.latent_dim, config.architecture, likelihood=config.likelihood, **options)
        prior = MixturePrior(config.latent_dim, config.prior_components) if config.prior_components else None
        prior_terms = ({"beta": config.beta, "importance_samples": config.importance_samples, "prior": prior}
                       if config.model == "vae" else {})
        model = MODELS[config.model](encoder, decoder, likelihood=config.likelihood, **prior_terms)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    # Keras 3.15's multi-step loop fails under MultiWorkerMirroredStrategy ("must feed a value for placeholder").
    steps_per_execution = 1 if config.strategy == "multiworker" else config.steps_per_execution
    model.compile(  # under mixed_float16, compile wraps the optimizer in a LossScaleOptimizer
        optimizer=optimizer or FusedAdam(config.learning_rate, use_ema=config.ema_momentum > 0,
                                         ema_momentum=config.ema_momentum),
        steps_per_execution=steps_per_execution,
        jit_compile=config.jit_compile,
        fuse_adam=False,
    )
    return model


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
    adds, such as --local-channels or --local-layers, which start as built): its encoder's, decoder's,
    likelihood's and mixture prior's weights (a mixture a source under N(0, I) lacks starts as built); the
    optimizer starts afresh. A ValueError says what differs."""
    if type(model) is not type(source):
        raise ValueError(f"--init-from: it holds a {type(source).__name__}, not the {type(model).__name__} this run trains.")
    for part in ("encoder", "decoder"):
        names = {layer.name for layer in getattr(source, part).layers}  # local layers it lacks keep their start
        ours, theirs = _ordered_weights(getattr(model, part), names.__contains__), _ordered_weights(getattr(source, part))
        mismatch = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a.shape != b.shape),
                        None if len(ours) == len(theirs) else min(len(ours), len(theirs)))
        if mismatch is not None:
            raise ValueError(f"--init-from: its {part} does not fit this run's (weight {mismatch}: "
                             f"{_shape(theirs, mismatch)} there, {_shape(ours, mismatch)} here); give the same "
                             "--architecture, --latent-dim and options.")
        for weight, value in zip(ours, theirs):
            weight.assign(value)
    for name in model.p_x_given_z.variables:
        getattr(model, name).assign(getattr(source, name))
    ours, theirs = getattr(model, "prior", None), getattr(source, "prior", None)
    if isinstance(theirs, MixturePrior):
        if not isinstance(ours, MixturePrior) or ours.components != theirs.components:
            raise ValueError(f"--init-from: its prior is {theirs.description}; give --prior-components "
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
    }


def redraw_figures(run, data=None):
    """Draw a finished run's figures again (after a change to plots.py) from its models, history and test
    set, into its folder; returns their names."""
    x_test, y_test = runs.test_set(run, data)
    history = runs.read_json(Path(run) / runs.HISTORY)
    config = runs.read_config(run)
    figures = plots.run_figures(runs.load_model(run), x_test, y_test, history, config.get("kl_warmup_epochs", 0),
                                runs.validated_on(config))
    runs.save_figures(run, figures)
    return sorted(figures)


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or Inf; the last good checkpoint is kept."""


def train(config, resume=False, force=False):
    """Train a VAE or an autoencoder (config.model) on MNIST and write a run folder (runs.py): the models, history,
    metrics and figures.

    The run is written in <run>.partial, every epoch checkpointed there (resume=True continues from the last),
    and renamed to <run> once complete. A folder that already holds a run is replaced only with force.
    """
    config.check()
    config = dataclasses.replace(config, options=config.architecture_options())
    # Under multi-worker training every worker runs this; only the chief writes the run folder.
    run_dir = config.run_dir() if is_chief() else Path(tempfile.mkdtemp(prefix="keras_vae_worker_")) / "run"
    runs.check_new_run(run_dir, force)
    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    source = runs.load_model(config.init_from) if config.init_from and not resume else None
    (x_train, _), (x_test, y_test) = load_mnist(config.data)
    x_train, x_val = runs.split_validation(x_train, config.validation_images)
    x_test = runs.scored_images(x_test, config.binarize)
    x_val = runs.scored_images(x_val, config.binarize, seed=runs.VALIDATION_SEED)
    strategy = make_strategy(config.strategy)
    work_dir = runs.partial_dir(run_dir)
    checkpoint_dir = work_dir / runs.CHECKPOINT_DIR
    with strategy.scope():
        if resume:
            model, initial_epoch, history, seconds_before = load_checkpoint(checkpoint_dir)
        else:
            model, initial_epoch, history, seconds_before = build_model(config), 0, {}, 0.0
            if source is not None:
                copy_weights(model, source)
            shutil.rmtree(work_dir, ignore_errors=True)
    runs.write_config(work_dir, dataclasses.asdict(config))

    checkpoint = EpochCheckpoint(checkpoint_dir, history, seconds_before)
    train_data = make_dataset(x_train, config.batch_size, shuffle=True, seed=config.seed, binarize=config.binarize)
    test_data = make_dataset(x_test, config.batch_size)
    # Schedules and early stopping watch val_loss: on held-out training images when asked, else on the test set.
    val_data = make_dataset(x_val, config.batch_size) if len(x_val) else test_data
    start = time.perf_counter()
    run = model.fit(
        train_data,
        epochs=config.epochs,
        initial_epoch=initial_epoch,
        validation_data=val_data,
        shuffle=False,
        callbacks=[*config.callbacks(), keras.callbacks.TerminateOnNaN(),
                   keras.callbacks.TensorBoard(work_dir / runs.TENSORBOARD_DIR, write_graph=False),
                   TensorBoardImages(work_dir / runs.TENSORBOARD_DIR), checkpoint],
        verbose=1,
    ).history
    seconds = time.perf_counter() - start
    if not np.isfinite(run.get("loss", [0.0])).all():
        raise TrainingDivergedError(
            f"Training stopped at epoch {initial_epoch + len(run['loss'])}: the loss is not finite. "
            f"The last good checkpoint (epoch {len(checkpoint.history.get('loss', []))}) is in {checkpoint_dir}; "
            "lower --learning-rate and resume with --resume."
        )

    history = checkpoint.history
    runs.save_models(work_dir, model)
    metrics = {
        "final": {name: values[-1] for name, values in history.items()},
        # The weights kept (the best epoch's under early stopping) on the test set.
        "test": model.evaluate(test_data, verbose=0, return_dict=True),
        "epochs": len(history["loss"]),
        # Across the invocations of a resumed run (up to its last checkpoint, then this one's).
        "seconds": round(seconds_before + seconds, 1),
        "samples_per_second": round(len(x_train) * len(history["loss"]) / (seconds_before + seconds), 1),
        "hardware": hardware(),
    }
    figures = plots.run_figures(model, x_test, y_test, history, config.kl_warmup_epochs,
                                runs.validated_on(dataclasses.asdict(config)))
    runs.save_results(work_dir, history, metrics, figures)
    shutil.rmtree(checkpoint_dir)
    runs.publish(work_dir, run_dir)
    return run_dir, metrics
