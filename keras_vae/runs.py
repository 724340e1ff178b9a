"""The run folder: what a training run writes, loading a run or one part of it, the test set it is scored
on, where the shipped runs live, and what may be written over.

    <run>/config.json     the options it was trained with; the paths it read (data, init_from) relative to
                          the run folder, a shipped run as pretrained:<name>, never as this machine's absolute path
    <run>/history.json    per-epoch losses
    <run>/metrics.json    final and test losses, speed, hardware; `evaluation` once evaluated
    <run>/vae.keras       the VAE (with optimizer state), or ae.keras for an autoencoder run;
    <run>/encoder.keras, decoder.keras: the parts
    <run>/<figure>.png    the tutorial's figures
    <run>/tensorboard/    TensorBoard logs: train/, validation/ (losses, learning rate, beta), images/
    <run>/saved_model/    encoder/ and decoder/ SavedModels after `export`

Training writes into <run>.partial (with per-epoch checkpoints in <run>.partial/checkpoint, see
checkpoint.py) and renames it to <run> when the run is complete, so a failure never leaves half a run there.
Shipped runs (saved_models/pretrained_*), the shipped digit classifier and recorded results are written
over only with force.
"""
import json
import os
import shutil
import zipfile
from pathlib import Path

import keras

from .data import MNIST_ENV, binarize_images, unit_array
from .images import KERAS_DATASETS, is_mnist, load_images, pixels_of
from .export import is_saved_model, load_saved_model_part
from .autoencoder import Autoencoder
from .model import VAE, AutoencoderBase

CONFIG, HISTORY, METRICS = "config.json", "history.json", "metrics.json"
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
# Binarized runs are scored on one fixed Bernoulli draw of the test set, and watch one of the validation set.
TEST_SEED, VALIDATION_SEED = 0, 1


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


def pretrained(name=DEFAULT_PRETRAINED):
    """A shipped model by name ("conv_latent2", the autoencoder "ae_conv_latent2", the likelihood model "made"),
    from the installed package or the checkout."""
    return load_model(model_path(PRETRAINED + name))


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
                                  "write elsewhere, or add --force.")


def check_new_run(run_dir, force=False):
    """Refuse to train into a folder that holds anything (a finished run, other files) unless forced."""
    check_writable(run_dir, force)
    if Path(run_dir).exists() and any(Path(run_dir).iterdir()) and not force:
        raise RecordedResultError(f"{run_dir} already holds a run: give another --out, or add --force to replace it.")


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


def save_results(run_dir, history, metrics, figures):
    """Write a finished run's history, metrics and figures (name -> matplotlib Figure)."""
    run_dir = Path(run_dir)
    write_json(run_dir / HISTORY, history)
    write_json(run_dir / METRICS, metrics)
    save_figures(run_dir, figures)


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
        return f"Not recorded: {run} is a shipped model (add --force to record in its {METRICS})."
    metrics = read_json(path)
    headline = metrics.get("evaluation")
    key = protocol(evaluation)
    evaluations = {**metrics.get("evaluations", {}), **({protocol(headline): headline} if headline else {}), key: evaluation}
    larger = headline and (headline["k"] > evaluation["k"] or headline["test_images"] > evaluation["test_images"])
    if larger and not force:
        write_json(path, {**metrics, "evaluations": evaluations})
        return (f"Recorded in {path} under evaluations[{key!r}]; the headline evaluation stays the one with more "
                f"samples or images ({protocol(headline)}; --force replaces it).")
    write_json(path, {**metrics, "evaluation": evaluation, "evaluations": evaluations})
    return f"Recorded in {path} as the evaluation ({key})."


def scored_images(x, binarize, seed=TEST_SEED):
    """The images a run is scored on: as they are for a grayscale run, else one fixed Bernoulli draw."""
    return x if binarize == "none" else binarize_images(x, seed=seed)


def split_validation(x_train, n):
    """The training images (an array or an images.ImageSplit) less the last n, and those n as a validation set."""
    if not 0 <= n < len(x_train):
        raise ValueError(f"`validation_images` must be in [0, {len(x_train)}), got {n}.")
    return x_train[:len(x_train) - n], x_train[len(x_train) - n:]


