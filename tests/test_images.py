"""Images from anywhere: folders, .npz, IDX files and Keras data sets read into one ImageSet, 8-bit until scaled once."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_vae.synthetic import colored_mnist, write_folder
from keras_vae.data import make_dataset
from keras_vae.images import convert_pixels, load_images, parse_image_size, pixels_of
from conftest import write_idx


def color_images(n, size=(32, 32), seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, *size, 3), dtype=np.uint8)


def test_a_folder_of_color_pngs_reads_exactly_with_labels_from_subfolders_and_a_seeded_held_out_test_split(tmp_path):
    images, labels = color_images(40), np.arange(40) % 2
    folder = write_folder(tmp_path / "pictures", images, labels, names=("cats", "dogs"))
    data = load_images(folder, test_split=0.25, seed=3)
    assert data.image_shape == (32, 32, 3) and (len(data.train), len(data.test)) == (30, 10)
    assert data.record["class_names"] == ["cats", "dogs"] and data.record["pixels"] == "uint8 / 255"
    assert data.record["test"] == "held out: 10 images (0.25 of them, seed 3)"
    x_test, y_test = data.images("test")
    # Each held-out image is a written one, pixel for pixel, scaled by 255 once; its label is its subfolder's.
    index = [int(path.rsplit("/", 1)[-1][:-4]) for path in data.test.files]
    np.testing.assert_array_equal(x_test, images[index].astype("float32") / 255.0)
    np.testing.assert_array_equal(y_test, labels[index])
    again = load_images(folder, test_split=0.25, seed=3)
    assert again.test.files == data.test.files and load_images(folder, test_split=0.25, seed=4).test.files != data.test.files


def test_the_file_pipeline_feeds_training_the_same_batches_as_the_array_it_was_written_from(tmp_path):
    images = color_images(24)
    folder = write_folder(tmp_path / "flat", images)
    data = load_images(folder, test_split=0.5)
    order = [int(path.rsplit("/", 1)[-1][:-4]) for path in data.train.files]
    from_files = make_dataset(pixels_of(data.train, data.image_shape), batch_size=5, shuffle=True, seed=1)
    from_memory = make_dataset(images[order].astype("float32") / 255.0, batch_size=5, shuffle=True, seed=1)
    for a, b in zip(from_files, from_memory):
        assert a.dtype == tf.float32
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_other_files_and_broken_images_are_skipped_and_counted(tmp_path):
    folder = write_folder(tmp_path / "mixed", color_images(6))
    (folder / "notes.txt").write_text("not an image")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30)
    (folder / "fake.jpg").write_text("hello")
    data = load_images(folder, test_split=0.5)
    assert len(data.train) + len(data.test) == 6
    assert data.record["skipped"] == "3 file(s) that are not readable PNG, JPEG, BMP or GIF images"


def test_palette_16_bit_grayscale_alpha_and_other_formats_decode_as_8_bit_pixels(tmp_path):
    rgb = color_images(1, (8, 8))[0]
    folder = tmp_path / "formats"
    folder.mkdir()
    Image.fromarray(rgb).convert("P").save(folder / "a_palette.png")
    Image.fromarray(rgb).convert("RGBA").save(folder / "b_alpha.png")
    Image.fromarray(rgb).save(folder / "c.bmp")
    Image.fromarray(rgb).save(folder / "d.gif")
    deep = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000)
    Image.fromarray(deep).save(folder / "e_16bit.png")
    data = load_images(folder, test_split=0.2)
    assert data.image_shape == (8, 8, 3) and "1 16-bit image(s) reduced to 8 bits" in data.record["converted"]
    x = {path.rsplit("/", 1)[-1]: image for path, image in
         zip(data.train.files + data.test.files, np.concatenate([data.images("train")[0], data.images("test")[0]]))}
    palette = np.asarray(Image.open(folder / "a_palette.png").convert("RGB"))
    np.testing.assert_array_equal(np.round(x["a_palette.png"] * 255), palette)
    np.testing.assert_array_equal(np.round(x["b_alpha.png"] * 255), rgb)  # alpha dropped
    np.testing.assert_array_equal(np.round(x["c.bmp"] * 255), rgb)
    np.testing.assert_allclose(x["e_16bit.png"][..., 0] * 255, deep / 257, atol=1.0)  # 16 -> 8 bits
    np.testing.assert_array_equal(x["e_16bit.png"][..., 0], x["e_16bit.png"][..., 2])  # gray repeated as color


def test_channels_convert_gray_to_color_by_repeating_and_color_to_gray_by_luma():
    gray = np.arange(0, 256, dtype=np.uint8).reshape(1, 16, 16, 1)
    np.testing.assert_array_equal(convert_pixels(gray, (16, 16, 3)).numpy(), np.repeat(gray, 3, axis=-1))
    np.testing.assert_array_equal(convert_pixels(gray, (16, 16, 1)).numpy(), gray)
    color = color_images(2, (4, 4))
    luma = np.round(color @ np.array([0.2989, 0.5870, 0.1140]))[..., None]
    np.testing.assert_allclose(convert_pixels(color, (4, 4, 1)).numpy(), luma, atol=1)
    resized = convert_pixels(color, (8, 6, 3)).numpy()
    assert resized.shape == (2, 8, 6, 3) and resized.dtype == np.uint8


def test_mixed_sizes_need_an_image_size_which_resizes_them_all(tmp_path):
    folder = tmp_path / "sizes"
    write_folder(folder / "small", color_images(3, (20, 20)))
    write_folder(folder / "large", color_images(3, (40, 36)))
    with pytest.raises(ValueError, match=r"holds images of 2 sizes \(20x20 \.\.\. 40x36\): give `image_size` \(such as "
                                         r"40x36\) to resize them all to one"):
        load_images(folder)
    data = load_images(folder, image_size="32", channels=1, test_split=0.5)
    assert data.image_shape == (32, 32, 1) and data.images("train")[0].shape == (3, 32, 32, 1)


@pytest.mark.parametrize("text, size", [("32", (32, 32)), ("64x48", (64, 48)), (" 28 X 28 ", (28, 28)), (None, None)])
def test_image_size_reads_h_or_hxw(text, size):
    assert parse_image_size(text) == size


@pytest.mark.parametrize("text", ["0", "32x", "big", "2000", "-4"])
def test_image_size_refuses_anything_else_in_one_line(text):
    with pytest.raises(ValueError, match=r"`image_size` must be H or HxW in pixels \(1 to 1024\)"):
        parse_image_size(text)


def test_bad_sources_get_one_line_naming_the_fix(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.md").write_text("no images")
    with pytest.raises(ValueError, match=r"empty holds no image files .*1 other file\(s\) skipped"):
        load_images(tmp_path / "empty")
    np.savez(tmp_path / "labels_only.npz", y_train=np.arange(3))
    with pytest.raises(ValueError, match=r"has no array x_train \(it holds y_train\)"):
        load_images(tmp_path / "labels_only.npz")
    np.savez(tmp_path / "deep.npz", x_train=np.zeros((4, 8, 8), np.uint16))
    with pytest.raises(ValueError, match=r"x_train has dtype uint16; give uint8 pixels 0\.\.255 or floats in \[0, 1\]"):
        load_images(tmp_path / "deep.npz")
    with pytest.raises(ValueError, match=r"`channels` must be 1 \(grayscale\) or 3 \(color\), got 4"):
        load_images(tmp_path / "deep.npz", channels=4)
    with pytest.raises(FileNotFoundError, match=r"No data at .*nowhere"):
        load_images(tmp_path / "nowhere")


def test_an_npz_without_a_test_split_has_one_held_out_and_float_pixels_are_rounded_to_8_bits(tmp_path):
    x = np.random.default_rng(0).uniform(size=(50, 12, 12)).astype("float32")
    np.savez(tmp_path / "floats.npz", x_train=x, y_train=np.arange(50) % 5)
    data = load_images(tmp_path / "floats.npz", test_split=0.2)
    assert data.image_shape == (12, 12, 1) and (len(data.train), len(data.test)) == (40, 10)
    x_train, y_train = data.images("train")
    assert np.abs(x_train - np.round(x_train * 255) / 255).max() < 1e-6 and set(y_train) <= set(range(5))


def test_an_mnist_format_idx_folder_of_another_data_set_reads_with_its_labels_and_test_split(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "fashion"
    folder.mkdir()
    for name, array in (("train-images-idx3-ubyte.gz", rng.integers(0, 256, (30, 28, 28))),
                        ("train-labels-idx1-ubyte.gz", np.arange(30) % 10),
                        ("t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (10, 28, 28))),
                        ("t10k-labels-idx1-ubyte.gz", np.arange(10) % 10)):
        write_idx(folder / name, array)
    data = load_images(folder)
    assert data.image_shape == (28, 28, 1) and (len(data.train), len(data.test)) == (30, 10)
    assert data.record["test"] == "the source's x_test"
    np.testing.assert_array_equal(data.images("test")[1], np.arange(10) % 10)


def test_a_keras_data_set_by_name_is_downloaded_and_a_failed_download_says_what_to_do(monkeypatch):
    rng = np.random.default_rng(0)
    arrays = ((rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8), np.arange(6)[:, None]),
              (rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8), np.arange(2)[:, None]))
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", lambda: arrays)
    data = load_images("cifar10")
    assert data.image_shape == (32, 32, 3) and data.record["source"] == "cifar10 (the Keras download)"
    np.testing.assert_array_equal(data.images("test")[1], [0, 1])

    def offline():
        raise OSError("no network")

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", offline)
    with pytest.raises(FileNotFoundError, match=r"The Keras download of fashion_mnist failed \(no network\); download "
                                                r"it elsewhere and pass its folder or \.npz as `data`"):
        load_images("fashion_mnist")


def test_colored_mnist_keeps_each_digit_and_colors_it(mnist_small):
    x = mnist_small[0][0][:8]
    colored = colored_mnist(x)
    assert colored.shape == (8, 32, 32, 3) and colored.dtype == np.uint8
    gray = colored.astype("float32").mean(axis=-1)[:, 2:30, 2:30]
    for strokes, image in zip(x[..., 0], gray):  # the strokes stay where they were, brighter than the background
        assert np.corrcoef(strokes.ravel(), image.ravel())[0, 1] > 0.9
    assert np.ptp(colored.reshape(8, -1, 3).mean(axis=1), axis=0).min() > 10  # the colors differ between digits
