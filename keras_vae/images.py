"""Images from anywhere: a folder of image files, an .npz, MNIST-format IDX files or a named Keras data set, read
into one ImageSet. Pixels stay 8-bit until `to_unit_range`, the one place they are scaled; folders are decoded by
tf.data in parallel and cached, never held twice."""
import dataclasses
import os
import re
from pathlib import Path

import numpy as np
import tensorflow as tf

from .data import MNIST_ENV, PIXELS, idx_file, keras_download, read_arrays, unit_array
from .options import Number, require

KERAS_DATASETS = ("mnist", "fashion_mnist", "cifar10")  # --data <name>: keras.datasets.<name>.load_data()
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
DECODED_FORMATS = {"PNG", "JPEG", "MPO", "BMP", "GIF"}  # what tf.io.decode_image reads, as PIL names them
COLOR_MODES = {"RGB", "RGBA", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV"}  # PIL modes decoded as 3 channels
SHORT_HELP = f"a folder of images, an .npz, a folder of IDX files or one of {', '.join(KERAS_DATASETS)}"
DATA_HELP = ("a folder of images (PNG/JPEG/BMP/GIF; subfolders are labels), an .npz with x_train (x_test, y_train, "
             f"y_test optional), a folder of MNIST-format IDX files, or {', '.join(KERAS_DATASETS)} (downloaded); "
             f"default ${MNIST_ENV}, else the MNIST download")


@dataclasses.dataclass(frozen=True)
class ImageSplit:
    """One split: 8-bit pixels (n, h, w, c) in memory, or image files that tf.data decodes; labels or None."""

    pixels: np.ndarray | None = None
    files: tuple | None = None
    labels: np.ndarray | None = None

    def __len__(self):
        return len(self.files) if self.pixels is None else len(self.pixels)

    def __getitem__(self, part):
        """The images of a slice, with their labels."""
        pick = lambda a: None if a is None else a[part]
        return ImageSplit(pick(self.pixels), pick(self.files), pick(self.labels))


@dataclasses.dataclass(frozen=True)
class ImageSet:
    """A data set's train and test splits, the shape of one image as the model sees it, and `record`: what was
    read and how (source, pixels, the held-out test split, conversions, skipped files), as a run keeps it."""

    train: ImageSplit
    test: ImageSplit
    image_shape: tuple
    record: dict

    def images(self, split, n=None):
        """The first n (default all) images of a split as float32 in [0, 1], and their labels (or None)."""
        part = getattr(self, split)[:n]
        return unit_array(pixels_of(part, self.image_shape)), part.labels


def parse_image_size(text):
    """(height, width) from "H" or "HxW" (the --image-size flag), or None for None; a ValueError otherwise."""
    if text is None or isinstance(text, tuple):
        return text
    match = re.fullmatch(r"\s*(\d+)\s*(?:[xX×]\s*(\d+))?\s*", str(text))
    if not match or not 1 <= int(match[1]) <= 1024 or not 1 <= int(match[2] or match[1]) <= 1024:
        raise ValueError(f"`image_size` must be H or HxW in pixels (1 to 1024), such as 32 or 64x48, got {text!r}.")
    return int(match[1]), int(match[2] or match[1])


def load_images(source=None, image_size=None, channels=None, test_split=0.1, seed=0, tried=()):
    """An ImageSet from `source`: a folder of image files (recursively; subfolders become labels when there are
    any), an .npz with x_train (and optionally x_test, y_train, y_test), a folder of the four MNIST-format IDX files
    (Fashion-MNIST, KMNIST...), or the name of a Keras data set (mnist, fashion_mnist, cifar10: downloaded). None
    means MNIST: $KERAS_VAE_MNIST, else the download (`tried` names places looked in before, for its error).

    image_size ("H", "HxW" or (h, w)) resizes and channels (1 or 3) converts every image; without them the source
    must have one size. A source without a test split has a seeded `test_split` fraction of its images held out.
    """
    size = parse_image_size(image_size)
    if channels is not None and channels not in (1, 3):
        raise ValueError(f"`channels` must be 1 (grayscale) or 3 (color), got {channels!r}.")
    require("test_split", test_split, Number(0.0, inclusive=False, below=1.0))
    source = source or os.environ.get(MNIST_ENV)
    path = Path(source) if source else None
    if source is None:
        arrays, described = keras_download("mnist", tried), "mnist (the Keras download)"
    elif str(source) in KERAS_DATASETS and not path.exists():
        arrays, described = keras_download(str(source)), f"{source} (the Keras download)"
    elif path.is_dir() and idx_file(path, "x_train") is None:
        return _folder(path, size, channels, test_split, seed)
    else:
        arrays, described = read_arrays(path, ["x_train"], f"No data at {path}", f"give {SHORT_HELP}"), str(source)
    return _from_arrays(arrays, described, size, channels, test_split, seed)


def mnist_like(image_shape, files):
    """Whether images are MNIST as its loader reads them: 28x28 grayscale arrays (no `data`, a data set's name, an
    .npz or IDX files), never a folder of image files, whatever its name. Recorded with the images, it picks the
    tutorial's defaults (train.py) and the MNIST fallbacks of a run's data (run_data.py)."""
    return not files and tuple(image_shape) == (28, 28, 1)


def _as_pixels(x, name, source):
    """Images (n, h, w) or (n, h, w, c) as 8-bit (n, h, w, c): uint8 as it is, floats in [0, 1] rounded to 0..255."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or len(x) == 0 or x.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(f"{source}: {name} has shape {x.shape}; expected images (n, height, width) or (n, height, "
                         "width, channels) with 1, 3 (or 2, 4 with alpha) channels.")
    if x.dtype == np.uint8:
        return x
    if np.issubdtype(x.dtype, np.floating) and np.isfinite(x).all() and x.min() >= 0.0 and x.max() <= 1.0:
        return np.round(x * 255.0).astype(np.uint8)
    raise ValueError(f"{source}: {name} has dtype {x.dtype}; give uint8 pixels 0..255 or floats in [0, 1].")


def _labels(y, n, name, source):
    if y is None:
        return None
    y = np.asarray(y).reshape(-1)
    if len(y) != n or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{source}: {name} must be {n} integer labels, got shape {y.shape} and dtype {y.dtype}.")
    return y.astype("int64")


def _held_out(n, test_split, seed):
    """A seeded permutation's (train indices in order, test indices in the permutation's order, so that the first test
    images shown are a mix of the set) with round(n * test_split) test images (at least 1)."""
    if n < 2:
        raise ValueError(f"{n} image(s): at least 2 are needed to hold a test image out.")
    order = np.random.default_rng(seed).permutation(n)
    n_test = min(n - 1, max(1, round(n * test_split)))
    return np.sort(order[n_test:]), order[:n_test]


def _test_record(test_split, seed, n_test):
    return {"test": f"held out: {n_test} images ({test_split:g} of them, seed {seed})"}


def _from_arrays(arrays, source, size, channels, test_split, seed):
    x_train = _as_pixels(arrays["x_train"], "x_train", source)
    y_train = _labels(arrays.get("y_train"), len(x_train), "y_train", source)
    record = {"source": source, "pixels": PIXELS}
    if "x_test" in arrays:
        x_test = _as_pixels(arrays["x_test"], "x_test", source)
        y_test = _labels(arrays.get("y_test"), len(x_test), "y_test", source) if y_train is not None else None
        if x_test.shape[1:] != x_train.shape[1:]:
            raise ValueError(f"{source}: x_train's images are {x_train.shape[1:]} and x_test's {x_test.shape[1:]}.")
        record["test"] = "the source's x_test"
    else:
        train, test = _held_out(len(x_train), test_split, seed)
        x_train, x_test = x_train[train], x_train[test]
        y_train, y_test = (None, None) if y_train is None else (y_train[train], y_train[test])
        record.update(_test_record(test_split, seed, len(x_test)))
    shape = (*(size or x_train.shape[1:3]), _target_channels(channels, x_train.shape[-1]))
    record.update(_conversions(x_train.shape[1:], shape))
    convert = lambda x: np.concatenate([convert_pixels(x[i:i + 4096], shape).numpy() for i in range(0, len(x), 4096)])
    return ImageSet(ImageSplit(convert(x_train), labels=y_train), ImageSplit(convert(x_test), labels=y_test),
                    shape, {**record, "image_shape": list(shape), "train_images": len(x_train),
                            "test_images": len(x_test), "mnist_like": mnist_like(shape, files=False)})


def _target_channels(channels, native):
    """The channel count asked for, else the source's own (alpha dropped: 2 -> 1, 4 -> 3)."""
    return channels or (1 if native <= 2 else 3)


