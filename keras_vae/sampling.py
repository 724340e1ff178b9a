"""New images from a trained model: z drawn from the run's sampling prior (or N(0, I)) and decoded, as an array or
as a folder of PNG files that another model can train on."""
import math
from pathlib import Path

import keras
import numpy as np

from . import loading, runs
from .decoders import num_classes, sample_prior
from .images import IMAGE_SUFFIXES
from .options import Integer, require

BATCH = 256  # images decoded per step of the progress bar


def sample(model=runs.PRETRAINED + runs.DEFAULT_PRETRAINED, n=64, seed=0, prior=None, pixels=False, verbose=0,
           label=None):
    """n new images (float32 in [0, 1], (n, h, w, c)) from `model`: a run folder, a model file or folder,
    `pretrained:<name>`, or a loaded VAE or Autoencoder. `prior`: loading.SAMPLING_PRIORS, unset the run's sampling
    prior where it has one (for a loaded model, its own p(z)); with `pixels`, x ~ p(x|z) rather than the image the
    decoder shows. `verbose` shows a progress bar. `label`, for a conditional model: the class to draw (a run's
    folder name, or its integer), else classes drawn by their share of the training images."""
    decoder, prior = sampler(model, prior)
    return draw(decoder, prior, n, seed, pixels, verbose, class_index(model, decoder, label))


def sampler(model, prior=None):
    """(decoder, p(z) or None for N(0, I)) of a path or of a loaded VAE or Autoencoder (see sample)."""
    if isinstance(model, keras.Model):
        if prior is not None and prior not in loading.SAMPLING_PRIORS:
            raise ValueError(f"`prior` {prior!r} is not one of {', '.join(loading.SAMPLING_PRIORS)}.")
        if prior == "fitted":
            raise ValueError("`prior` fitted: a loaded model holds no sampling prior; give its run's folder.")
        return model.decoder, None if prior == "standard" else getattr(model, "prior", None)
    return loading.load_sampler(model, prior)


def class_names(model):
    """The names of a run's classes (its image folders'), or None (a loaded model, integer labels)."""
    if isinstance(model, keras.Model):
        return None
    path = runs.model_path(model)
    return runs.read_config(path).get("images", {}).get("class_names") if (path / runs.CONFIG).is_file() else None


def class_index(model, decoder, label):
    """The integer class that `label` names for `model`'s conditional `decoder` (a folder name of its run, or the
    integer, as text or number), or None for no label; a ValueError that lists the classes otherwise."""
    if label is None:
        return None
    classes = num_classes(decoder)
    if classes is None:
        raise ValueError(f"`label` {label}: this model is not conditional, so it draws no class (train with "
                         "`conditional` on labelled images).")
    names = class_names(model) or [str(c) for c in range(classes)]
    if str(label) not in names:
        raise ValueError(f"`label` {label!r} is no class of this model; its classes are {', '.join(names)}.")
    return names.index(str(label))


def draw(decoder, prior, n, seed=0, pixels=False, verbose=0, label=None):
    """n images decoded from z ~ `prior` (None: N(0, I)), BATCH at a time (the draws of the first BATCH are
    sample_prior's with `seed`), with a progress bar where `verbose`. A conditional decoder draws the class `label`
    (an integer), else classes by their share of the training images (the prior's p(y); uniform under N(0, I))."""
    require("n", n, Integer(1, 100000))
    labels = None
    if num_classes(decoder) is not None:
        labels = (np.full(n, label) if label is not None else prior.labels(n, seed) if hasattr(prior, "labels")
                  else np.random.default_rng(seed).integers(num_classes(decoder), size=n))
    progress = keras.utils.Progbar(n, verbose=verbose, unit_name="image")
    images = []
    for start in range(0, n, BATCH):
        count = min(BATCH, n - start)
        images.append(sample_prior(decoder, count, seed + start // BATCH, prior, pixels,
                                   None if labels is None else labels[start:start + count]))
        progress.add(count)
    return np.concatenate(images)


def check_image_folder(folder, force=False):
    """Refuse a file, or a folder that already holds images unless forced (before any image is drawn)."""
    folder = Path(folder)
    if folder.is_file():
        raise ValueError(f"`out` {folder} is a file: give a folder for the images.")
    held = [p for p in folder.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES] if folder.is_dir() else []
    if held and not force:
        raise runs.RecordedResultError(f"{folder} already holds {len(held)} image(s): give another `out`, or pass "
                                       "`force` to write over them.")


def write_images(folder, images, force=False):
    """Write images in [0, 1] as 8-bit PNG files 0000.png, 0001.png... into `folder`; a folder that already holds
    images is written into only with force. Returns the paths."""
    check_image_folder(folder, force)
    folder = Path(folder)
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    digits = max(4, math.ceil(math.log10(len(images) + 1)))
    pixels = np.round(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8)
    paths = [folder / f"{i:0{digits}d}.png" for i in range(len(pixels))]
    for path, image in zip(paths, pixels):
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(path)
    return paths
