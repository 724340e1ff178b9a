"""A small CNN digit classifier: the judge of whether decoded samples look like digits (compare.py).

Trained once by `python -m keras_vae train-classifier` and shipped in saved_models/digit_classifier.
"""
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from . import loading, run_data, runs
from .data import load_mnist, require_images

CLASSIFIER_FILE = "classifier.keras"
CONFIDENCE = 0.9  # a sample "reads as a digit" when the classifier gives one class at least this probability


def build_classifier(image_shape=(28, 28, 1)):
    """Keras' MNIST convnet example: two 3x3 convolutions with max pooling, dropout, softmax over 10 digits."""
    return keras.Sequential([
        keras.Input(shape=image_shape),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ], name="digit_classifier")


def _training_data(x, y, batch_size, seed):
    """Shuffled batches in which each image is, at random, grayscale or a fresh Bernoulli draw of its pixels, so
    that the classifier reads both the grayscale means a decoder shows and the binary digits an autoregressive
    one draws."""
    def maybe_binarize(image, label):
        binary = tf.cast(tf.random.uniform(tf.shape(image)) < image, image.dtype)
        return tf.where(tf.random.uniform(()) < 0.5, binary, image), label
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).cache().shuffle(len(x), seed=seed)
    return dataset.map(maybe_binarize, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def train_classifier(data=None, epochs=15, batch_size=128, seed=0):
    """(classifier, metrics): the classifier trained on MNIST's training set, and its test accuracy."""
    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = load_mnist(data)
    classifier = build_classifier(x_train.shape[1:])
    classifier.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    classifier.fit(_training_data(x_train, y_train, batch_size, seed), epochs=epochs, shuffle=False, verbose=2)
    seconds = time.perf_counter() - start
    test = classifier.evaluate(x_test, y_test, batch_size=500, verbose=0, return_dict=True)
    binary_test = classifier.evaluate(run_data.scored_images(x_test, "static"), y_test, batch_size=500, verbose=0,
                                      return_dict=True)
    metrics = {"test_accuracy": test["accuracy"], "binarized_test_accuracy": binary_test["accuracy"],
               "test_images": len(x_test), "epochs": epochs, "seconds": round(seconds, 1), "data": data}
    return classifier, metrics


def save_classifier(out, classifier, metrics):
    """Write the classifier and its metrics.json (its data path relative to `out`) into the folder `out`."""
    Path(out).mkdir(parents=True, exist_ok=True)
    classifier.save(Path(out) / CLASSIFIER_FILE)
    data = metrics.get("data")
    runs.write_json(Path(out) / runs.METRICS, {**metrics, "data": data and runs.recorded_path(data, out)})


def load_classifier(path=runs.CLASSIFIER):
    """The classifier in the folder (or .keras file) `path`; by default the shipped one."""
    path = Path(path)
    path = path / CLASSIFIER_FILE if path.is_dir() else path
    if not path.is_file():
        raise runs.ModelNotFoundError(f"No digit classifier at {path}: train one with "
                                      "train_classifier, or `python -m keras_vae train-classifier`.")
    return loading.load_keras_model(path)


def judge(classifier, images, threshold=CONFIDENCE):
    """What the classifier makes of `images`, as a dict:
    - read_as_digits: the share to which it gives one digit a probability of at least `threshold`;
    - digit_shares: the share it labels as each digit 0..9 (its most probable class);
    - effective_digits: exp(entropy of digit_shares), from 1 (one digit only) to 10 (all ten equally often);
    - classifier_score: exp(E_x KL(p(y|x) || p(y))), the Inception score with a digit classifier (Salimans et
      al. 2016): high only when images are both read with confidence and spread over the digits (at most 10).
    """
    require_images(images, "images")
    probabilities = classifier.predict(np.asarray(images, dtype="float32"), batch_size=500, verbose=0).astype("float64")
    shares = np.bincount(probabilities.argmax(axis=1), minlength=10) / len(probabilities)
    marginal = probabilities.mean(axis=0)
    kl = np.sum(probabilities * (np.log(probabilities + 1e-12) - np.log(marginal + 1e-12)), axis=1)
    return {
        "read_as_digits": float(np.mean(probabilities.max(axis=1) >= threshold)),
        "digit_shares": shares.round(4).tolist(),
        "effective_digits": float(np.exp(-np.sum(shares[shares > 0] * np.log(shares[shares > 0])))),
        "classifier_score": float(np.exp(kl.mean())),
    }
