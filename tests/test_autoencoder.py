"""The plain autoencoder: deterministic, no KL term, the VAE's parts and plumbing, better reconstructions."""
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_vae import VAE, Autoencoder, build_decoder, build_encoder, export_saved_model, load_part


def small_autoencoder(latent_dim=2):
    return Autoencoder(build_encoder(latent_dim, "mlp", hidden_dim=32, seed=0), build_decoder(latent_dim, "mlp", hidden_dim=32))


def test_the_code_is_the_encoders_z_mean_and_the_same_input_gives_the_same_output(mnist_small):
    x = mnist_small[0][0][:16]
    encoder = build_encoder(2, "mlp", hidden_dim=32, seed=0)
    ae = Autoencoder(encoder, build_decoder(2, "mlp", hidden_dim=32))
    np.testing.assert_allclose(ae.encoder.predict(x, verbose=0), encoder.predict(x, verbose=0)[0], rtol=1e-6)
    np.testing.assert_array_equal(ae(x), ae(x))
    assert "z_log_var_dense" not in [layer.name for layer in ae.encoder.layers]


def test_the_loss_is_the_bernoulli_reconstruction_loss_alone(mnist_small):
    x = mnist_small[1][0][:64]
    ae = small_autoencoder()
    ae.compile(keras.optimizers.Adam())
    result = ae.evaluate(x, batch_size=64, verbose=0, return_dict=True)
    assert sorted(result) == ["loss", "reconstruction_loss"]
    p = np.clip(ae.predict(x, verbose=0).astype("float64"), 1e-7, 1 - 1e-7)
    bce = -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=(1, 2, 3)).mean()
    assert result["loss"] == result["reconstruction_loss"]
    assert result["loss"] == pytest.approx(bce, rel=1e-3)


def test_training_updates_every_weight_it_has_without_missing_gradient_warnings(mnist_small):
    ae = small_autoencoder()
    ae.compile(keras.optimizers.Adam())
    before = [w.numpy().copy() for w in ae.trainable_weights]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "Gradients do not exist for variables"
        history = ae.fit(mnist_small[0][0], epochs=2, batch_size=64, verbose=0).history
    assert history["loss"][1] < history["loss"][0]
    assert all(not np.array_equal(b, w.numpy()) for b, w in zip(before, ae.trainable_weights))


def test_at_equal_training_it_reconstructs_test_digits_better_than_the_vae(mnist_small):
    (x_train, _), (x_test, _) = mnist_small
    losses = {}
    for model in (Autoencoder, VAE):
        keras.utils.set_random_seed(0)
        m = model(build_encoder(2, "mlp", hidden_dim=64, seed=0), build_decoder(2, "mlp", hidden_dim=64))
        m.compile(keras.optimizers.Adam(1e-3))
        m.fit(x_train, epochs=8, batch_size=32, verbose=0)
        losses[model.__name__] = m.evaluate(x_test, verbose=0, return_dict=True)["reconstruction_loss"]
    assert losses["Autoencoder"] < losses["VAE"] - 2.0, losses


def test_it_saves_loads_and_exports_like_the_vae(mnist_small, tmp_path):
    x = mnist_small[1][0][:8]
    ae = small_autoencoder()
    ae.compile(keras.optimizers.Adam())
    ae.fit(x, epochs=1, verbose=0)
    ae.save(tmp_path / "ae.keras")
    loaded = keras.models.load_model(tmp_path / "ae.keras", safe_mode=True)
    assert isinstance(loaded, Autoencoder) and len(loaded.encoder.outputs) == 1
    np.testing.assert_allclose(loaded.predict(x, verbose=0), ae.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    export_saved_model(ae, tmp_path / "saved_model")
    serve = tf.saved_model.load(str(tmp_path / "saved_model" / "encoder")).signatures["serve"]
    assert sorted(serve(x=tf.constant(x[..., None]))) == ["z_mean"]
    encoder = load_part(tmp_path / "saved_model", "encoder")
    np.testing.assert_allclose(encoder.predict(x, verbose=0), ae.encoder.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_it_refuses_the_images_the_vae_refuses_and_ignores_y_with_a_warning(mnist_small):
    ae = small_autoencoder()
    ae.compile(keras.optimizers.Adam())
    with pytest.raises(ValueError, match="divide by 255"):
        ae.fit((mnist_small[0][0] * 255).astype("uint8"), epochs=1, verbose=0)
    with pytest.warns(UserWarning, match="Autoencoder.fit ignores y"):
        ae.fit(mnist_small[0][0][:32], mnist_small[0][1][:32], epochs=1, verbose=0)


def test_its_numbers_are_means_per_image_whatever_the_batch_size(mnist_small):
    """The last, smaller batch weighs by its size (AutoencoderBase._track), as for the VAE."""
    x = mnist_small[0][0][:130]
    ae = small_autoencoder()
    ae.compile(keras.optimizers.Adam())
    losses = [ae.evaluate(x, batch_size=batch_size, verbose=0) for batch_size in (128, 13, 130)]
    np.testing.assert_allclose(losses[0], losses[2], rtol=1e-6)
    np.testing.assert_allclose(losses[1], losses[2], rtol=1e-6)
