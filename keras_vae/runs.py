"""The run folder: its layout and records, where the shipped runs live, and what may be written over.

    <run>/config.json     the options it was trained with; the paths it read (data, init_from) relative to
                          the run folder, a shipped run as pretrained:<name>, never as this machine's absolute path
    <run>/history.json    per-epoch losses
    <run>/metrics.json    final and test losses, speed, hardware; `evaluation` once evaluated
    <run>/vae.keras       the VAE (with optimizer state), or ae.keras for an autoencoder run;
    <run>/encoder.keras, decoder.keras: the parts
    <run>/sampling_prior.npz  the p(z) `sample` draws from by default: a Gaussian mixture fitted to the training
                          images' codes (a VAE run whose `sampling_prior` is fitted)
    <run>/<figure>.png    the tutorial's figures
    <run>/tensorboard/    TensorBoard logs: train/, validation/ (losses, learning rate, beta), images/
    <run>/saved_model/    encoder/ and decoder/ SavedModels after `export`

Training writes into <run>.partial (with per-epoch checkpoints in <run>.partial/checkpoint, see
checkpoint.py) and renames it to <run> when the run is complete, so a failure never leaves half a run there.
Shipped runs (saved_models/pretrained_*), the shipped digit classifier and recorded results are written
over only with force. Loading a run's models is loading.py's job; finding its images again, run_data.py's.
"""
import json
import os
import shutil
from pathlib import Path

import numpy as np

from .autoencoder import Autoencoder
from .images import KERAS_DATASETS
from .priors import CODES, ClassPriors, MixturePrior

CONFIG, HISTORY, METRICS = "config.json", "history.json", "metrics.json"
SAMPLING_PRIOR = "sampling_prior.npz"
VAE_FILE, AE_FILE = "vae.keras", "ae.keras"  # the whole model of a VAE run, of an autoencoder run
CHECKPOINT_DIR, SAVED_MODEL_DIR, TENSORBOARD_DIR = "checkpoint", "saved_model", "tensorboard"
# The shipped runs saved_models/pretrained_<name>: inside the installed package, else the checkout's.
_PACKAGE_MODELS = Path(__file__).resolve().parent / "saved_models"
SHIPPED_MODELS = _PACKAGE_MODELS if _PACKAGE_MODELS.is_dir() else _PACKAGE_MODELS.parent.parent / "saved_models"
PRETRAINED = "pretrained:"  # --model pretrained:<name> names a shipped run
DEFAULT_PRETRAINED = "conv_latent2"
DEFAULT_MODEL = SHIPPED_MODELS / f"pretrained_{DEFAULT_PRETRAINED}"
# The digit classifier that `compare` asks whether decoded samples look like digits (classifier.py).
CLASSIFIER_DIR = "digit_classifier"
CLASSIFIER = SHIPPED_MODELS / CLASSIFIER_DIR


class ModelNotFoundError(FileNotFoundError):
    """A path holds no model of the kind asked for."""


class RecordedResultError(ValueError):
    """A write would replace a shipped model or a recorded result, and was not forced."""


def pretrained_names():
    """The names of the shipped runs, as `pretrained` takes them."""
    return sorted(p.name.removeprefix("pretrained_") for p in SHIPPED_MODELS.glob("pretrained_*") if p.is_dir())


def model_path(model):
    """The path a --model value names: `pretrained:<name>` is a shipped run, anything else a path."""
    if not str(model).startswith(PRETRAINED):
        return Path(model)
    name = str(model)[len(PRETRAINED):]
    if name not in pretrained_names():
        raise ModelNotFoundError(f"No pretrained model {name!r}: the shipped ones are "
                                 f"{', '.join(PRETRAINED + n for n in pretrained_names()) or 'none'} (the likelihood "
                                 "chain's earlier steps are rows of docs/likelihood.md, not shipped).")
    return SHIPPED_MODELS / f"pretrained_{name}"


def partial_dir(run_dir):
    """Where a run is trained before it is complete: <run>.partial, beside the run folder."""
    run_dir = Path(run_dir)
    return run_dir.with_name(run_dir.name + ".partial")


