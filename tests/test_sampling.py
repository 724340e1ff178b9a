"""New images from a run: its fitted sampling prior by default, N(0, I) one argument away, a folder of PNGs."""
import json

import numpy as np
import pytest
from PIL import Image

import keras_vae
from keras_vae import cli, loading, runs, sampling
from keras_vae.priors import MixturePrior
from conftest import SMALL_MNIST, train_tiny


@pytest.fixture(scope="module")
def fitted_run(tmp_path_factory):
    """A 1-epoch mlp run with a 4-D z on the fixture MNIST: its sampling prior is fitted by default."""
    return train_tiny(tmp_path_factory.mktemp("sampling") / "run", "--latent-dim", 4, "--epochs", 1, "--no-figures",
                      "--sampling-components", 8)


def test_a_run_with_more_than_two_latent_dims_fits_its_sampling_prior_to_the_training_codes(fitted_run):
    config, metrics = runs.read_config(fitted_run), runs.read_json(fitted_run / runs.METRICS)
    assert config["sampling_prior"] == "fitted" and metrics["sampling_prior"]["components"] == 8
    assert metrics["sampling_prior"]["codes"] == 2 * 512  # two draws of z per training image
    fit = metrics["sampling_prior"]["mean_log_prior"]
    assert fit["fitted"] > fit["model_prior"]  # the codes are likelier under the mixture fitted to them
    prior = runs.read_sampling_prior(fitted_run)
    assert isinstance(prior, MixturePrior) and prior.components == 8 and "fitted to" in prior.description


def test_sample_draws_from_the_fitted_prior_by_default_and_from_n01_when_asked(fitted_run):
    decoder, prior = loading.load_sampler(fitted_run)
    fitted = runs.read_sampling_prior(fitted_run)
    z = fitted.sample(6, seed=3)
    np.testing.assert_allclose(keras_vae.sample(fitted_run, 6, seed=3), decoder.predict(z, verbose=0), atol=1e-6)
    standard = keras_vae.sample(fitted_run, 6, seed=3, prior="standard")
    z0 = np.random.default_rng(3).standard_normal((6, 4)).astype("float32")
    np.testing.assert_allclose(standard, decoder.predict(z0, verbose=0), atol=1e-6)
    assert loading.load_sampler(fitted_run, "model")[1].description == "N(0, I)"
    with pytest.raises(ValueError, match="`prior` 'uniform' is not one of fitted, model, standard"):
        keras_vae.sample(fitted_run, 2, prior="uniform")


def test_the_tutorials_2d_model_and_the_autoencoder_keep_drawing_from_n01(tiny_runs):
    for run in (tiny_runs / "vae", tiny_runs / "ae"):
        assert runs.read_config(run)["sampling_prior"] == "standard" and runs.read_sampling_prior(run) is None
    with pytest.raises(ValueError, match="`prior` fitted: .* holds no sampling prior"):
        loading.load_sampler(tiny_runs / "vae", "fitted")
    np.testing.assert_array_equal(keras_vae.sample("pretrained:conv_latent2", 4, seed=1),
                                  keras_vae.sample("pretrained:conv_latent2", 4, seed=1, prior="standard"))


def test_sample_out_a_folder_writes_one_png_per_image_and_refuses_to_write_over_images(fitted_run, tmp_path, capsys):
    out = tmp_path / "samples"
    cli.main(["sample", "--model", str(fitted_run), "--n", "300", "--seed", "2", "--out", str(out)])
    said = capsys.readouterr().out
    assert "Wrote 300 images" in said and "z ~ a 8-component Gaussian mixture fitted to the codes" in said
    files = sorted(out.glob("*.png"))
    assert [f.name for f in files[:2]] == ["0000.png", "0001.png"] and len(files) == 300
    drawn = keras_vae.sample(fitted_run, 300, seed=2)  # the same draws, as an array
    for i in (0, 299):
        written = np.asarray(Image.open(files[i]), dtype="float32")[..., None] / 255
        np.testing.assert_allclose(written, drawn[i], atol=0.5 / 255 + 1e-6)
    with pytest.raises(SystemExit):
        cli.main(["sample", "--model", str(fitted_run), "--n", "2", "--out", str(out)])
    assert capsys.readouterr().err.strip() == (f"error: {out} already holds 300 image(s): give another --out, or pass "
                                               "--force to write over them.")
    cli.main(["sample", "--model", str(fitted_run), "--n", "2", "--out", str(out), "--force"])
    assert len(list(out.glob("*.png"))) == 300  # written over, the others left


def test_the_explorers_prior_samples_come_from_the_runs_sampling_prior(fitted_run, tiny_runs):
    from keras_vae.latent import latent_space

    assert "fitted to the codes" in latent_space(fitted_run, n=16).prior.description
    assert latent_space(tiny_runs / "vae", n=16).prior.description == "N(0, I)"  # a 2-D run: its own N(0, I)
