"""The run folder: one rule for the test set a run is scored on, recorded results kept, runs loaded by path."""
import json
import shutil
import zipfile

import keras
import numpy as np
import pytest

from keras_vae import VAE, build_decoder, build_encoder, loading, run_data, runs
from keras_vae.loading import load_part
from keras_vae.data import MNIST_ENV, binarize_images
from keras_vae.synthetic import SHAPES, shapes, write_folder
from conftest import SMALL_MNIST


def test_a_binarized_run_is_scored_on_one_fixed_draw_of_the_test_set(mnist_small, tmp_path):
    x_test = mnist_small[1][0]
    assert run_data.scored_images(x_test, "none") is x_test
    first, again = run_data.scored_images(x_test, "dynamic"), run_data.scored_images(x_test, "static")
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, binarize_images(x_test, seed=0))
    assert not np.array_equal(first, run_data.scored_images(x_test, "dynamic", seed=run_data.VALIDATION_SEED))
    runs.write_config(tmp_path, {"data": str(SMALL_MNIST), "binarize": "dynamic"})
    # The first n images of the run's own data, drawn as the whole test set is drawn.
    x, y = run_data.test_set(tmp_path, n=16)
    np.testing.assert_array_equal(x, first[:16])
    np.testing.assert_array_equal(y, mnist_small[1][1][:16])


def test_recording_an_evaluation_keeps_the_rest_of_the_metrics(tmp_path):
    runs.write_json(tmp_path / runs.METRICS, {"final": {"loss": 1.5}, "epochs": 3})
    evaluation = {"k": 10, "test_images": 16, "binarize": "dynamic", "seed": 0, "test_elbo": -90.0}
    runs.record_evaluation(tmp_path, evaluation)
    assert json.loads((tmp_path / runs.METRICS).read_text()) == {
        "final": {"loss": 1.5}, "epochs": 3, "evaluation": evaluation,
        "evaluations": {"k=10 images=16 binarize=dynamic seed=0": evaluation}}
    assert not list(tmp_path.glob("*.tmp"))


def test_a_vae_is_assembled_from_its_parts_where_a_run_has_no_vae_file(tmp_path):
    vae = VAE(build_encoder(2, "mlp", hidden_dim=8, seed=0), build_decoder(2, "mlp", hidden_dim=8))
    vae.encoder.save(tmp_path / runs.part_file("encoder"))
    vae.decoder.save(tmp_path / runs.part_file("decoder"))
    loaded = loading.load_model(tmp_path)
    z = np.zeros((1, 2), "float32")
    np.testing.assert_allclose(loaded.decoder.predict(z, verbose=0), vae.decoder.predict(z, verbose=0))
    assert isinstance(loaded, VAE) and not (tmp_path / runs.VAE_FILE).exists()


def test_the_default_model_is_a_shipped_run():
    assert runs.DEFAULT_MODEL.parent == runs.SHIPPED_MODELS
    assert (runs.DEFAULT_MODEL / runs.part_file("decoder")).is_file()


def test_a_model_file_with_a_lambda_layer_is_refused_by_the_cli_loader(tmp_path):
    z = keras.Input((2,))
    x = keras.layers.Lambda(lambda t: t * 2.0)(z)
    x = keras.layers.Reshape((28, 28, 1))(keras.layers.Dense(784)(x))
    keras.Model(z, keras.layers.Activation("sigmoid")(x)).save(tmp_path / "decoder.keras")
    with pytest.raises(ValueError, match="could not be loaded.*(safe_mode|Lambda)"):
        load_part(tmp_path, "decoder")


def test_a_corrupted_model_file_gives_one_clear_error(tmp_path):
    (tmp_path / "decoder.keras").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="decoder.keras is not a Keras model archive .*truncated"):
        load_part(tmp_path, "decoder")
    with zipfile.ZipFile(tmp_path / "encoder.keras", "w") as z:
        z.writestr("config.json", "{")
    with pytest.raises(ValueError, match="encoder.keras could not be loaded as a Keras model"):
        load_part(tmp_path, "encoder")


