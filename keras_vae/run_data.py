"""The images of a run, found again as it read them: its data, its validation split, its test set as it is scored."""
from .data import binarize_images, unit_array
from .images import load_images, pixels_of
from .runs import is_dataset_name, model_path, read_config, recorded_location

# Binarized runs are scored on one fixed Bernoulli draw of the test set, and watch one of the validation set.
TEST_SEED, VALIDATION_SEED = 0, 1


def scored_images(x, binarize, seed=TEST_SEED):
    """The images a run is scored on: as they are for a grayscale run, else one fixed Bernoulli draw."""
    return x if binarize == "none" else binarize_images(x, seed=seed)


def split_validation(x_train, n):
    """The training images (an array or an images.ImageSplit) less the last n, and those n as a validation set."""
    if not 0 <= n < len(x_train):
        raise ValueError(f"`validation_images` must be in [0, {len(x_train)}), got {n}.")
    return x_train[:len(x_train) - n], x_train[len(x_train) - n:]


def read_mnist(config):
    """Whether a run (its config.json) read MNIST as its loader reads it (images.mnist_like, recorded with its images;
    a run that recorded none read MNIST), so that $KERAS_VAE_MNIST or the download may stand in for its data."""
    return config.get("images", {}).get("mnist_like", True)


def run_images(run, data=None):
    """The ImageSet of the run at `run`, read as it was (resized and converted to the images its model takes, the same
    held-out split), from the first of: `data`; the run's recorded data where it is on this machine (or a Keras data
    set's name); for a run that read MNIST, $KERAS_VAE_MNIST, else the download. The error names each place it
    tried. `run` may be `pretrained:<name>`."""
    run = model_path(run)
    config = read_config(run)
    shape = config.get("images", {}).get("image_shape")  # what the run's model takes, whatever the images given
    options = {"image_size": tuple(shape[:2]) if shape else config.get("image_size"),
               "channels": shape[2] if shape else config.get("channels"),
               "test_split": config.get("test_split", 0.1), "seed": config.get("seed") or 0}
    recorded = config.get("data")
    if data:
        return load_images(data, **options)
    if recorded and (is_dataset_name(recorded) or recorded_location(recorded, run).exists()):
        return load_images(recorded if is_dataset_name(recorded) else recorded_location(recorded, run), **options)
    missing = [f"the run's recorded data {recorded} is not on this machine"] if recorded else []
    if not read_mnist(config):
        raise FileNotFoundError(f"{missing[0]}: give its images as `data`.")
    return load_images(None, tried=missing, **options)


def training_images(run, data=None):
    """The images the run at `run` trained on, its validation images held out, as float32 in [0, 1]: a statically
    binarized run's one draw (data.make_dataset's), else as read (a dynamically binarized run saw a fresh draw of
    them each epoch)."""
    config = read_config(model_path(run))
    images = run_images(run, data)
    x_train = unit_array(pixels_of(split_validation(images.train, config.get("validation_images", 0))[0],
                                   images.image_shape))
    return binarize_images(x_train, config.get("seed") or 0) if config.get("binarize") == "static" else x_train


def test_set(run, data=None, n=None):
    """The first n (default all) test images, as the run at `run` is scored on them, and their labels (None for
    unlabelled images); the images from where run_images finds them."""
    return scored_test_set(run, run_images(run, data), n)


def scored_test_set(run, images, n=None):
    """The first n (default all) test images of `images` (the run's, run_images'), as the run at `run` is scored on
    them, and their labels."""
    x_test, y_test = images.images("test", n)
    return scored_images(x_test, read_config(model_path(run)).get("binarize", "none")), y_test
