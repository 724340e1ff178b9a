"""The conditional VAE: q(z|x, y) and p(x|z, y) take each image's class, fit/evaluate/predict take {"x", "y"} or
[x, y], its sampling prior is one mixture per class, and `sample --label` draws the class asked for."""
import json

import keras
import numpy as np
import pytest
from conftest import SMALL_MNIST, run_command

from keras_vae import VAE, build_decoder, build_encoder, decode, sample
from keras_vae.decoders import num_classes
from keras_vae.priors import ClassPriors, MixturePrior, fit_to_codes
from keras_vae.runs import read_sampling_prior, save_sampling_prior


def conditional_vae(classes=10, latent_dim=2, **options):
    return VAE(build_encoder(latent_dim, "mlp", hidden_dim=32, seed=0, num_classes=classes),
               build_decoder(latent_dim, "mlp", hidden_dim=32, num_classes=classes), **options)


def test_a_conditional_vae_takes_the_class_as_an_input_in_fit_evaluate_and_predict(mnist_small, tmp_path):
    (x, y), (x_test, y_test) = mnist_small
    vae = conditional_vae()
    assert vae.num_classes == 10 and num_classes(vae.encoder) == num_classes(vae.decoder) == 10
    assert [tensor.name for tensor in vae.decoder.inputs] == ["z", "y"]
    vae.compile(keras.optimizers.Adam())
    history = vae.fit({"x": x, "y": y}, epochs=3, batch_size=64, verbose=0).history
    assert history["loss"][-1] < history["loss"][0] - 20
    as_dict = vae.evaluate({"x": x_test, "y": y_test}, verbose=0, return_dict=True)
    as_list = vae.evaluate([x_test, y_test], verbose=0, return_dict=True)
    assert as_dict["reconstruction_loss"] == pytest.approx(as_list["reconstruction_loss"], rel=0.02)
    assert vae.predict([x_test[:5], y_test[:5]], verbose=0).shape == (5, 28, 28, 1)
    vae.save(tmp_path / "cvae.keras")
    loaded = keras.models.load_model(tmp_path / "cvae.keras")
    inputs = [x_test[:8], y_test[:8]]
    np.testing.assert_allclose(loaded.encoder.predict(inputs, verbose=0)[0], vae.encoder.predict(inputs, verbose=0)[0],
                               atol=1e-6)


def test_the_class_changes_what_the_decoder_draws_for_one_z(mnist_small):
    (x, y), _ = mnist_small
    vae = conditional_vae()
    vae.compile(keras.optimizers.Adam(3e-3))
    vae.fit({"x": x, "y": y}, epochs=8, batch_size=32, verbose=0)
    images = decode(vae.decoder, np.zeros((10, 2), "float32"), labels=np.arange(10))  # one z, each class
    means = np.stack([x[y == label].mean(axis=0) for label in range(10)])
    correlation = np.corrcoef(images.reshape(10, -1), means.reshape(10, -1))[:10, 10:]  # image i, class j's mean
    assert (correlation.argmax(axis=1) == np.arange(10)).mean() >= 0.8


def test_a_conditional_model_refuses_inputs_without_their_labels_and_labels_it_does_not_take(mnist_small):
    (x, y), _ = mnist_small
    vae = conditional_vae()
    vae.compile(keras.optimizers.Adam())
    with pytest.raises(ValueError, match=r"conditional on 10 classes: give \{'x': images, 'y': labels\}"):
        vae.fit(x[:64], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="labels must be classes 0 to 9, got 0 to 12"):
        vae.fit({"x": x[:4], "y": np.array([0, 1, 2, 12])}, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="labels must be 4 integer classes"):
        vae.fit([x[:4], y[:3]], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="is conditional on a class: give `labels`"):
        decode(vae.decoder, np.zeros((2, 2)))
    plain = VAE(build_encoder(2, "mlp", hidden_dim=8), build_decoder(2, "mlp", hidden_dim=8))
    plain.compile(keras.optimizers.Adam())
    with pytest.raises(ValueError, match="holds images and labels, and this model is not conditional"):
        plain.fit({"x": x[:4], "y": y[:4]}, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="this decoder is not conditional"):
        decode(plain.decoder, np.zeros((2, 2)), labels=[0, 1])
    with pytest.raises(ValueError, match="`encoder` takes 10 classes and `decoder` no class"):
        VAE(build_encoder(2, "mlp", hidden_dim=8, num_classes=10), build_decoder(2, "mlp", hidden_dim=8))
    with pytest.raises(ValueError, match="autoregressive and takes no class"):
        build_decoder(2, "made", num_classes=10)
    with pytest.raises(ValueError, match="`num_classes` must be an integer from 2"):
        build_encoder(2, "mlp", num_classes=1)


