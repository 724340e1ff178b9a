"""MNIST from a local file (Keras npz or IDX folder) or the Keras download, and tf.data pipelines."""
import gzip
import os
import zipfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from .options import Integer, require

MNIST_ENV = "KERAS_VAE_MNIST"
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
HOW_TO_POINT = (
    f"give its path (load_mnist(path), `data`), or set {MNIST_ENV} to it: a Keras-format "
    "mnist.npz or a folder holding the four MNIST IDX files (plain or .gz)"
)


class MnistNotFoundError(FileNotFoundError):
    """MNIST could be neither read from a local path nor downloaded."""


def load_mnist(path=None, tried=()):
    """((x_train, y_train), (x_test, y_test)) with images float32 in [0, 1], shape (n, 28, 28, 1).

    Reads `path`, else $KERAS_VAE_MNIST, else keras.datasets.mnist.load_data() (as in Colab); `tried` names the
    places a caller looked in before (a run's recorded data), for the error when the download fails too.
    """
    path = path or os.environ.get(MNIST_ENV)
    if path:
        arrays = _read_local(Path(path))
    else:
        arrays = keras_download("mnist", tried)
    _check_mnist(arrays, path or "the Keras download")
    return (
        (_to_images(arrays["x_train"]), arrays["y_train"].astype("int64")),
        (_to_images(arrays["x_test"]), arrays["y_test"].astype("int64")),
    )


def keras_download(name="mnist", tried=None):
    """The four arrays of the Keras data set `name` from keras.datasets.<name>.load_data() (as in Colab), labels
    flat. Where MNIST is the default (`tried` given: the places looked in before), the error names them and the fix."""
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
    except Exception as error:
        if tried is None:
            raise MnistNotFoundError(f"The Keras download of {name} failed ({error}); download it elsewhere and pass "
                                     "its folder or .npz as `data`.") from error
        looked = ", ".join(["no path given", f"${MNIST_ENV} not set", *tried])
        raise MnistNotFoundError(f"No MNIST ({looked}) and the Keras download failed ({error}); "
                                 f"{HOW_TO_POINT}.") from error
    return {"x_train": x_train, "y_train": y_train.reshape(-1), "x_test": x_test, "y_test": y_test.reshape(-1)}


def _read_local(path):
    return read_arrays(path, IDX_FILES, f"No MNIST file or folder at {path}", HOW_TO_POINT)


def idx_file(folder, key):
    """The IDX file of the array `key` (x_train, ...) in `folder`: plain or .gz, named with - or . before idx; or None."""
    name = IDX_FILES[key]
    for candidate in (name, name + ".gz", name.replace("-idx", ".idx"), name.replace("-idx", ".idx") + ".gz"):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def read_arrays(path, required, nothing_there, advice):
    """The arrays (by their Keras names, x_train...) of an .npz or of a folder of IDX files, refusing in one error
    (`nothing_there` and `advice` in it) a path with nothing, a file that is no .npz, or a source without `required`."""
    if path.is_dir():
        arrays = {key: read_idx(idx_file(path, key)) for key in IDX_FILES if idx_file(path, key)}
        missing = [key for key in required if key not in arrays]
        if missing:
            raise MnistNotFoundError(f"{path} has no {IDX_FILES[missing[0]]} (or {IDX_FILES[missing[0]]}.gz); {advice}.")
        return arrays
    if not path.is_file():
        raise MnistNotFoundError(f"{nothing_there}; {advice}.")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not an .npz archive (it may be truncated, or another format); {advice}.")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in required if key not in npz.files]
            if missing:
                raise ValueError(f"{path} has no array {', '.join(missing)} (it holds {', '.join(npz.files) or 'none'}); "
                                 f"{advice}.")
            return {key: npz[key] for key in IDX_FILES if key in npz.files}
    except (OSError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path} could not be read as an .npz archive ({error}).") from error


