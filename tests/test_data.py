import gzip

import keras
import numpy as np
import pytest

from keras_vae import load_mnist
from keras_vae.data import IDX_FILES, MNIST_ENV, MnistNotFoundError, make_dataset, read_idx
from conftest import SMALL_MNIST


def write_idx(path, array, gz=False):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    opener = gzip.open if gz else open
    with opener(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_npz_loads_as_float_images_in_unit_range_with_labels():
    (x_train, y_train), (x_test, y_test) = load_mnist(SMALL_MNIST)
    raw = np.load(SMALL_MNIST)
    assert x_train.shape == (512, 28, 28, 1) and x_test.shape == (128, 28, 28, 1)
    assert x_train.dtype == np.float32 and x_train.min() == 0.0 and x_train.max() == 1.0
    np.testing.assert_allclose(x_test[..., 0] * 255.0, raw["x_test"], atol=1e-4)
    np.testing.assert_array_equal(y_train, raw["y_train"])


@pytest.mark.parametrize("gz", [False, True])
def test_a_folder_of_idx_files_loads_the_same_arrays_as_the_npz(tmp_path, gz):
    raw = np.load(SMALL_MNIST)
    for key, name in IDX_FILES.items():
        write_idx(tmp_path / (name + (".gz" if gz else "")), raw[key], gz=gz)
    from_idx, from_npz = load_mnist(tmp_path), load_mnist(SMALL_MNIST)
    for a, b in zip(from_idx, from_npz):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def test_the_environment_variable_names_the_file(monkeypatch):
    monkeypatch.setenv(MNIST_ENV, str(SMALL_MNIST))
    assert load_mnist()[0][0].shape == (512, 28, 28, 1)


def test_without_path_or_download_the_error_says_how_to_point_at_a_local_file(monkeypatch):
    monkeypatch.delenv(MNIST_ENV, raising=False)

    def offline():
        raise OSError("no network")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(MnistNotFoundError, match=f"no network.*{MNIST_ENV}.*mnist.npz"):
        load_mnist()


def test_a_missing_path_and_a_file_that_is_not_mnist_are_named_in_the_error(tmp_path):
    with pytest.raises(MnistNotFoundError, match="No MNIST file or folder at"):
        load_mnist(tmp_path / "nowhere.npz")
    np.savez(tmp_path / "cifar.npz", x_train=np.zeros((4, 32, 32, 3), np.uint8), y_train=np.zeros(4),
             x_test=np.zeros((4, 32, 32, 3), np.uint8), y_test=np.zeros(4))
    with pytest.raises(ValueError, match="is not MNIST.*expected \\(n, 28, 28\\)"):
        load_mnist(tmp_path / "cifar.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="is not an .npz archive"):
        load_mnist(tmp_path / "text.npz")


def test_read_idx_refuses_a_truncated_file(tmp_path):
    write_idx(tmp_path / "images", np.zeros((3, 28, 28), np.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "images").read_bytes()[:-10])
    assert read_idx(tmp_path / "images").shape == (3, 28, 28)
    with pytest.raises(ValueError, match="bytes of data"):
        read_idx(tmp_path / "short")


def test_make_dataset_batches_every_image_once_per_epoch(mnist_small):
    x = mnist_small[1][0]
    batches = list(make_dataset(x, batch_size=50, shuffle=True, seed=0).as_numpy_iterator())
    assert [len(b) for b in batches] == [50, 50, 28]
    np.testing.assert_allclose(np.sort(np.concatenate(batches).sum(axis=(1, 2, 3))), np.sort(x.sum(axis=(1, 2, 3))), rtol=1e-6)


def test_static_binarization_is_one_seeded_bernoulli_draw(mnist_small):
    from keras_vae.data import binarize_images

    x = mnist_small[1][0]
    a, b, c = binarize_images(x, seed=0), binarize_images(x, seed=0), binarize_images(x, seed=1)
    assert set(np.unique(a)) == {0.0, 1.0} and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    assert a.mean() == pytest.approx(x.mean(), abs=0.01)


def test_dynamic_binarization_draws_afresh_each_epoch_with_the_pixel_as_probability():
    x = np.full((4, 28, 28, 1), 0.3, "float32")
    dataset = make_dataset(x, batch_size=4, binarize="dynamic", seed=0)
    draws = np.stack([next(iter(dataset)).numpy() for _ in range(50)])
    assert set(np.unique(draws)) == {0.0, 1.0}
    assert (draws[0] != draws[1]).any()
    assert draws.mean() == pytest.approx(0.3, abs=0.01)  # 156,800 Bernoulli(0.3) draws


def test_make_dataset_refuses_an_unknown_binarization(mnist_small):
    with pytest.raises(ValueError, match="is not one of none, dynamic, static"):
        make_dataset(mnist_small[1][0], binarize="otsu")