def test_the_sampling_prior_of_a_conditional_run_is_a_mixture_per_class_fitted_to_its_codes(mnist_small, tmp_path):
    (x, y), _ = mnist_small
    x, y = x[:256], y[:256]
    vae = conditional_vae(latent_dim=3)
    prior, fit = fit_to_codes(vae, x, components=20, labels=y, iterations=20)
    assert isinstance(prior, ClassPriors) and len(prior.priors) == 10
    counts = np.bincount(y, minlength=10)
    assert [p.components for p in prior.priors] == [max(1, round(20 * c / len(y))) for c in counts]
    np.testing.assert_allclose(prior.frequencies, counts / counts.sum())
    # Each class's draws come from its own mixture: near the codes of that class's images.
    codes = vae.encoder.predict([x, y], verbose=0)[0]
    for label in (0, 7):
        drawn = prior.given_labels(np.full(400, label), seed=1)
        assert np.linalg.norm(drawn.mean(0) - codes[y == label].mean(0)) < 0.5 * np.linalg.norm(
            codes[y == label].mean(0) - codes[y != label].mean(0)) + 0.05
    assert np.bincount(prior.labels(5000, seed=0), minlength=10) / 5000 == pytest.approx(prior.frequencies, abs=0.02)
    save_sampling_prior(tmp_path, prior)
    read = read_sampling_prior(tmp_path)
    assert isinstance(read, ClassPriors) and isinstance(read.priors[3], MixturePrior)
    np.testing.assert_array_equal(read.given_labels(np.arange(10), 4), prior.given_labels(np.arange(10), 4))
    assert "per class" in read.description


def test_train_conditional_writes_a_run_whose_samples_take_the_label_asked_for(tiny_runs, tmp_path):
    run = tiny_runs / "cvae"
    config, metrics = (json.loads((run / name).read_text()) for name in ("config.json", "metrics.json"))
    assert config["conditional"] is True
    assert metrics["bound"].startswith("conditional: the loss is the negative ELBO of log p(x|y)")
    assert metrics["sampling_prior"]["kind"] == "a mixture per class"
    assert metrics["sampling_prior"]["components"] == 256  # the default 2,000, at most one per two of 512 images
    assert isinstance(read_sampling_prior(run), ClassPriors)
    assert {"samples.png", "classes.png", "reconstructions.png"} <= {p.name for p in run.glob("*.png")}
    sevens = sample(str(run), n=6, label=7)
    again = sample(str(run), n=6, label="7")
    np.testing.assert_array_equal(sevens, again)
    assert not np.allclose(sevens, sample(str(run), n=6, label=1))
    result = run_command("sample", "--model", run, "--label", 7, "--n", 12, "--out", tmp_path / "sevens")
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "sevens").glob("*.png"))) == 12 and "12 samples of class 7" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--label", "12"], "`label`: '12' is no class of this model; its classes are 0, 1, 2, 3, 4, 5, 6, 7, 8, 9"),
    (["--label", "seven"], "its classes are 0, 1, 2"),
])
def test_sample_refuses_a_label_the_run_does_not_have_and_writes_nothing(tiny_runs, tmp_path, args, message):
    result = run_command("sample", "--model", tiny_runs / "cvae", *args, "--out", tmp_path / "out")
    assert result.returncode == 2 and message.replace("`label`: ", "") in result.stderr.replace("--label", "`label`")
    assert not (tmp_path / "out").exists()


def test_label_on_a_run_that_is_not_conditional_is_one_error_line(tiny_runs, tmp_path):
    result = run_command("sample", "--model", tiny_runs / "vae", "--label", 7, "--out", tmp_path / "s.png")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --label 7: this model is not conditional, so it draws no class (train with --conditional on labelled "
        "images)."]
    assert not (tmp_path / "s.png").exists()


