"""The public API checks what it is given as the command line does: one ValueError naming the argument, its
value and what it takes, before any work."""
import numpy as np
import pytest

from keras_vae import (VAE, Autoencoder, MixturePrior, Sampling, StandardNormalPrior, build_decoder, build_encoder,
                       decode, estimate_log_likelihood, evaluate_elbo, log_likelihoods, sample_prior)
from keras_vae.data import make_dataset
from keras_vae.train import TrainConfig


def small_pair(latent_dim=2, image_shape=(28, 28, 1)):
    return (build_encoder(latent_dim, "mlp", image_shape=image_shape, hidden_dim=8),
            build_decoder(latent_dim, "mlp", image_shape=image_shape, hidden_dim=8))


@pytest.mark.parametrize("call,message", [
    (lambda: build_encoder(0), "`latent_dim` must be an integer from 1 to 1024, got 0"),
    (lambda: build_encoder(2.5), "`latent_dim` must be an integer, got 2.5"),
    (lambda: build_decoder(2, image_shape=(28, 28)), "`image_shape` must be (height, width, channels)"),
    (lambda: build_decoder(2, image_shape=(28, 0, 1)), "`image_shape` must be (height, width, channels)"),
    (lambda: build_encoder(2, seed=-1), "`seed` must be an integer 0 or more, got -1"),
    (lambda: build_encoder(2, "vgg"), "Unknown architecture 'vgg'"),
    (lambda: build_decoder(2, likelihood="poisson"), "Unknown likelihood 'poisson'"),
    (lambda: build_decoder(2, "mlp", hidden_dim=0), "`hidden_dim` must be an integer 1 or more, got 0"),
    (lambda: build_encoder(2, "conv", hidden_dim=8), "`hidden_dim` does not apply to `architecture` conv"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_the_builders_refuse_bad_arguments_by_name(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)


def test_vae_and_autoencoder_refuse_parts_that_do_not_fit_and_bad_settings():
    encoder, decoder = small_pair()
    other_latent, other_images = small_pair(3)[1], small_pair(image_shape=(8, 8, 1))[1]
    for model in (VAE, Autoencoder):
        with pytest.raises(ValueError, match="`encoder` gives 2-D codes and `decoder` takes 3-D z"):
            model(encoder, other_latent)
        with pytest.raises(ValueError, match=r"`encoder` takes images of shape \(28, 28, 1\) and `decoder` gives \(8, 8, 1\)"):
            model(encoder, other_images)
        with pytest.raises(ValueError, match="`decoder` must be a keras.Model"):
            model(encoder, "decoder")
    with pytest.raises(ValueError, match="`beta` must be a finite number ≥ 0, got -1"):
        VAE(encoder, decoder, beta=-1)
    with pytest.raises(ValueError, match="`beta` must be a finite number ≥ 0, got nan"):
        VAE(encoder, decoder, beta=float("nan"))
    with pytest.raises(ValueError, match="`importance_samples` must be an integer from 1 to 100000, got 0"):
        VAE(encoder, decoder, importance_samples=0)
    with pytest.raises(ValueError, match="The prior is over 3-D z"):
        VAE(encoder, decoder, prior=MixturePrior(3, 2))
    assert VAE(encoder, decoder, beta=0.0, importance_samples=5).importance_samples == 5  # the edges are taken


def test_the_priors_and_their_fit_refuse_bad_arguments_by_name():
    with pytest.raises(ValueError, match="`latent_dim` must be an integer 1 or more, got 0"):
        StandardNormalPrior(0)
    with pytest.raises(ValueError, match="`components` must be an integer from 1 to 100000, got 0"):
        MixturePrior(2, 0)
    prior = MixturePrior(2, 3)
    z = np.random.default_rng(0).standard_normal((10, 2)).astype("float32")
    with pytest.raises(ValueError, match="`iterations` must be an integer 1 or more, got 0"):
        prior.fit(z, iterations=0)
    with pytest.raises(ValueError, match=r"`z` must hold at least 3 draws \(`components`\) of shape \(n, 2\), got \(2, 2\)"):
        prior.fit(z[:2])
    with pytest.raises(ValueError, match=r"of shape \(n, 2\), got \(10, 3\)"):
        prior.fit(np.zeros((10, 3)))
    with pytest.raises(ValueError, match="`z` holds NaN or Inf draws"):
        prior.fit(np.where(np.arange(20).reshape(10, 2) == 3, np.nan, z))
    with pytest.raises(ValueError, match="`n` must be an integer 1 or more, got 0"):
        prior.sample(0)
    assert np.isfinite(prior.fit(z[:3], iterations=1)) and prior.sample(1).shape == (1, 2)  # the edges are taken


def test_the_estimators_and_decoding_refuse_bad_arguments_by_name(mnist_small):
    encoder, decoder = small_pair()
    vae, x = VAE(encoder, decoder), mnist_small[1][0][:4]
    for call, message in [
        (lambda: estimate_log_likelihood(vae, x, k=0, verbose=0), "`k` must be an integer 1 or more, got 0"),
        (lambda: log_likelihoods(vae, x, k=10, samples_per_pass=0, verbose=0), "`samples_per_pass` must be an integer"),
        (lambda: evaluate_elbo(vae, x, batch_size=0), "`batch_size` must be an integer 1 or more, got 0"),
        (lambda: evaluate_elbo(Autoencoder(encoder, decoder), x), "`vae` must be a keras_vae.VAE, got Autoencoder"),
        (lambda: estimate_log_likelihood(vae, x * 255, k=2, verbose=0), "the bernoulli likelihood needs [0, 1]"),
        (lambda: decode(decoder, np.zeros((3, 5))), "`z` must be (n, 2) codes for this decoder, got shape (3, 5)"),
        (lambda: sample_prior(decoder, 0), "`n` must be an integer 1 or more, got 0"),
        (lambda: make_dataset(x, batch_size=0), "`batch_size` must be an integer 1 or more, got 0"),
        (lambda: make_dataset(x, binarize="sometimes"), "`binarize` 'sometimes' is not one of none, dynamic, static"),
        (lambda: Sampling(seed=-3), "`seed` must be an integer 0 or more, got -3"),
    ]:
        with pytest.raises(ValueError) as error:
            call()
        assert message in str(error.value)
    assert estimate_log_likelihood(vae, x, k=1, verbose=0) < 0  # k = 1, the edge, is taken


@pytest.mark.parametrize("arguments,message", [
    ({"epochs": 0}, "`epochs` must be an integer 1 or more, got 0"),
    ({"learning_rate": 0.0}, "`learning_rate` must be a finite number > 0, got 0.0"),
    ({"ema_momentum": 1.0}, "`ema_momentum` must be a finite number ≥ 0 and < 1, got 1.0"),
    ({"batch_size": 60001}, "`batch_size` must be an integer from 1 to 60000, got 60001"),
    ({"binarize": "sometimes"}, "`binarize` 'sometimes' is not one of none, dynamic, static"),
    ({"kind": "gan"}, "`kind` 'gan' is not one of ae, vae"),
    ({"architecture": "mlp", "options": {"width": 3}}, "`width` does not apply to `architecture` mlp"),
    ({"kl_warmup_epochs": 3, "epochs": 3}, "`kl_warmup_epochs` 3 must be below `epochs` 3"),
    ({"kind": "ae", "beta": 2.0}, "`kind` ae has no KL term"),
])
def test_a_training_config_refuses_bad_options_when_it_is_made(arguments, message):
    with pytest.raises(ValueError) as error:
        TrainConfig(**arguments)
    assert message in str(error.value)
    TrainConfig(epochs=1, batch_size=60000, ema_momentum=0.0, kl_warmup_epochs=0)  # the edges are taken


@pytest.mark.parametrize("model_class", [VAE, Autoencoder])
def test_compiled_metrics_a_compiled_loss_and_sample_weights_are_refused_in_one_sentence(model_class):
    x = np.zeros((4, 28, 28, 1), "float32")
    model = model_class(*small_pair())
    for compiled, name in (({"metrics": ["mae"]}, "metrics"), ({"loss": "mse"}, "loss")):
        model.compile("adam", **compiled)
        with pytest.raises(ValueError, match=f"`{name}` in compile: {model_class.__name__} computes its own loss"):
            model.fit(x, verbose=0)
    model.compile("adam")
    with pytest.raises(ValueError, match="`sample_weight`: .* weighs every image the same"):
        model.fit(x, sample_weight=np.ones(4), verbose=0)
    with pytest.raises(ValueError, match="`sample_weight`: .* weighs every image the same"):
        model.fit(make_dataset(x, 2).map(lambda batch: (batch, batch, batch[:, 0, 0, 0])), verbose=0)
    model = model_class(*small_pair())
    model.compile("adam")
    assert model.fit(x, epochs=1, verbose=0).history["loss"][0] > 0  # an optimizer alone trains


def test_the_models_config_chains_keras_own_and_rebuilds_the_model():
    vae = VAE(*small_pair(), beta=0.5, name="my_vae", trainable=False)
    config = vae.get_config()
    assert {"name", "trainable", "dtype"} <= set(config) and config["name"] == "my_vae" and config["trainable"] is False
    again = VAE.from_config(config)
    assert again.name == "my_vae" and not again.trainable and float(again.beta) == 0.5


@pytest.mark.parametrize("call", [
    lambda vae, x: __import__("keras_vae").reconstruct(vae.encoder, vae.decoder, x),
    lambda vae, x: __import__("keras_vae.latent", fromlist=["latent_space"]).latent_space(vae, x, None),
    lambda vae, x: __import__("keras_vae").explorer(vae, x, None),
    lambda vae, x: __import__("keras_vae.plots", fromlist=["samples_figure"]).samples_figure(x),
    lambda vae, x: __import__("keras_vae.synthetic", fromlist=["colored_mnist"]).colored_mnist(x),
    lambda vae, x: evaluate_elbo(vae, x),
], ids=["reconstruct", "latent_space", "explorer", "samples_figure", "colored_mnist", "evaluate_elbo"])
def test_every_public_function_that_takes_images_refuses_zero_images_in_one_sentence(call):
    with pytest.raises(ValueError, match="no images|is empty") as error:
        call(VAE(*small_pair()), np.zeros((0, 28, 28, 1), "float32"))
    assert len(str(error.value).splitlines()) == 1


def test_the_notebook_explorer_is_a_function_of_the_package_and_its_module_stays_importable():
    import importlib

    import keras_vae

    assert callable(keras_vae.explorer) and keras_vae.explorer.__module__ == "keras_vae.notebook_explorer"
    assert importlib.import_module("keras_vae.notebook_explorer").explorer is keras_vae.explorer
