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

from . import plots
from .architectures import build_decoder, build_encoder
from .checkpoint import EpochCheckpoint, load_checkpoint, write_json
from .callbacks import KLWarmup, ReduceLROnPlateau
from .data import binarize_images, load_mnist, make_dataset
from .distribute import is_chief, make_strategy
from .inference import latent_dim, reconstruct, sample_prior
from .model import VAE
from .optimizers import FusedAdam


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a run; saved as config.json in the run folder."""

    architecture: str = "conv"
    latent_dim: int = 2
    hidden_dim: int = 500
    epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 1e-3
    beta: float = 1.0
    seed: int = 0
    binarize: str = "none"
    likelihood: str = "bernoulli"
    kl_warmup_epochs: int = 0
    lr_patience: int = 0
    early_stopping_patience: int = 0
    validation_images: int = 0
    steps_per_execution: int = 32
    jit_compile: bool = False
    precision: str = "float32"
    strategy: str = "none"
    data: str | None = None
    out: str | None = None

    def run_dir(self):
        return Path(self.out or f"saved_models/{self.architecture}_latent{self.latent_dim}")

    def architecture_options(self):
        return {"hidden_dim": self.hidden_dim} if self.architecture in ("mlp", "made") else {}

    def callbacks(self):
        """The schedules this config asks for: KL warm-up, learning-rate halving, early stopping.

        The last two watch val_loss only once the warm-up is over, when beta has stopped changing.
        """
        callbacks = []
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


def build_vae(config, optimizer=None):
    """A compiled VAE for the config, its layers computing in `config.precision` (the loss stays float32).

    optimizer: FusedAdam(config.learning_rate) unless given.
    """
    if config.precision not in PRECISIONS:
        raise ValueError(f"Unknown precision {config.precision!r}; choose one of {PRECISIONS}.")
    options = config.architecture_options()
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(config.precision)
    try:
        encoder = build_encoder(config.latent_dim, config.architecture, seed=config.seed, **options)
        decoder = build_decoder(config.latent_dim, config.architecture, **options)
        vae = VAE(encoder, decoder, beta=config.beta, likelihood=config.likelihood)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    # Keras 3.15's multi-step loop fails under MultiWorkerMirroredStrategy ("must feed a value for placeholder").
    steps_per_execution = 1 if config.strategy == "multiworker" else config.steps_per_execution
    vae.compile(  # under mixed_float16, compile wraps the optimizer in a LossScaleOptimizer
        optimizer=optimizer or FusedAdam(config.learning_rate),
        steps_per_execution=steps_per_execution,
        jit_compile=config.jit_compile,
    )
    return vae


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


def save_figures(run_dir, vae, x_test, y_test, history, warmup_epochs=0):
    """The tutorial's figures as PNG files in the run folder."""
    encoder, decoder = vae.encoder, vae.decoder
    z_mean = encoder.predict(x_test, verbose=0)[0]
    figures = {
        "latent_scatter.png": plots.latent_scatter_figure(z_mean, y_test),
        "reconstructions.png": plots.reconstruction_figure(x_test[:10], reconstruct(encoder, decoder, x_test[:10])),
        "samples.png": plots.samples_figure(sample_prior(decoder, 64, seed=0)),
        "history.png": plots.history_figure(history, warmup_epochs),
    }
    if latent_dim(decoder) == 2:  # the tutorial's picture of a 2-D latent space
        figures["manifold.png"] = plots.manifold_figure(decoder, n=20)
    for name, fig in figures.items():
        fig.savefig(run_dir / name, dpi=80)


def split_validation(x_train, n):
    """The training images less the last n, and those n as a validation set."""
    if not 0 <= n < len(x_train):
        raise ValueError(f"validation_images must be in [0, {len(x_train)}), got {n}.")
    return x_train[:len(x_train) - n], x_train[len(x_train) - n:]


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or Inf; the last good checkpoint is kept."""


def train(config, resume=False):
    """Train on MNIST and write vae/encoder/decoder .keras, history, metrics and figures.

    Every epoch is checkpointed in <run>/checkpoint; with resume=True training continues from there.
    """
    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    (x_train, _), (x_test, y_test) = load_mnist(config.data)
    x_train, x_val = split_validation(x_train, config.validation_images)
    if config.binarize != "none":
        x_test = binarize_images(x_test, seed=0)  # the test set is binarized once, with a fixed seed
        x_val = binarize_images(x_val, seed=1)
    strategy = make_strategy(config.strategy)
    # Under multi-worker training every worker runs this; only the chief writes the run folder.
    run_dir = config.run_dir() if is_chief() else Path(tempfile.mkdtemp(prefix="keras_vae_worker_"))
    checkpoint_dir = run_dir / "checkpoint"
    with strategy.scope():
        if resume:
            vae, initial_epoch, history = load_checkpoint(checkpoint_dir)
        else:
            vae, initial_epoch, history = build_vae(config), 0, {}
            shutil.rmtree(checkpoint_dir, ignore_errors=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "config.json", dataclasses.asdict(config))

    checkpoint = EpochCheckpoint(checkpoint_dir, history)
    train_data = make_dataset(x_train, config.batch_size, shuffle=True, seed=config.seed, binarize=config.binarize)
    test_data = make_dataset(x_test, config.batch_size)
    # Schedules and early stopping watch val_loss: on held-out training images when asked, else on the test set.
    val_data = make_dataset(x_val, config.batch_size) if len(x_val) else test_data
    start = time.perf_counter()
    run = vae.fit(
        train_data,
        epochs=config.epochs,
        initial_epoch=initial_epoch,
        validation_data=val_data,
        shuffle=False,
        callbacks=[*config.callbacks(), keras.callbacks.TerminateOnNaN(), checkpoint],
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
    vae.save(run_dir / "vae.keras")
    vae.encoder.save(run_dir / "encoder.keras")
    vae.decoder.save(run_dir / "decoder.keras")
    write_json(run_dir / "history.json", history)
    metrics = {
        "final": {name: values[-1] for name, values in history.items()},
        # The weights kept (the best epoch's under early stopping) on the test set.
        "test": vae.evaluate(test_data, verbose=0, return_dict=True),
        "epochs": len(history["loss"]),
        "seconds": round(seconds, 1),
        "samples_per_second": round(len(x_train) * len(run["loss"]) / seconds, 1),
        "hardware": hardware(),
    }
    write_json(run_dir / "metrics.json", metrics)
    save_figures(run_dir, vae, x_test, y_test, history, config.kl_warmup_epochs)
    shutil.rmtree(checkpoint_dir)
    return run_dir, metrics
