"""Extending keras_vae as the README shows: a new architecture, a new likelihood and a new command, each
registered once and trained for a step."""
import json
import math

import keras
import numpy as np
import pytest
from keras import layers

from keras_vae import ARCHITECTURES, LIKELIHOODS, VAE, build_decoder, build_encoder, cli, register_architecture, register_likelihood
from conftest import SMALL_MNIST


@pytest.fixture(autouse=True)
def _restore_registries():
    """Each test's registrations are undone afterwards."""
    saved = dict(ARCHITECTURES), dict(LIKELIHOODS), dict(cli.COMMANDS)
    yield
    for registry, before in zip((ARCHITECTURES, LIKELIHOODS, cli.COMMANDS), saved):
        registry.clear()
        registry.update(before)


def register_tiny_architecture():
    def tiny_encoder_body(x, units=8):
        return layers.Dense(units, activation="relu")(layers.Flatten()(x))

    def tiny_decoder_body(z, image_shape, units=8):
        x = layers.Dense(units, activation="relu")(z)
        return layers.Reshape(image_shape)(layers.Dense(math.prod(image_shape))(x))

    register_architecture("tiny", tiny_encoder_body, tiny_decoder_body, description="one small hidden layer")


def test_a_new_architecture_with_its_own_option_trains_through_the_training_command(tmp_path):
    register_tiny_architecture()
    out = tmp_path / "run"
    cli.main(["train", "--architecture", "tiny", "--units", "4", "--latent-dim", "3", "--epochs", "1",
              "--data", str(SMALL_MNIST), "--no-figures", "--out", str(out)])
    config = json.loads((out / "config.json").read_text())
    assert config["architecture"] == "tiny" and config["options"] == {"units": 4}
    vae = keras.models.load_model(out / "vae.keras", safe_mode=True)
    assert vae.encoder.get_layer(index=2).units == 4 and vae.encoder.output[0].shape[-1] == 3
    history = json.loads((out / "history.json").read_text())
    assert 100 < history["loss"][0] < 600  # one epoch from ~543 nats (784 log 2) down


def test_a_new_likelihood_need_not_go_through_a_sigmoid():
    @register_likelihood("unit_gaussian", activation="linear")
    def unit_gaussian_reconstruction_loss(x, x_mean):
        """-log N(x; x_mean, I), summed over pixels."""
        squared = keras.ops.square(keras.ops.cast(x, "float32") - keras.ops.cast(x_mean, "float32"))
        return 0.5 * keras.ops.sum(keras.ops.reshape(squared + math.log(2 * math.pi), (keras.ops.shape(x)[0], -1)), axis=1)

    encoder = build_encoder(2, "mlp", hidden_dim=16, seed=0)
    decoder = build_decoder(2, "mlp", likelihood="unit_gaussian", hidden_dim=16)
    vae = VAE(encoder, decoder, likelihood="unit_gaussian")
    x = np.random.default_rng(0).normal(3.0, 1.0, (16, 28, 28, 1)).astype("float32")  # outside [0, 1]: allowed
    z = np.zeros((16, 2), "float32")
    mean = decoder.predict(z, verbose=0)
    expected = 0.5 * ((x - mean) ** 2 + np.log(2 * np.pi)).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(vae.reconstruction_loss(x, z)), expected, rtol=1e-5)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    losses = vae.fit(x, epochs=5, batch_size=16, verbose=0).history["loss"]
    assert losses[0] == pytest.approx(expected.mean(), rel=0.05)  # the first step's loss is this likelihood's
    assert losses[-1] < losses[0] - 50


def test_a_new_command_is_one_registered_function_with_its_arguments(capsys):
    @cli.register_command("one-step", "train a small VAE for one step and print its loss",
                          [cli.argument("--batch-size", type=int, default=8)])
    def one_step(args):
        keras.utils.set_random_seed(0)
        vae = VAE(build_encoder(2, "mlp", hidden_dim=8, seed=0), build_decoder(2, "mlp", hidden_dim=8))
        vae.compile(optimizer=keras.optimizers.Adam())
        x = np.load(SMALL_MNIST)["x_train"][: args.batch_size, ..., None] / np.float32(255)
        print(f"loss {vae.fit(x, batch_size=args.batch_size, verbose=0).history['loss'][0]:.1f}")

    cli.main(["one-step", "--batch-size", "4"])
    loss = float(capsys.readouterr().out.split()[-1])
    assert 400 < loss < 600  # an untrained decoder: about 784 log 2 = 543 nats
