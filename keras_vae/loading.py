"""Loading a model from any path a user gives: a run folder, a .keras file, a SavedModel folder, or
`pretrained:<name>` for a shipped run."""
import zipfile

import keras

from .autoencoder import Autoencoder
from .export import is_saved_model, load_saved_model_part
from .model import VAE, AutoencoderBase
from .runs import (AE_FILE, DEFAULT_PRETRAINED, PRETRAINED, SAVED_MODEL_DIR, VAE_FILE, ModelNotFoundError, model_path,
                   part_file, read_sampling_prior)


def pretrained(name=DEFAULT_PRETRAINED):
    """A shipped model by name ("conv_latent2", the autoencoder "ae_conv_latent2", the likelihood model "made"),
    from the installed package or the checkout."""
    return load_model(model_path(PRETRAINED + name))


def load_keras_model(path):
    """keras.models.load_model with safe_mode=True (no Lambda, no pickled code); one clear error otherwise."""
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a Keras model archive (a .keras file is a zip archive): it is truncated, "
                         "or another format.")
    try:
        return keras.models.load_model(path, safe_mode=True)
    except Exception as error:
        raise ValueError(f"{path} could not be loaded as a Keras model: {error}".splitlines()[0]) from error


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


SAMPLING_PRIORS = {"fitted": "the run's sampling prior, a mixture fitted to its training images' codes",
                   "model": "the model's own p(z)", "standard": "N(0, I)"}


def load_sampler(path, prior=None):
    """What draws samples from the model at `path`: its decoder, and the p(z) to draw z from (None: N(0, I)).
    `prior` (SAMPLING_PRIORS) picks it; unset, a run's fitted sampling prior where it has one, else the model's own
    p(z) where `path` holds a whole VAE, else N(0, I) (a decoder alone, a SavedModel, an autoencoder)."""
    if prior is not None and prior not in SAMPLING_PRIORS:
        raise ValueError(f"`prior` {prior!r} is not one of {', '.join(SAMPLING_PRIORS)}.")
    path = model_path(path)
    fitted = read_sampling_prior(path) if path.is_dir() else None
    if prior == "fitted" and fitted is None:
        raise ValueError(f"`prior` fitted: {path} holds no sampling prior (a run trained with `sampling_prior` fitted "
                         "has one); give `prior` model or standard.")
    whole = path / VAE_FILE if path.is_dir() else path
    model = load_keras_model(whole) if whole.suffix == ".keras" and whole.is_file() else None
    decoder = model.decoder if model is not None else load_part(path, "decoder")
    if prior == "standard" or not isinstance(model, VAE):
        return decoder, None
    return decoder, fitted if prior in (None, "fitted") and fitted is not None else model.prior


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
