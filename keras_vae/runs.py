"""The run folder: what a training run writes, loading a run or one part of it, the test set it is scored
on, and where the shipped runs live.

    <run>/config.json     the options it was trained with
    <run>/history.json    per-epoch losses
    <run>/metrics.json    final and test losses, speed, hardware; `evaluation` once evaluated
    <run>/vae.keras       the VAE (with optimizer state); encoder.keras, decoder.keras: the parts
    <run>/<figure>.png    the tutorial's figures
    <run>/checkpoint/     per-epoch checkpoints while training (checkpoint.py)
    <run>/saved_model/    encoder/ and decoder/ SavedModels after `export`
"""
import json
import os
from pathlib import Path

import keras

from .data import binarize_images, load_mnist
from .export import is_saved_model, load_saved_model_part
from .model import VAE

CONFIG, HISTORY, METRICS, VAE_FILE = "config.json", "history.json", "metrics.json", "vae.keras"
CHECKPOINT_DIR, SAVED_MODEL_DIR = "checkpoint", "saved_model"
SHIPPED_MODELS = Path(__file__).resolve().parent.parent / "saved_models"
DEFAULT_MODEL = SHIPPED_MODELS / "pretrained_conv_latent2"
# Binarized runs are scored on one fixed Bernoulli draw of the test set, and watch one of the validation set.
TEST_SEED, VALIDATION_SEED = 0, 1


def part_file(part):
    """The file name of a model part in a run folder: encoder.keras or decoder.keras."""
    return f"{part}.keras"


def write_json(path, payload):
    """Write JSON through a temporary file and a rename, so a crash never leaves half a file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    os.replace(tmp, path)


def read_json(path):
    """The JSON object at `path`, or {} where there is no such file."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else {}


def write_config(run_dir, config):
    """Record the options of a run (a dict) as its config.json."""
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    write_json(Path(run_dir) / CONFIG, config)


def read_config(run):
    """The options a run was trained with ({} for a folder without config.json)."""
    return read_json(Path(run) / CONFIG)


def save_models(run_dir, vae):
    """Write a trained VAE and its two parts as .keras files."""
    run_dir = Path(run_dir)
    vae.save(run_dir / VAE_FILE)
    for part in ("encoder", "decoder"):
        getattr(vae, part).save(run_dir / part_file(part))


def save_results(run_dir, history, metrics, figures):
    """Write a finished run's history, metrics and figures (name -> matplotlib Figure)."""
    run_dir = Path(run_dir)
    write_json(run_dir / HISTORY, history)
    write_json(run_dir / METRICS, metrics)
    for name, figure in figures.items():
        figure.savefig(run_dir / f"{name}.png", dpi=80)


def record_evaluation(run, evaluation):
    """Add an evaluation's results to the run's metrics.json."""
    path = Path(run) / METRICS
    write_json(path, {**read_json(path), "evaluation": evaluation})


def scored_images(x, binarize, seed=TEST_SEED):
    """The images a run is scored on: as they are for a grayscale run, else one fixed Bernoulli draw."""
    return x if binarize == "none" else binarize_images(x, seed=seed)


def test_set(run, data=None, n=None):
    """The first n (default all) test images as the run at `run` is scored on them, from `data` or the run's own."""
    config = read_config(run)
    x_test = load_mnist(data or config.get("data"))[1][0][:n]
    return scored_images(x_test, config.get("binarize", "none"))


def load_keras_model(path):
    """keras.models.load_model with safe_mode=True (no Lambda, no pickled code); one clear error otherwise."""
    try:
        return keras.models.load_model(path, safe_mode=True)
    except Exception as error:
        raise ValueError(f"{path} could not be loaded as a Keras model: {error}".splitlines()[0]) from error


class ModelNotFoundError(FileNotFoundError):
    """A path holds no model of the kind asked for."""


def load_vae(path):
    """The VAE at `path`: a run folder's vae.keras or a .keras file, else one assembled from the two parts."""
    path = Path(path)
    vae_file = path / VAE_FILE if path.is_dir() else path
    if vae_file.suffix == ".keras" and vae_file.is_file():
        model = load_keras_model(vae_file)
        if isinstance(model, VAE):
            return model
    return VAE(load_part(path, "encoder"), load_part(path, "decoder"))


def load_part(path, part):
    """The `encoder` or `decoder` at `path`: a run folder, a <part>.keras or vae.keras file, or a SavedModel folder.

    A SavedModel encoder returns [z_mean, z_log_var]; a .keras encoder [z_mean, z_log_var, z].
    """
    path = Path(path)
    if path.is_file() and path.suffix == ".keras":
        candidates = [path] if part in path.stem else [path.with_name(part_file(part)), path]
    elif path.is_dir():
        candidates = [path / part_file(part), path / VAE_FILE, path / SAVED_MODEL_DIR / part, path / part, path]
    else:
        raise ModelNotFoundError(f"No model at {path}: give a run folder, a {part_file(part)} file or a SavedModel folder.")
    for candidate in candidates:
        if candidate.suffix == ".keras" and candidate.is_file():
            model = load_keras_model(candidate)
            return getattr(model, part) if isinstance(model, VAE) else model
        if candidate.is_dir() and is_saved_model(candidate):
            model = load_saved_model_part(candidate, part)
            if model is not None:
                return model
    raise ModelNotFoundError(f"{path} holds no {part}: expected {part_file(part)} or a {part} SavedModel there.")
