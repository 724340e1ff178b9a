"""Whether generated images look like the data, judged as the field does: a classifier's confidence and class spread
on them, and the Fréchet distance of its features to real test images, each beside real images judged the same way."""
import keras
import numpy as np
from scipy import linalg, ndimage

from . import run_data, runs, sampling
from .data import require_images
from .decoders import num_classes

CONFIDENCE = 0.9  # a sample counts as recognized where the judge gives one class at least this probability


def features_model(classifier):
    """The classifier up to its last layer: the features its verdict is read from (the Fréchet distance's space)."""
    return keras.Model(classifier.inputs, classifier.layers[-1].input, name="judge_features")


def frechet_distance(a, b):
    """The Fréchet distance between Gaussians fitted to two sets of feature vectors (rows): |mu_a - mu_b|^2 +
    tr(C_a + C_b - 2 (C_a C_b)^(1/2)), as FID computes it on Inception features (Heusel et al. 2017)."""
    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    ridge = 1e-6 * np.eye(a.shape[1])  # features that never fire make a covariance singular
    cov_a, cov_b = np.cov(a, rowvar=False) + ridge, np.cov(b, rowvar=False) + ridge
    root = linalg.sqrtm(cov_a @ cov_b)
    return float(np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a + cov_b - 2.0 * np.real(root)))


def judge_images(classifier, images, reference, none_class=None, threshold=CONFIDENCE, label=None):
    """What the classifier makes of `images` against real `reference` images, as a dict:
    - recognized: the share given one of the data's classes with probability at least `threshold`;
    - none: the share whose likeliest class is `none_class` (a class of shapes that are no image of the data), if any;
    - effective_classes: exp(H(mean p)) over the data's classes, from 1 (one class only) to their number;
    - frechet: the Fréchet distance of the classifier's features to those of `reference`;
    - as_label, where `label` is given (a conditional model's samples of that class): the share judged that class."""
    require_images(images, "images")
    require_images(reference, "reference")
    features = features_model(classifier)
    probabilities = classifier.predict(np.asarray(images, "float32"), batch_size=500, verbose=0).astype("float64")
    likeliest = probabilities.argmax(axis=1)
    data_classes = [c for c in range(probabilities.shape[1]) if c != none_class]
    recognized = (probabilities.max(axis=1) >= threshold) & (likeliest != none_class)
    marginal = probabilities[:, data_classes].mean(axis=0)
    marginal = marginal / marginal.sum()
    return {
        **({} if label is None else {"as_label": float(np.mean(likeliest == label))}),
        "recognized": float(recognized.mean()),
        "none": None if none_class is None else float(np.mean(likeliest == none_class)),
        "effective_classes": float(np.exp(-np.sum(marginal * np.log(marginal + 1e-12)))),
        "frechet": frechet_distance(features.predict(np.asarray(images, "float32"), batch_size=500, verbose=0),
                                    features.predict(np.asarray(reference, "float32"), batch_size=500, verbose=0)),
    }