def test_an_estimate_with_fewer_samples_or_images_never_replaces_the_headline_without_force(tmp_path):
    full = {"k": 5000, "test_images": 10000, "binarize": "dynamic", "seed": 0, "test_log_likelihood": -83.3}
    quick = {**full, "k": 100, "test_images": 100, "test_log_likelihood": -84.9}
    runs.record_evaluation(tmp_path, full)
    note = runs.record_evaluation(tmp_path, quick)
    metrics = json.loads((tmp_path / runs.METRICS).read_text())
    assert metrics["evaluation"] == full and "stays the one with more samples or images" in note
    assert metrics["evaluations"] == {"k=5000 images=10000 binarize=dynamic seed=0": full,
                                      "k=100 images=100 binarize=dynamic seed=0": quick}
    runs.record_evaluation(tmp_path, quick, force=True)
    assert json.loads((tmp_path / runs.METRICS).read_text())["evaluation"] == quick


def test_shipped_models_are_read_only_unless_forced(tmp_path):
    shipped = runs.SHIPPED_MODELS / "pretrained_conv_latent2"
    before = (shipped / runs.METRICS).read_bytes()
    note = runs.record_evaluation(shipped, {"k": 1, "test_images": 1, "test_log_likelihood": 0.0})
    assert note.startswith("Not recorded") and (shipped / runs.METRICS).read_bytes() == before
    for path in (shipped, shipped / runs.SAVED_MODEL_DIR):
        with pytest.raises(runs.RecordedResultError, match="shipped model"):
            runs.check_writable(path)
    runs.check_writable(tmp_path)
    assert runs.shipped_model(runs.SHIPPED_MODELS / "conv_latent2") is None


def test_a_run_is_published_whole_from_its_partial_folder(tmp_path):
    run = tmp_path / "run"
    partial = runs.partial_dir(run)
    assert partial == tmp_path / "run.partial"
    partial.mkdir()
    (partial / runs.METRICS).write_text("{}")
    runs.check_new_run(run)  # nothing there yet
    runs.publish(partial, run)
    assert (run / runs.METRICS).is_file() and not partial.exists()
    with pytest.raises(runs.RecordedResultError, match="already holds a run.*`force`"):
        runs.check_new_run(run)
    runs.check_new_run(run, force=True)


ROOT = runs.SHIPPED_MODELS.parent


