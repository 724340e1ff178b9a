"""Your own images through every command: a folder of 32x32 color PNGs and an MNIST-format Fashion-MNIST folder."""
import json
import re

import numpy as np
import pytest
import tensorflow as tf
from matplotlib.image import imread

from keras_vae import cli, loading, run_data, runs
from keras_vae.decoders import sample_prior
from keras_vae.losses import MIXTURE_COMPONENTS
from keras_vae.train import OWN_IMAGES
from keras_vae.synthetic import colored_mnist, write_folder
from conftest import tensorboard_events, write_idx


@pytest.fixture(scope="module")
def color_run(tmp_path_factory, mnist_small):
    """A one-epoch discretized-logistic run on a folder of 96 colored-MNIST PNGs, trained by the command line."""
    root = tmp_path_factory.mktemp("own")
    (x, y), _ = mnist_small
    folder = write_folder(root / "colored", colored_mnist(x[:96]), y[:96])
    run = root / "run"
    cli.main(["train", "--data", str(folder), "--channels", "3", "--likelihood", "discretized_logistic", "--epochs",
              "1", "--batch-size", "16", "--latent-dim", "4", "--out", str(run)])
    return run


def test_training_on_a_folder_of_color_pngs_records_what_it_read_and_draws_color_figures(color_run):
    config = json.loads((color_run / "config.json").read_text())
    assert config["data"] == "../colored" and config["channels"] == 3
    assert config["images"]["image_shape"] == [32, 32, 3] and config["images"]["pixels"] == "uint8 / 255"
    assert config["images"]["test"] == "held out: 10 images (0.1 of them, seed 0)"
    assert config["images"]["class_names"] == [str(d) for d in range(10)] and "source" not in config["images"]
    for name in ("reconstructions", "latent_scatter"):  # the test images and the labels' colours, not grey
        figure = imread(color_run / f"{name}.png")[..., :3]
        assert np.abs(figure[..., 0] - figure[..., 2]).max() > 0.1, name
    assert imread(color_run / "samples.png").shape[:2] == (672, 640)
    images = [shape for tag, logged in tensorboard_events(color_run / "tensorboard" / "images").items()
              for _, shape in logged if "prior samples" in tag]
    assert images and all(shape[-1] == 3 or shape == (3,) for shape in images)


def test_sample_reconstruct_export_and_evaluate_work_on_the_color_run(color_run, tmp_path, capsys):
    cli.main(["sample", "--model", str(color_run), "--n", "9", "--out", str(tmp_path / "s.png")])
    cli.main(["reconstruct", "--model", str(color_run), "--n", "4", "--out", str(tmp_path / "r.png")])
    assert imread(tmp_path / "s.png").shape[:2] == (3 * 32 * 5 + 40, 3 * 32 * 5)  # zoom 5: the short side 480
    figure = imread(tmp_path / "r.png")[..., :3]
    assert np.abs(figure[..., 0] - figure[..., 1]).max() > 0.1
    cli.main(["export", "--model", str(color_run), "--out", str(tmp_path / "exported")])
    decoder = tf.saved_model.load(str(tmp_path / "exported" / "decoder")).signatures["serve"]
    encoder = tf.saved_model.load(str(tmp_path / "exported" / "encoder")).signatures["serve"]
    assert decoder(z=tf.zeros((2, 4)))["x"].shape == (2, 32, 32, 3)
    assert encoder(x=tf.zeros((2, 32, 32, 3)))["z_mean"].shape == (2, 4)
    capsys.readouterr()
    cli.main(["evaluate", "--model", str(color_run), "--k", "4", "--n", "5"])
    printed = capsys.readouterr().out
    metrics = json.loads((color_run / "metrics.json").read_text())["evaluation"]
    nll = -metrics["test_log_likelihood"]
    assert metrics["bits_per_dim"] == pytest.approx(nll / (32 * 32 * 3 * np.log(2)))
    assert 0 < metrics["bits_per_dim"] < 10 and f"{metrics['bits_per_dim']:.4f} bits/dim" in printed
    # The bound lies above the NLL that tightens it, in bits/dim as in nats.
    assert metrics["elbo_bits_per_dim"] == pytest.approx(-metrics["test_elbo"] / (32 * 32 * 3 * np.log(2)))
    assert metrics["elbo_bits_per_dim"] >= metrics["bits_per_dim"] - 0.01


def test_an_mnist_format_fashion_folder_trains_with_the_same_commands_as_mnist(tmp_path, mnist_small, capsys):
    (x_train, y_train), (x_test, y_test) = mnist_small  # Fashion-MNIST's files have MNIST's format: stand-ins here
    folder = tmp_path / "fashion"
    folder.mkdir()
    for name, array in (("train-images-idx3-ubyte.gz", 255 - np.round(x_train[:128, ..., 0] * 255)),
                        ("train-labels-idx1-ubyte.gz", y_train[:128]),
                        ("t10k-images-idx3-ubyte.gz", 255 - np.round(x_test[:32, ..., 0] * 255)),
                        ("t10k-labels-idx1-ubyte.gz", y_test[:32])):
        write_idx(folder / name, array)
    run = tmp_path / "run"
    cli.main(["train", "--data", str(folder), "--epochs", "1", "--no-figures", "--out", str(run)])
    assert "Images: " + str(folder) + ", 128 train / 32 test (the source's x_test), 28x28x1" in capsys.readouterr().out
    assert runs.read_json(run / runs.METRICS)["test"]["loss"] > 0
    x, labels = run_data.test_set(run)
    assert x.shape == (32, 28, 28, 1) and x.mean() > 0.5  # the inverted digits, as written
    np.testing.assert_array_equal(labels, y_test[:32])