def none_of_the_classes(x, seed=0):
    """Images that are no image of the data but share its colors, one per image of x: half of them the image blurred
    shapeless (a Gaussian of 4 pixels), half random smooth blobs of the color farthest from its border's, on the
    border's color."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x, "float32")
    blurred = ndimage.gaussian_filter(x, sigma=(0, 4, 4, 0))
    noise = ndimage.gaussian_filter(rng.standard_normal(x.shape[:3]), sigma=(0, 3, 3))
    noise /= noise.std(axis=(1, 2), keepdims=True)
    mask = noise > rng.uniform(0.3, 1.2, (len(x), 1, 1))  # blobs over a tenth to a third of the image
    border = np.concatenate([x[:, 0], x[:, -1], x[:, :, 0], x[:, :, -1]], axis=1).mean(axis=1)  # (n, channels)
    flat = x.reshape(len(x), -1, x.shape[-1])
    farthest = flat[np.arange(len(x)), np.abs(flat - border[:, None]).sum(-1).argmax(1)]
    blobs = np.where(mask[..., None], farthest[:, None, None], border[:, None, None])
    return np.where(rng.random(len(x))[:, None, None, None] < 0.5, blurred, blobs).astype("float32")


def build_judge(image_shape, classes):
    """A small convnet over `classes` + 1 outputs, the last "none of the classes"; its Dense 128 gives the features."""
    layers = keras.layers
    return keras.Sequential([
        keras.Input(image_shape),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dropout(0.3), layers.Dense(128, activation="relu", name="features"),
        layers.Dense(classes + 1, activation="softmax"),
    ], name="judge")


def train_judge(x, labels, epochs=6, seed=0, verbose=0):
    """A judge of images like x: a classifier of their labels (0..K-1) and of class K, "none of the classes"
    (none_of_the_classes of the same images), so that a shapeless sample is called none, not a confident digit."""
    require_images(x)
    labels = np.asarray(labels)
    if labels is None or len(labels) != len(x):
        raise ValueError("`labels`: the judge learns the images' classes; give one label per image.")
    classes = int(labels.max()) + 1
    keras.utils.set_random_seed(seed)
    judge = build_judge(x.shape[1:], classes)
    judge.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    inputs = np.concatenate([x, none_of_the_classes(x, seed)])
    targets = np.concatenate([labels, np.full(len(x), classes)])
    judge.fit(inputs, targets, epochs=epochs, batch_size=64, shuffle=True, verbose=verbose)
    return judge


def run_judge(run, data=None, seed=0, verbose=0):
    """The judge of the run at `run`, trained on its labelled training images (train_judge), as a function giving
    judge_images' row for images against half of its test images (the Fréchet distance's reference); and that row
    for the other half, real images judged the same way (the floor)."""
    images = run_data.run_images(run, data)
    x_train, y_train = images.images("train")
    if y_train is None:
        raise ValueError(f"{run}: its images have no labels (subfolders, y_train), so no judge can name their classes.")
    x_test = run_data.scored_test_set(run, images)[0]
    half = len(x_test) // 2
    judge = train_judge(run_data.scored_images(x_train, runs.read_config(runs.model_path(run)).get("binarize", "none")),
                        y_train, seed=seed, verbose=verbose)
    judged = lambda x, label=None: judge_images(judge, x, x_test[:half], none_class=int(y_train.max()) + 1, label=label)
    return judged, judged(x_test[half:])


def judge_run(run, n=400, seed=0, data=None, verbose=0):
    """How much the samples of the run at `run` look like its images, as rows of judge_images (run_judge): real test
    images, n samples from its sampling prior (sampling.sample's default) and, where that is not N(0, I), n from
    N(0, I); for a conditional run, n samples of each class too, with the share judged that class."""
    judged, real = run_judge(run, data, seed, verbose)
    rows = {"real test images": real}
    decoder, prior = sampling.sampler(run)
    rows[f"samples, z ~ {getattr(prior, 'description', 'N(0, I)')}"] = judged(sampling.draw(decoder, prior, n, seed))
    if prior is not None:
        rows["samples, z ~ N(0, I)"] = judged(sampling.draw(decoder, None, n, seed))
    if num_classes(decoder) is not None:
        names = sampling.class_names(run) or [str(label) for label in range(num_classes(decoder))]
        for label, name in enumerate(names):
            rows[f"--label {name}"] = judged(sampling.draw(decoder, prior, n, seed, label=label), label)
    return rows


def format_rows(rows):
    """judge_run's rows as a printed table."""
    width = max(map(len, rows))
    lines = [f"{'':{width}}  recognized (p >= {CONFIDENCE})  none of the classes  effective classes  Fréchet distance"
             "  judged its label"]
    for name, row in rows.items():
        as_label = "" if "as_label" not in row else f"{row['as_label']:>17.2f}"
        lines.append(f"{name:{width}}  {row['recognized']:>24.2f}  {row['none']:>19.2f}  "
                     f"{row['effective_classes']:>17.2f}  {row['frechet']:>16.1f}  {as_label}".rstrip())
    return "\n".join(lines)
