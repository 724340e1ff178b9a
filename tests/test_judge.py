"""The judge of samples: a classifier of the run's classes and of shapeless blobs, its features' Fréchet distance."""
import keras
import numpy as np
import pytest

from keras_vae import cli
from keras_vae.judge import frechet_distance, judge_images, none_of_the_classes, train_judge


def test_the_frechet_distance_is_zero_for_one_set_and_the_squared_shift_of_the_mean():
    a = np.random.default_rng(0).normal(size=(2000, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-4)
    assert frechet_distance(a, a + [2.0, 0.0, 0.0]) == pytest.approx(4.0, abs=1e-3)
    assert frechet_distance(a, 2 * a) == pytest.approx(3 * (2 - 1) ** 2, rel=0.05)  # tr(C + 4C - 2 * 2C) = 3


def fixed_judge(probabilities):
    """A classifier that gives every image the same class probabilities (its features: zeros)."""
    judge = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2),
                              keras.layers.Dense(len(probabilities), activation="softmax")])
    judge.layers[-2].set_weights([np.zeros((16, 2)), np.zeros(2)])
    judge.layers[-1].set_weights([np.zeros((2, len(probabilities))), np.log(probabilities)])
    return judge


def test_a_sample_counts_as_recognized_only_when_a_data_class_gets_at_least_0_9():
    x = np.zeros((5, 4, 4, 1), "float32")
    assert judge_images(fixed_judge([0.95, 0.03, 0.02]), x, x, none_class=2)["recognized"] == 1.0
    sure_none = judge_images(fixed_judge([0.02, 0.03, 0.95]), x, x, none_class=2)
    assert sure_none["recognized"] == 0.0 and sure_none["none"] == 1.0
    spread = judge_images(fixed_judge([0.5, 0.5, 1e-6]), x, x, none_class=2)
    assert spread["recognized"] == 0.0 and spread["effective_classes"] == pytest.approx(2.0, rel=1e-3)


def test_none_of_the_classes_keeps_the_images_colors_and_loses_their_shape(mnist_small):
    x = mnist_small[0][0][:64]
    none = none_of_the_classes(x, seed=1)
    assert none.shape == x.shape and none.min() >= 0.0 and none.max() <= 1.0
    sharpness = lambda images: np.abs(np.diff(images, axis=1)).mean()
    blurred = none[np.abs(none - np.round(none)).mean(axis=(1, 2, 3)) > 0.01]  # the blurred half: no 0/1 pixels
    assert len(blurred) > 10 and sharpness(blurred) < 0.5 * sharpness(x)


def test_a_judge_trained_on_the_images_recognizes_held_out_digits_and_calls_blobs_none(mnist_small):
    (x, y), (x_test, _) = mnist_small
    judge = train_judge(x, y, epochs=6)
    real = judge_images(judge, x_test, x_test[:64], none_class=10)
    blobs = judge_images(judge, none_of_the_classes(x_test, seed=7), x_test[:64], none_class=10)
    assert real["recognized"] > 0.5 and real["none"] < 0.1 and real["effective_classes"] > 8
    assert blobs["none"] > 0.8 and blobs["frechet"] > 5 * real["frechet"]


@pytest.mark.slow  # end-to-end: a judge trained on the run's images, then its samples judged
def test_the_judge_command_prints_the_real_images_beside_the_runs_samples(tiny_runs, capsys):
    cli.main(["judge", "--model", str(tiny_runs / "vae"), "--n", "32"])
    printed = capsys.readouterr().out.splitlines()
    assert "recognized (p >= 0.9)" in printed[-3] and printed[-2].startswith("real test images")
    assert printed[-1].startswith("samples, z ~ N(0, I)")  # a 2-D run samples from N(0, I)
    real, samples = ([float(v) for v in line.split()[-4:]] for line in printed[-2:])
    assert 0.0 <= samples[0] <= 1.0 and samples[3] > real[3]  # the samples lie farther from the test images