def saved_model_dir(model):
    """Where `export` writes by default: <run>/saved_model, beside a .keras file given instead of a run."""
    model = Path(model)
    return (model.parent if model.is_file() else model) / SAVED_MODEL_DIR


def shipped_model(path):
    """The shipped run (saved_models/pretrained_*) or classifier that `path` is in or is, or None."""
    try:
        relative = Path(path).resolve().relative_to(SHIPPED_MODELS.resolve())
    except ValueError:
        return None
    shipped = relative.parts and (relative.parts[0].startswith("pretrained_") or relative.parts[0] == CLASSIFIER_DIR)
    return SHIPPED_MODELS / relative.parts[0] if shipped else None


def check_writable(path, force=False):
    """Refuse to write at `path` inside a shipped run unless forced."""
    shipped = shipped_model(path)
    if shipped is not None and not force:
        raise RecordedResultError(f"{path} is in the shipped model {shipped}, which commands leave as shipped: "
                                  "write elsewhere, or pass `force`.")


def check_new_run(run_dir, force=False):
    """Refuse to train into a folder that holds anything (a finished run, other files) unless forced."""
    check_writable(run_dir, force)
    if Path(run_dir).exists() and any(Path(run_dir).iterdir()) and not force:
        raise RecordedResultError(f"{run_dir} already holds a run: give another `out`, or pass `force` to replace it.")


def publish(partial, run_dir):
    """Move a complete run from its partial folder to `run_dir`, replacing what was there (already allowed)."""
    run_dir = Path(run_dir)
    replaced = run_dir.with_name(run_dir.name + ".replaced")
    if run_dir.exists():
        os.replace(run_dir, replaced)
    os.replace(partial, run_dir)
    shutil.rmtree(replaced, ignore_errors=True)


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


def recorded_path(path, run_dir):
    """How a run folder records a path it read: a shipped run as `pretrained:<name>`, anything else relative to
    the run folder, so that no file of it holds an absolute path of the machine that made it."""
    if str(path).startswith(PRETRAINED) or is_dataset_name(path):
        return str(path)
    shipped = shipped_model(path)
    if shipped is not None and shipped.name.startswith("pretrained_") and Path(path).resolve() == shipped.resolve():
        return PRETRAINED + shipped.name.removeprefix("pretrained_")
    return os.path.relpath(Path(path).absolute(), Path(run_dir).absolute())


def is_dataset_name(data):
    """Whether a --data value names a Keras data set (downloaded) rather than a path."""
    return str(data) in KERAS_DATASETS and not Path(str(data)).exists()


def recorded_location(recorded, run_dir):
    """The path a run folder's recorded path (recorded_path's) names on this machine."""
    return model_path(recorded) if str(recorded).startswith(PRETRAINED) else Path(run_dir) / recorded


PATH_OPTIONS = ("data", "init_from")  # the options of a run that name paths


def write_config(run_dir, config):
    """Record the options of a run (a dict, its paths as given) as its config.json: the paths as recorded_path
    gives them, and no `out`, which the folder itself is."""
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    paths = {name: recorded_path(config[name], run_dir) for name in PATH_OPTIONS if config.get(name)}
    write_json(Path(run_dir) / CONFIG, {k: v for k, v in {**config, **paths}.items() if k != "out"})


def read_config(run):
    """The options a run was trained with ({} for a folder without config.json), its paths as recorded."""
    return read_json(Path(run) / CONFIG)


def config_as_given(run):
    """read_config with the paths that exist on this machine as paths from here (to record a run's options in
    another run folder); a path that does not is left out."""
    config = read_config(run)
    for name in PATH_OPTIONS:
        if config.get(name) and not str(config[name]).startswith(PRETRAINED) and not is_dataset_name(config[name]):
            location = recorded_location(config[name], run)
            config[name] = str(location) if location.exists() else None
    return config


def validated_on(config):
    """What a run's val_ losses were measured on: its held-out training images, or, when it held none out and
    trained on all of them, the test set (train.py)."""
    return "validation" if config.get("validation_images", 0) else "test"