def run_images(run, data=None):
    """The ImageSet of the run at `run`, read as it was (resized and converted to the images its model takes, the same
    held-out split), from the first
    of: `data`; for an MNIST run $KERAS_VAE_MNIST; the run's recorded data where it is on this machine (or a Keras
    data set's name); for an MNIST run the download. The error names each place it tried."""
    config = read_config(run)
    shape = config.get("images", {}).get("image_shape")  # what the run's model takes, whatever the images given
    options = {"image_size": tuple(shape[:2]) if shape else config.get("image_size"),
               "channels": shape[2] if shape else config.get("channels"),
               "test_split": config.get("test_split", 0.1), "seed": config.get("seed") or 0}
    recorded = config.get("data")
    if data or (is_mnist(recorded) and os.environ.get(MNIST_ENV)):
        return load_images(data, **options)
    if recorded and (is_dataset_name(recorded) or recorded_location(recorded, run).exists()):
        return load_images(recorded if is_dataset_name(recorded) else recorded_location(recorded, run), **options)
    missing = [f"the run's recorded data {recorded} is not on this machine"] if recorded else []
    if not is_mnist(recorded):
        raise FileNotFoundError(f"{missing[0]}: give its images as --data.")
    return load_images(None, tried=missing, **options)


def training_images(run, data=None):
    """The images the run at `run` trained on, its validation images held out, as float32 in [0, 1]: a statically
    binarized run's one draw (data.make_dataset's), else as read (a dynamically binarized run saw a fresh draw of
    them each epoch)."""
    config = read_config(run)
    images = run_images(run, data)
    x_train = unit_array(pixels_of(split_validation(images.train, config.get("validation_images", 0))[0],
                                   images.image_shape))
    return binarize_images(x_train, config.get("seed") or 0) if config.get("binarize") == "static" else x_train


def test_set(run, data=None, n=None):
    """The first n (default all) test images, as the run at `run` is scored on them, and their labels (None for
    unlabelled images); the images from where run_images finds them."""
    config = read_config(run)
    x_test, y_test = run_images(run, data).images("test", n)
    return scored_images(x_test, config.get("binarize", "none")), y_test


def load_keras_model(path):
    """keras.models.load_model with safe_mode=True (no Lambda, no pickled code); one clear error otherwise."""
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a Keras model archive (a .keras file is a zip archive): it is truncated, "
                         "or another format.")
    try:
        return keras.models.load_model(path, safe_mode=True)
    except Exception as error:
        raise ValueError(f"{path} could not be loaded as a Keras model: {error}".splitlines()[0]) from error


class ModelNotFoundError(FileNotFoundError):
    """A path holds no model of the kind asked for."""


def load_model(path):
    """The VAE or Autoencoder at `path` (or `pretrained:<name>`): a run folder's vae.keras or ae.keras, or a
    .keras file, else one assembled from the two parts (an Autoencoder where the encoder gives z_mean alone)."""
    path = model_path(path)
    for model_file in ([path / VAE_FILE, path / AE_FILE] if path.is_dir() else [path]):
        if model_file.suffix == ".keras" and model_file.is_file():
            model = load_keras_model(model_file)
            if isinstance(model, AutoencoderBase):
                return model
    encoder, decoder = load_part(path, "encoder"), load_part(path, "decoder")
    return (Autoencoder if len(encoder.outputs) == 1 else VAE)(encoder, decoder)


def load_sampler(path):
    """What draws samples from the model at `path`: its decoder, and its prior p(z) where `path` holds a whole VAE
    (else None, meaning N(0, I): a decoder alone, a SavedModel, an autoencoder)."""
    path = model_path(path)
    whole = path / VAE_FILE if path.is_dir() else path
    if whole.suffix == ".keras" and whole.is_file():
        model = load_keras_model(whole)
        if isinstance(model, VAE):
            return model.decoder, model.prior
    return load_part(path, "decoder"), None


def load_part(path, part):
    """The `encoder` or `decoder` at `path`: a run folder, a <part>.keras or vae.keras file, or a SavedModel folder.

    A VAE's encoder returns [z_mean, z_log_var, z] (from a SavedModel [z_mean, z_log_var]), an autoencoder's z_mean.
    `pretrained:<name>` names a shipped run.
    """
    path = model_path(path)
    if path.is_file() and path.suffix == ".keras":
        candidates = [path] if part in path.stem else [path.with_name(part_file(part)), path]
    elif path.is_file():
        raise ModelNotFoundError(f"{path} is not a model: give a run folder, a .keras file or a SavedModel folder.")
    elif path.is_dir():
        candidates = [path / part_file(part), path / VAE_FILE, path / AE_FILE, path / SAVED_MODEL_DIR / part,
                      path / part, path]
    else:
        raise ModelNotFoundError(f"No model at {path}: give a run folder, a {part_file(part)} file or a SavedModel folder.")
    for candidate in candidates:
        if candidate.suffix == ".keras" and candidate.is_file():
            model = load_keras_model(candidate)
            return getattr(model, part) if isinstance(model, AutoencoderBase) else model
        if candidate.is_dir() and is_saved_model(candidate):
            model = load_saved_model_part(candidate, part)
            if model is not None:
                return model
    raise ModelNotFoundError(f"{path} holds no {part}: expected {part_file(part)} or a {part} SavedModel there.")
