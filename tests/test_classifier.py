"""The digit classifier that judges decoded samples: its training, its confidence rule, the shipped one's accuracy."""
from pathlib import Path

import keras
import numpy as np
import pytest

from conftest import SMALL_MNIST
from keras_vae import runs
from keras_vae.classifier import build_classifier, judge, load_classifier, train_classifier
from keras_vae.data import load_mnist

FULL_MNIST = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist.npz"


def constant_classifier(top_probability):
    """A classifier that gives digit 0 `top_probability` and shares the rest evenly over the other nine."""
    rest = (1 - top_probability) / 9
    bias = np.log([top_probability, *[rest] * 9])
    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(10, activation="softmax", kernel_initializer="zeros",
                                                bias_initializer=keras.initializers.Constant(bias))])


@pytest.mark.parametrize("top_probability,share", [(0.95, 1.0), (0.85, 0.0)])
def test_an_image_reads_as_a_digit_when_one_class_gets_at_least_0_9(top_probability, share):
    judged = judge(constant_classifier(top_probability), np.zeros((7, 28, 28, 1)))
    assert judged["read_as_digits"] == share
    # One digit for every image: one effective digit, and a score of 1 (p(y|x) is the marginal p(y)).
    assert judged["digit_shares"] == [1.0] + [0.0] * 9
    assert judged["effective_digits"] == pytest.approx(1.0) and judged["classifier_score"] == pytest.approx(1.0)


def test_ten_images_read_as_ten_different_digits_score_ten():
    """A classifier that reads pixel i as digit i, shown ten images each with one of those pixels lit."""
    kernel = np.zeros((784, 10), "float32")
    kernel[np.arange(10), np.arange(10)] = 50.0
    classifier = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                   keras.layers.Dense(10, activation="softmax", kernel_initializer=keras.initializers.Constant(kernel))])
    images = np.zeros((10, 784), "float32")
    images[np.arange(10), np.arange(10)] = 1.0
    judged = judge(classifier, images.reshape(10, 28, 28, 1))
    assert judged["read_as_digits"] == 1.0 and judged["digit_shares"] == [0.1] * 10
    assert judged["effective_digits"] == pytest.approx(10.0) and judged["classifier_score"] == pytest.approx(10.0, rel=1e-6)


def test_training_gives_a_softmax_over_ten_digits_and_its_test_accuracy():
    classifier, metrics = train_classifier(SMALL_MNIST, epochs=1)
    probabilities = classifier.predict(load_mnist(SMALL_MNIST)[1][0][:5], verbose=0)
    assert probabilities.shape == (5, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and metrics["test_images"] == 128 and metrics["epochs"] == 1
    assert build_classifier().count_params() < 50_000  # small: it ships with the package


def test_a_missing_classifier_says_how_to_train_one(tmp_path):
    with pytest.raises(runs.ModelNotFoundError, match="train-classifier"):
        load_classifier(tmp_path)


@pytest.mark.skipif(not FULL_MNIST.is_file(), reason="needs the full MNIST test set in ../shared/data/mnist.npz")
@pytest.mark.slow  # end-to-end: the slow lane
def test_the_shipped_classifier_reads_99_percent_of_the_mnist_test_set_right():
    x_test, y_test = load_mnist(FULL_MNIST)[1]
    predictions = load_classifier().predict(x_test, batch_size=1000, verbose=0).argmax(axis=1)
    assert np.mean(predictions == y_test) >= 0.99