def model_file(model):
    """The file name of a run's whole model: vae.keras, or ae.keras for an Autoencoder."""
    return AE_FILE if isinstance(model, Autoencoder) else VAE_FILE


def save_models(run_dir, model):
    """Write a trained VAE or Autoencoder and its two parts as .keras files."""
    run_dir = Path(run_dir)
    model.save(run_dir / model_file(model))
    for part in ("encoder", "decoder"):
        getattr(model, part).save(run_dir / part_file(part))


def save_sampling_prior(run_dir, prior):
    """Write the mixture prior that sampling draws from (its means, log-variances and logits), or a conditional
    run's ClassPriors (each class's as class<y>_means..., and the classes' frequencies)."""
    if isinstance(prior, ClassPriors):
        arrays = {f"class{label}_{w.name}": np.asarray(w.numpy())
                  for label, each in enumerate(prior.priors) for w in each.weights}
        np.savez(Path(run_dir) / SAMPLING_PRIOR, frequencies=prior.frequencies, **arrays)
    else:
        np.savez(Path(run_dir) / SAMPLING_PRIOR, **{w.name: np.asarray(w.numpy()) for w in prior.weights})


def _mixture(arrays, prefix="", name="sampling_prior"):
    means = arrays[f"{prefix}means"]
    prior = MixturePrior(means.shape[1], means.shape[0], fitted_to=CODES, name=name)
    for weight in prior.weights:
        weight.assign(arrays[prefix + weight.name])
    return prior


def read_sampling_prior(run_dir):
    """The run's sampling prior (a MixturePrior, or a conditional run's ClassPriors), or None where it has none."""
    path = Path(run_dir) / SAMPLING_PRIOR
    if not path.is_file():
        return None
    with np.load(path) as arrays:
        if "frequencies" not in arrays.files:
            return _mixture(arrays)
        frequencies = arrays["frequencies"]
        return ClassPriors([_mixture(arrays, f"class{label}_", f"sampling_prior_{label}")
                            for label in range(len(frequencies))], frequencies)


def save_results(run_dir, history, metrics):
    """Write a finished run's history and metrics."""
    write_json(Path(run_dir) / HISTORY, history)
    write_json(Path(run_dir) / METRICS, metrics)


def save_figures(run_dir, figures):
    """Write a run's figures (name -> matplotlib Figure) as <name>.png."""
    for name, figure in figures.items():
        figure.savefig(Path(run_dir) / f"{name}.png", dpi=80)


def protocol(evaluation):
    """The key an estimate is kept under: its k, number of images, test-set binarization and seed."""
    return (f"k={evaluation['k']} images={evaluation['test_images']} "
            f"binarize={evaluation.get('binarize', 'none')} seed={evaluation.get('seed', 0)}")


def record_evaluation(run, evaluation, force=False):
    """Keep an evaluation in the run's metrics.json under its protocol (`evaluations`), and as the headline
    `evaluation` unless that one used more samples or images (then only with force). Returns what it did,
    in a sentence. A shipped run is not written without force."""
    path = Path(run) / METRICS
    if shipped_model(path) is not None and not force:
        return f"Not recorded: {run} is a shipped model (pass `force` to record in its {METRICS})."
    metrics = read_json(path)
    headline = metrics.get("evaluation")
    key = protocol(evaluation)
    evaluations = {**metrics.get("evaluations", {}), **({protocol(headline): headline} if headline else {}), key: evaluation}
    larger = headline and (headline["k"] > evaluation["k"] or headline["test_images"] > evaluation["test_images"])
    if larger and not force:
        write_json(path, {**metrics, "evaluations": evaluations})
        return (f"Recorded in {path} under evaluations[{key!r}]; the headline evaluation stays the one with more "
                f"samples or images ({protocol(headline)}; `force` replaces it).")
    write_json(path, {**metrics, "evaluation": evaluation, "evaluations": evaluations})
    return f"Recorded in {path} as the evaluation ({key})."