def _conversions(native, shape):
    changes = []
    if tuple(native[:2]) != tuple(shape[:2]):
        changes.append(f"resized to {shape[0]}x{shape[1]} (bilinear, antialiased, rounded to 8 bits)")
    if native[-1] != shape[-1]:
        changes.append(f"{native[-1]} -> {shape[-1]} channel(s)")
    return {"converted": "; ".join(changes)} if changes else {}


def convert_pixels(pixels, image_shape):
    """8-bit images (..., h, w, c) with c of 1 to 4 as 8-bit images of `image_shape`: alpha dropped, grayscale made
    color (repeated) or color grayscale (ITU-R 601 luma), resized with antialiasing and rounded."""
    height, width, channels = image_shape
    pixels = tf.convert_to_tensor(pixels)
    native = tf.shape(pixels)[-1]  # unknown until decoded, for an image file
    rgb = tf.cond(native >= 3, lambda: pixels[..., :3], lambda: tf.repeat(pixels[..., :1], 3, axis=-1))
    # Luma of repeated grayscale is the value itself (the weights sum to 0.9999, rounded back).
    pixels = rgb if channels == 3 else tf.cast(tf.round(tf.image.rgb_to_grayscale(tf.cast(rgb, tf.float32))), tf.uint8)
    resize = lambda: tf.cast(tf.round(tf.clip_by_value(
        tf.image.resize(tf.cast(pixels, tf.float32), (height, width), antialias=True), 0.0, 255.0)), tf.uint8)
    same = tf.reduce_all(tf.equal(tf.shape(pixels)[-3:-1], [height, width]))  # known only once decoded, for a file
    return tf.cond(same, lambda: pixels, resize)