def test_conditional_refuses_images_without_labels_or_of_one_class_before_writing(tmp_path):
    from keras_vae.synthetic import write_folder

    rng = np.random.default_rng(0)
    images = (rng.random((12, 8, 8, 3)) * 255).astype("uint8")
    write_folder(tmp_path / "flat", images)
    write_folder(tmp_path / "one", images, labels=np.zeros(12, int), names=["cats"])
    for folder, message in (("flat", "has no labels; give images in one subfolder per class"),
                            ("one", "images are all of one class")):
        result = run_command("train", "--data", tmp_path / folder, "--conditional", "--epochs", 1,
                             "--out", tmp_path / f"run_{folder}")
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert not (tmp_path / f"run_{folder}").exists() and not (tmp_path / f"run_{folder}.partial").exists()


def test_manifold_and_reconstruct_take_the_class(tiny_runs, tmp_path):
    run = tiny_runs / "cvae"
    result = run_command("manifold", "--model", run, "--label", 3, "--n", 5, "--data", SMALL_MNIST,
                         "--out", tmp_path / "m.png")
    assert result.returncode == 0, result.stderr
    assert "5x5 manifold over z[" in result.stdout and ", y = 3" in result.stdout
    result = run_command("reconstruct", "--model", run, "--data", SMALL_MNIST, "--n", 4, "--out", tmp_path / "r.png")
    assert result.returncode == 0 and "z_mean, y" in result.stdout, result.stderr


def test_export_writes_parts_that_take_the_class_y_in_savedmodel_and_onnx(tiny_runs, tmp_path):
    import tensorflow as tf

    from keras_vae import loading
    from keras_vae.export import export_onnx, onnx_differences

    vae = loading.load_model(tiny_runs / "cvae")
    export_onnx(vae, tmp_path)
    serve = tf.saved_model.load(str(tmp_path / "decoder")).signatures["serve"]
    assert sorted(serve.structured_input_signature[1]) == ["y", "z"]
    z, y = np.random.default_rng(0).normal(size=(4, 4)).astype("float32"), np.array([0, 3, 7, 9], "int32")
    np.testing.assert_allclose(serve(z=tf.constant(z), y=tf.constant(y))["x"].numpy(), decode(vae.decoder, z, labels=y),
                               atol=1e-5)
    differences = onnx_differences(vae, tmp_path)
    assert max(differences.values()) < 1e-4
    with pytest.raises(ValueError, match="conditional model's decoder \\(it takes y\\)"):
        loading.load_part(tmp_path, "decoder")


def test_the_explorers_decode_the_class_chosen(tiny_runs):
    from keras_vae import explorer
    from keras_vae.app import ExplorerApp

    shown = explorer(str(tiny_runs / "cvae"), data=SMALL_MNIST, n=64)
    assert shown.space.class_names == tuple(str(c) for c in range(10)) and shown.space.label == 0
    zero = shown.space.image(shown.z)
    shown.move(label="7")
    assert shown.space.label == 7 and not np.allclose(zero, shown.space.image(shown.z))
    assert shown.ax_image.get_title().endswith("y = 7")
    with pytest.raises(ValueError, match="'eleven' is no class of this model; its classes are 0, 1"):
        shown.move(label="eleven")
    app = ExplorerApp(shown.space)
    status = app.labelled("3", None)[-1]
    assert shown.space.label == 3 and status == "Decoding as class 3."
    assert app.labelled("x", None)[-1].startswith("**'x' is no class")


def test_evaluate_and_fit_prior_refuse_a_conditional_run_in_one_line(tiny_runs, tmp_path):
    result = run_command("evaluate", "--model", tiny_runs / "cvae", "--k", 2, "--n", 4, "--data", SMALL_MNIST)
    assert result.returncode == 2 and "bounds log p(x|y), the class given, not log p(x)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    result = run_command("fit-prior", "--model", tiny_runs / "cvae", "--out", tmp_path / "fitted")
    assert result.returncode == 2 and "one mixture per class" in result.stderr and not (tmp_path / "fitted").exists()