@pytest.mark.slow  # end-to-end: the slow lane
def test_color_pngs_with_no_other_flag_train_the_own_images_defaults_and_every_command_takes_the_run(
        tmp_path, mnist_small, capsys):
    (x, y), _ = mnist_small
    folder = write_folder(tmp_path / "colored", colored_mnist(x[:64]), y[:64])
    run = tmp_path / "run"
    cli.main(["train", "--data", str(folder), "--epochs", "1", "--out", str(run)])
    said = capsys.readouterr().out
    assert said.splitlines()[1].startswith("Images not MNIST as its loader reads it: training with likelihood "
                                           "discretized_logistic_mixture, architecture resnet_modulated, latent_dim 32, "
                                           "batch_size 8, lr_decay 0.3: ")
    assert said.rstrip().endswith("mixture fitted to the training codes; --prior standard: N(0, I))")
    config = runs.read_config(run)
    assert {name: config[name] for name in OWN_IMAGES} == OWN_IMAGES
    vae = loading.load_model(run)
    assert vae.decoder_logits.output.shape[-1] == MIXTURE_COMPONENTS * 10  # K (1 + 3 means, log-scales, couplings)
    z = np.random.default_rng(0).normal(size=(3, 32)).astype("float32")
    shown = vae.decoder.predict(z, verbose=0)
    assert shown.shape == (3, 32, 32, 3) and 0.0 <= shown.min() and shown.max() <= 1.0
    images = [shape for tag, logged in tensorboard_events(run / "tensorboard" / "images").items()
              for _, shape in logged if "prior samples" in tag]
    assert images and all(shape[-1] == 3 or shape == (3,) for shape in images)

    # sample: the mean, titled so; or 8-bit draws of the pixels
    cli.main(["sample", "--model", str(run), "--n", "4", "--out", str(tmp_path / "mean.png")])
    assert re.search(r"4 samples: E\[x\|z\] = decoder\(z\), z ~ a \d+-component Gaussian mixture fitted to the codes "
                     r"\(seed 0\)", capsys.readouterr().out)
    cli.main(["sample", "--model", str(run), "--n", "4", "--pixels", "--out", str(tmp_path / "drawn.png")])
    assert "x ~ p(x|z), 8-bit draws" in capsys.readouterr().out
    decoder, _ = loading.load_sampler(run)
    drawn = sample_prior(decoder, 4, seed=0, pixels=True)
    assert drawn.shape == (4, 32, 32, 3) and np.allclose(drawn * 255, np.round(drawn * 255), atol=1e-4)
    assert not np.allclose(drawn, sample_prior(decoder, 4, seed=0))  # draws, not the mean
    cli.main(["reconstruct", "--model", str(run), "--n", "4", "--out", str(tmp_path / "r.png")])
    assert "4 test images (top) and E[x|z_mean] = decoder(z_mean) (bottom)" in capsys.readouterr().out
    # export: the SavedModel (and ONNX) decoder returns the image the likelihood shows, its mean
    cli.main(["export", "--model", str(run), "--format", "onnx", "--out", str(tmp_path / "exported")])
    assert (tmp_path / "exported" / "decoder.onnx").is_file() and "onnxruntime against Keras" in capsys.readouterr().out
    served = tf.saved_model.load(str(tmp_path / "exported" / "decoder")).signatures["serve"]
    np.testing.assert_allclose(served(z=tf.constant(z))["x"].numpy(), shown, atol=1e-5)
    capsys.readouterr()
    cli.main(["evaluate", "--model", str(run), "--k", "4", "--n", "4"])
    evaluation = runs.read_json(run / runs.METRICS)["evaluation"]
    # One epoch does not learn the images: the check is that a probability of 8-bit values is scored as one.
    assert evaluation["bits_per_dim"] == pytest.approx(-evaluation["test_log_likelihood"] / (32 * 32 * 3 * np.log(2)))
    assert 0 < evaluation["bits_per_dim"] <= evaluation["elbo_bits_per_dim"] + 0.01
    assert "bits/dim" in capsys.readouterr().out


def test_only_a_mixture_decoder_draws_pixels(capsys):
    with pytest.raises(SystemExit):
        cli.main(["sample", "--model", "pretrained:conv_latent2", "--pixels", "--out", "never.png"])
    assert "error: Only a direct decoder of the discretized_logistic_mixture likelihood draws pixels beside its " \
           "mean; this one shows decoder(z)." in capsys.readouterr().err