def read_idx(path):
    """The array stored in an IDX file (the original MNIST format), gzipped or plain."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as error:
        raise ValueError(f"{path} could not be read ({error}): it may be truncated.") from error
    if len(data) < 4 or data[0:2] != b"\x00\x00" or data[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (its first bytes are {data[:4].hex()}, "
                         "expected 00000803 for images or 00000801 for labels).")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(data) - offset != int(np.prod(shape)):
        raise ValueError(f"{path} holds {len(data) - offset} bytes of data, not {shape}.")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)


def _check_mnist(arrays, source):
    """Raise ValueError naming the array unless each split is (n, 28, 28) uint8 images with n integer labels 0..9."""
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (len(x),) or len(x) == 0:
            raise ValueError(
                f"{source} is not MNIST: x_{split} has shape {x.shape} and y_{split} {y.shape}, "
                "expected (n, 28, 28) images and (n,) labels."
            )
        if x.dtype != np.uint8:
            raise ValueError(f"{source} is not MNIST: x_{split} has dtype {x.dtype}, expected uint8 pixels 0..255.")
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() > 9:
            raise ValueError(f"{source} is not MNIST: y_{split} must hold integer labels 0..9 "
                             f"(dtype {y.dtype}, values {y.min()}..{y.max()}).")


def _to_images(x):
    """uint8 0..255 (n, 28, 28) -> float32 0..1 (n, 28, 28, 1)."""
    return to_unit_range(x[..., None]).numpy()


BINARIZE = ("none", "dynamic", "static")


PIXELS = "uint8 / 255"  # how 8-bit pixels become [0, 1] (to_unit_range), as runs record it


def to_unit_range(pixels):
    """8-bit pixels 0..255 as float32 in [0, 1]: x / 255, the one scaling of every source (PIXELS)."""
    return tf.cast(pixels, tf.float32) / 255.0


def require_images(x, name="x"):
    """Refuse an array of zero images in one sentence (Keras' own error for it is an internal UnboundLocalError);
    returns x. A tf.data.Dataset or None passes as it is."""
    if x is not None and not isinstance(x, tf.data.Dataset) and len(x) == 0:
        raise ValueError(f"`{name}` holds no images: give at least one.")
    return x


def unit_array(x):
    """Images (an array, or a tf.data.Dataset of single images) as one float32 array in [0, 1]."""
    if isinstance(x, tf.data.Dataset):
        batches = list(x.batch(512).map(to_unit_range).as_numpy_iterator())
        return np.concatenate(batches) if batches else np.zeros((0, *x.element_spec.shape), "float32")
    return to_unit_range(x).numpy() if x.dtype == np.uint8 else x


def binarize_images(x, seed=0):
    """One fixed Bernoulli draw of every pixel (pixel value = probability of 1), as float32 0/1."""
    return (np.random.default_rng(seed).uniform(size=x.shape) < x).astype("float32")


def make_dataset(x, batch_size=128, shuffle=False, seed=None, binarize="none", labels=None):
    """A tf.data pipeline of image batches: cached, optionally shuffled each epoch, prefetched.

    x: float images in [0, 1], or 8-bit ones (an array, or a tf.data.Dataset of single images such as
    images.pixel_dataset's from files), scaled per batch after the cache (to_unit_range).
    binarize: "none" (grayscale), "static" (one fixed draw, seeded) or "dynamic" (a fresh Bernoulli
    draw of every pixel each time an image is seen, as in Burda et al. 2015).
    labels: the images' integer classes, for a conditional model: batches are then {"x": images, "y": labels}.
    """
    if binarize not in BINARIZE:
        raise ValueError(f"`binarize` {binarize!r} is not one of {', '.join(BINARIZE)}.")
    require("batch_size", batch_size, Integer(1))
    if binarize == "static":
        x = binarize_images(unit_array(x), seed or 0)
    dataset = x if isinstance(x, tf.data.Dataset) else tf.data.Dataset.from_tensor_slices(x)
    if labels is not None:
        dataset = tf.data.Dataset.zip(dataset, tf.data.Dataset.from_tensor_slices(np.asarray(labels, "int32")))
    on_images = (lambda f: f) if labels is None else (lambda f: lambda images, y, *rest: (f(images, *rest), y))
    dataset = dataset.cache()
    options = tf.data.Options()
    # In-memory data has no files to shard: multi-worker training splits it by element.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = dataset.with_options(options)
    if shuffle:
        size = int(dataset.cardinality()) if isinstance(x, tf.data.Dataset) else len(x)
        dataset = dataset.shuffle(max(size, 1), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    if tf.nest.flatten(dataset.element_spec)[0].dtype == tf.uint8:
        dataset = dataset.map(on_images(to_unit_range), num_parallel_calls=tf.data.AUTOTUNE)
    if binarize == "dynamic":
        # One stateless seed pair per batch, drawn anew on every pass over the data.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        draw = lambda b, s: tf.cast(tf.random.stateless_uniform(tf.shape(b), seed=s) < b, b.dtype)
        dataset = tf.data.Dataset.zip(dataset, seeds).map(
            draw if labels is None else lambda batch, s: (draw(batch[0], s), batch[1]),
            num_parallel_calls=tf.data.AUTOTUNE)
    if labels is not None:
        dataset = dataset.map(lambda images, y: {"x": images, "y": y})
    return dataset.prefetch(tf.data.AUTOTUNE)