def test_no_tracked_json_or_notebook_holds_an_absolute_path_of_a_machine():
    import re
    import subprocess

    tracked = subprocess.run(["git", "ls-files", "*.json", "*.ipynb"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    assert len(tracked) > 10
    absolute = re.compile(r'"(/(?:work|root|home|tmp|Users|usr|opt|mnt|var)/[^"]*|[A-Za-z]:\\\\[^"]*)"')
    found = {name: absolute.findall((ROOT / name).read_text()) for name in tracked}
    assert {name: paths for name, paths in found.items() if paths} == {}


def test_a_run_records_the_paths_it_read_relative_to_its_folder_and_shipped_runs_by_name(tmp_path):
    run = tmp_path / "runs" / "mine"
    runs.write_config(run, {"data": str(SMALL_MNIST), "init_from": str(runs.DEFAULT_MODEL), "out": str(run)})
    config = json.loads((run / "config.json").read_text())
    assert config["init_from"] == "pretrained:conv_latent2" and "out" not in config
    assert not config["data"].startswith("/") and (run / config["data"]).resolve() == SMALL_MNIST.resolve()
    # Recorded again in another run folder (fit-prior), the data path is rebased onto that folder.
    other = tmp_path / "elsewhere" / "deeper" / "fitted"
    runs.write_config(other, runs.config_as_given(run))
    assert (other / runs.read_config(other)["data"]).resolve() == SMALL_MNIST.resolve()


def offline(monkeypatch):
    """keras.datasets.mnist.load_data fails, as on a machine without the network; $KERAS_VAE_MNIST unset."""
    def download():
        raise OSError("no network")

    monkeypatch.delenv(MNIST_ENV, raising=False)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", download)


def test_mnist_comes_from_data_then_the_runs_recorded_data_then_the_environment_then_the_download(
        tmp_path, monkeypatch):
    offline(monkeypatch)
    small = tmp_path / "small.npz"
    with np.load(SMALL_MNIST) as npz:
        np.savez(small, **{key: npz[key][:100] for key in npz.files})
    run = tmp_path / "run"
    runs.write_config(run, {"data": str(SMALL_MNIST)})
    assert len(run_data.run_images(run).test) == 128  # the run's recorded data
    monkeypatch.setenv(MNIST_ENV, str(small))
    assert len(run_data.run_images(run).test) == 128  # the run's record outranks the environment
    assert len(run_data.run_images(run, data=small).test) == 100  # `data` outranks both
    # A run trained on another machine: its recorded data is not here, the environment says where MNIST is.
    moved = tmp_path / "moved"
    moved.mkdir()
    runs.write_json(moved / "config.json", {"data": "../../no/such/mnist.npz"})
    assert len(run_data.run_images(moved).test) == 100
    monkeypatch.delenv(MNIST_ENV)
    with pytest.raises(FileNotFoundError, match=r"no path given, \$KERAS_VAE_MNIST not set, the run's recorded data "
                                                r"\.\./\.\./no/such/mnist\.npz is not on this machine\) and the Keras "
                                                r"download failed \(no network\)"):
        run_data.run_images(moved)


def test_a_run_of_other_images_reads_its_own_folder_and_says_to_give_data_where_it_is_gone(tmp_path, monkeypatch):
    offline(monkeypatch)
    folder = write_folder(tmp_path / "shapes", *shapes(20), names=SHAPES)
    run = tmp_path / "run"
    runs.write_config(run, {"data": str(folder), "image_size": "16", "channels": 3, "test_split": 0.25, "seed": 1,
                            "images": {"mnist_like": False}})  # as train records a folder of image files
    monkeypatch.setenv(MNIST_ENV, str(SMALL_MNIST))  # MNIST's place does not stand in for another data set
    images = run_data.run_images(run)
    assert images.image_shape == (16, 16, 3) and (len(images.train), len(images.test)) == (15, 5)
    x, labels = run_data.test_set(run)
    assert x.shape == (5, 16, 16, 3) and x.dtype == np.float32 and set(labels) <= {0, 1, 2}
    np.testing.assert_array_equal(x, run_data.test_set(run)[0])  # the same held-out images every time
    shutil.rmtree(folder)
    with pytest.raises(FileNotFoundError, match=r"the run's recorded data \.\./shapes is not on this machine: give its "
                                                r"images as `data`"):
        run_data.run_images(run)


def test_the_shipped_set_is_the_few_models_a_user_calls_by_name_and_fits_a_small_wheel():
    assert runs.pretrained_names() == ["ae_conv_latent2", "conv_latent2", "made"]
    assert (runs.CLASSIFIER / "classifier.keras").is_file()
    import tomllib
    from fnmatch import fnmatch

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "keras_vae.saved_models"]
    packaged = [path for path in runs.SHIPPED_MODELS.rglob("*") if path.is_file()
                and any(fnmatch(path.relative_to(runs.SHIPPED_MODELS).as_posix(), pattern) for pattern in patterns)]
    assert sum(path.stat().st_size for path in packaged) < 25e6  # the wheel compresses them further


def test_a_model_name_that_is_not_shipped_gives_one_line_naming_the_shipped_ones():
    with pytest.raises(runs.ModelNotFoundError) as error:
        runs.model_path("pretrained:made_latent32")
    message = str(error.value)
    assert "\n" not in message and "'made_latent32'" in message
    assert all(f"pretrained:{name}" in message for name in runs.pretrained_names())


def test_only_a_run_that_read_mnist_as_its_loader_reads_it_falls_back_to_the_mnist_environment(tmp_path, monkeypatch):
    offline(monkeypatch)
    monkeypatch.setenv(MNIST_ENV, str(SMALL_MNIST))
    for mnist_like in (True, False):
        run = tmp_path / f"run_{mnist_like}"
        runs.write_config(run, {"data": "../gone/mnist_colored", "images": {"mnist_like": mnist_like}})
        if mnist_like:
            assert len(run_data.run_images(run).test) == 128  # $KERAS_VAE_MNIST stands in for the missing MNIST
        else:  # a folder named mnist_colored is no MNIST: the environment does not stand in for it
            with pytest.raises(FileNotFoundError, match="give its images as `data`"):
                run_data.run_images(run)