def pixels_of(split, image_shape):
    """A split's 8-bit images as data.make_dataset takes them: its array, or a pipeline decoding its files."""
    return split.pixels if split.pixels is not None else pixel_dataset(split, image_shape)


def pixel_dataset(split, image_shape):
    """A split's 8-bit images of `image_shape`, one element each: from memory, or read and decoded from its files
    in parallel (tf.data), in the split's order."""
    if split.pixels is not None:
        return tf.data.Dataset.from_tensor_slices(split.pixels)
    decode = lambda path: convert_pixels(
        tf.io.decode_image(tf.io.read_file(path), channels=0, expand_animations=False, dtype=tf.uint8), image_shape)
    files = tf.data.Dataset.from_tensor_slices(tf.constant(list(split.files), dtype=tf.string))
    return files.map(lambda path: tf.ensure_shape(decode(path), image_shape), num_parallel_calls=tf.data.AUTOTUNE,
                     deterministic=True)


def _scan(folder):
    """The image files under `folder` (sorted, recursively) with their (size, mode), and the count of files skipped
    as no image: another suffix, or one PIL cannot open."""
    from PIL import Image, UnidentifiedImageError

    found, skipped = [], 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            skipped += 1
            continue
        try:
            with Image.open(path) as image:
                described, readable = (path, image.size[::-1], image.mode), image.format in DECODED_FORMATS
                image.verify()  # a truncated or corrupt file is skipped here, not met mid-epoch
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            readable = False
        if readable:
            found.append(described)
        else:
            skipped += 1
    return found, skipped


def _folder(folder, size, channels, test_split, seed):
    """An ImageSet of the image files under `folder`, labelled by their first subfolder where every file has one."""
    found, skipped = _scan(folder)
    if not found:
        raise ValueError(f"{folder} holds no image files ({', '.join(IMAGE_SUFFIXES)}; {skipped} other file(s) "
                         "skipped): give a folder of images.")
    sizes = sorted({hw for _, hw, _ in found})
    if size is None and len(sizes) > 1:
        (a, b) = sizes[0], sizes[-1]
        raise ValueError(f"{folder} holds images of {len(sizes)} sizes ({a[0]}x{a[1]} ... {b[0]}x{b[1]}): give "
                         f"`image_size` (such as {b[0]}x{b[1]}) to resize them all to one.")
    color = any(mode in COLOR_MODES for _, _, mode in found)
    shape = (*(size or sizes[0]), channels or (3 if color else 1))
    files = np.array([str(path) for path, _, _ in found])
    parts = [path.relative_to(folder).parts for path, _, _ in found]
    class_names = sorted({p[0] for p in parts}) if all(len(p) > 1 for p in parts) else None
    labels = None if class_names is None else np.array([class_names.index(p[0]) for p in parts], dtype="int64")
    train, test = _held_out(len(files), test_split, seed)
    record = {"source": str(folder), "pixels": PIXELS, **_test_record(test_split, seed, len(test)),
              **({"converted": f"resized to {shape[0]}x{shape[1]} where they differ"} if size else {})}
    if skipped:
        record["skipped"] = f"{skipped} file(s) that are not readable PNG, JPEG, BMP or GIF images"
    deep = sum(mode.startswith("I") for _, _, mode in found)
    if deep:
        record["converted"] = "; ".join(filter(None, [record.get("converted"), f"{deep} 16-bit image(s) reduced to 8 bits"]))
    if class_names is not None:
        record["class_names"] = class_names
    pick = lambda index: ImageSplit(files=tuple(files[index]), labels=None if labels is None else labels[index])
    return ImageSet(pick(train), pick(test), shape,
                    {**record, "image_shape": list(shape), "train_images": len(train), "test_images": len(test),
                     "mnist_like": mnist_like(shape, files=True)})
