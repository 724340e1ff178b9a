"""The training command: data -> model -> fit -> a self-describing run folder."""
import dataclasses
import json
import os
import platform
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from . import plots
from .architectures import build_decoder, build_encoder
from .data import load_mnist, make_dataset
from .inference import reconstruct, sample_prior
from .model import VAE


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
    data: str | None = None
    out: str | None = None

    def run_dir(self):
        return Path(self.out or f"saved_models/{self.architecture}_latent{self.latent_dim}")

    def architecture_options(self):
        return {"hidden_dim": self.hidden_dim} if self.architecture == "mlp" else {}


def build_vae(config):
    """A compiled VAE for the config."""
    options = config.architecture_options()
    encoder = build_encoder(config.latent_dim, config.architecture, seed=config.seed, **options)
    decoder = build_decoder(config.latent_dim, config.architecture, **options)
    vae = VAE(encoder, decoder, beta=config.beta)
    vae.compile(optimizer=keras.optimizers.Adam(config.learning_rate))
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


def write_json(path, payload):
    """Write JSON through a temporary file and a rename, so a crash never leaves half a file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    os.replace(tmp, path)


def save_figures(run_dir, vae, x_test, y_test, history):
    """The tutorial's figures as PNG files in the run folder."""
    encoder, decoder = vae.encoder, vae.decoder
    z_mean = encoder.predict(x_test, verbose=0)[0]
    figures = {
        "latent_scatter.png": plots.latent_scatter_figure(z_mean, y_test),
        "reconstructions.png": plots.reconstruction_figure(x_test[:10], reconstruct(encoder, decoder, x_test[:10])),
        "samples.png": plots.samples_figure(sample_prior(decoder, 64, seed=0)),
        "history.png": plots.history_figure(history),
    }
    if decoder.input_shape[-1] >= 2:
        figures["manifold.png"] = plots.manifold_figure(decoder, n=20)
    for name, fig in figures.items():
        fig.savefig(run_dir / name, dpi=80)


def train(config):
    """Train on MNIST and write vae/encoder/decoder .keras, history, metrics and figures."""
    keras.utils.set_random_seed(config.seed)
    (x_train, _), (x_test, y_test) = load_mnist(config.data)
    run_dir = config.run_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "config.json", dataclasses.asdict(config))

    vae = build_vae(config)
    train_data = make_dataset(x_train, config.batch_size, shuffle=True, seed=config.seed)
    val_data = make_dataset(x_test, config.batch_size)
    start = time.perf_counter()
    history = vae.fit(train_data, epochs=config.epochs, validation_data=val_data, shuffle=False, verbose=1).history
    seconds = time.perf_counter() - start

    vae.save(run_dir / "vae.keras")
    vae.encoder.save(run_dir / "encoder.keras")
    vae.decoder.save(run_dir / "decoder.keras")
    write_json(run_dir / "history.json", history)
    metrics = {
        "final": {name: values[-1] for name, values in history.items()},
        "epochs": len(history["loss"]),
        "seconds": round(seconds, 1),
        "samples_per_second": round(len(x_train) * len(history["loss"]) / seconds, 1),
        "hardware": hardware(),
    }
    write_json(run_dir / "metrics.json", metrics)
    save_figures(run_dir, vae, x_test, y_test, history)
    return run_dir, metrics
