"""Whether generated images look like the data, judged as the field does: a classifier's confidence and class spread
on them, and the Fréchet distance of its features to real test images, each beside real images judged the same way."""
import keras
import numpy as np
from scipy import linalg

from .data import require_images

CONFIDENCE = 0.9  # a sample counts as recognized where the judge gives one class at least this probability


def features_model(classifier):
    """The classifier up to its last layer: the features its verdict is read from (the Fréchet distance's space)."""
    return keras.Model(classifier.inputs, classifier.layers[-1].input, name="judge_features")


def frechet_distance(a, b):
    """The Fréchet distance between Gaussians fitted to two sets of feature vectors (rows): |mu_a - mu_b|^2 +
    tr(C_a + C_b - 2 (C_a C_b)^(1/2)), as FID computes it on Inception features (Heusel et al. 2017)."""
    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b)
    return float(np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a + cov_b - 2.0 * np.real(root)))


def judge_images(classifier, images, reference, none_class=None, threshold=CONFIDENCE):
    """What the classifier makes of `images` against real `reference` images, as a dict:
    - recognized: the share given one of the data's classes with probability at least `threshold`;
    - none: the share whose likeliest class is `none_class` (a class of shapes that are no image of the data), if any;
    - effective_classes: exp(H(mean p)) over the data's classes, from 1 (one class only) to their number;
    - frechet: the Fréchet distance of the classifier's features to those of `reference`."""
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
        "recognized": float(recognized.mean()),
        "none": None if none_class is None else float(np.mean(likeliest == none_class)),
        "effective_classes": float(np.exp(-np.sum(marginal * np.log(marginal + 1e-12)))),
        "frechet": frechet_distance(features.predict(np.asarray(images, "float32"), batch_size=500, verbose=0),
                                    features.predict(np.asarray(reference, "float32"), batch_size=500, verbose=0)),
    }
