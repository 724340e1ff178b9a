"""Bad input gets a clear error (naming the fix) before any training step."""
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_vae import VAE, build_decoder, build_encoder


@pytest.fixture
def vae():
    model = VAE(build_encoder(2, "mlp", hidden_dim=16), build_decoder(2, "mlp", hidden_dim=16))
    model.compile(optimizer=keras.optimizers.Adam())
    return model


def weights_of(model):
    return [w.numpy().copy() for w in model.trainable_weights]


@pytest.mark.parametrize("make_x,message", [
    (lambda x: (x * 255).astype("uint8"), "dtype uint8.*divide by 255"),
    (lambda x: x * 255.0, r"pixels in \[0, 255\].*divide by 255"),
    (lambda x: x * 2.0 - 1.0, r"pixels in \[-1, 1\].*rescale to \[0, 1\]"),
    (lambda x: np.where(np.arange(x.size).reshape(x.shape) == 5, np.nan, x).astype("float32"), "1 NaN or Inf pixels"),
    (lambda x: np.where(np.arange(x.size).reshape(x.shape) == 7, np.inf, x).astype("float32"), "1 NaN or Inf pixels"),
    (lambda x: x.reshape(len(x), 784), r"shape \(8, 784\), expected images of shape \(n, 28, 28, 1\); reshape with x.reshape\(-1, 28, 28, 1\)"),
    (lambda x: x[0, ..., 0], r"shape \(28, 28\), expected images of shape \(n, 28, 28, 1\)"),
    (lambda x: x[:0], "x is empty"),
])
def test_bad_images_are_refused_before_any_training_step(vae, mnist_small, make_x, message):
    x = make_x(mnist_small[0][0][:8])
    before = weights_of(vae)
    with pytest.raises(ValueError, match=message):
        vae.fit(x, epochs=1, verbose=0)
    for a, b in zip(before, weights_of(vae)):
        np.testing.assert_array_equal(a, b)


def test_bad_validation_data_and_datasets_of_the_wrong_shape_are_refused(vae, mnist_small):
    x = mnist_small[0][0][:8]
    with pytest.raises(ValueError, match="validation_data has dtype uint8"):
        vae.fit(x, validation_data=((x * 255).astype("uint8"), None), verbose=0)
    flat = tf.data.Dataset.from_tensor_slices(x.reshape(8, 784)).batch(4)
    with pytest.raises(ValueError, match=r"x yields float32 batches of shape \(None, 784\), expected .*\(n, 28, 28, 1\)"):
        vae.fit(flat, verbose=0)


def test_labels_given_to_fit_are_ignored_with_one_warning(vae, mnist_small):
    (x, y), _ = mnist_small
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = vae.fit(x[:32], y[:32], epochs=1, batch_size=16, verbose=0)
    ours = [w for w in caught if "ignores y" in str(w.message)]
    assert len(ours) == 1 and "unsupervised" in str(ours[0].message)
    assert set(history.history) == {"loss", "reconstruction_loss", "kl_loss"}


def test_decoder_predict_with_the_wrong_latent_size_names_both_sizes(vae):
    with pytest.raises(ValueError, match=r"expected shape=\(None, 2\).*found shape=\(3, 5\)"):
        vae.decoder.predict(np.zeros((3, 5), "float32"), verbose=0)


def test_z_log_var_is_clipped_into_a_range_where_exp_is_finite(vae):
    dense = vae.encoder.get_layer("z_log_var_dense")
    dense.bias.assign(np.full(2, 500.0, "float32"))
    z_mean, z_log_var, z = vae.encoder.predict(np.zeros((2, 28, 28, 1), "float32"), verbose=0)
    np.testing.assert_allclose(z_log_var, 20.0)
    assert np.isfinite(z).all()


def test_an_eight_bit_likelihood_refuses_pixels_between_the_256_levels(mnist_small):
    vae = VAE(build_encoder(2, "mlp", hidden_dim=8), build_decoder(2, "mlp", hidden_dim=8, likelihood="discretized_logistic"),
              likelihood="discretized_logistic")
    vae.compile(optimizer=keras.optimizers.Adam())
    x = mnist_small[0][0][:8]  # k / 255 from 8-bit files: taken
    vae.fit(x, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="between the 256 levels k / 255; the discretized_logistic likelihood models 8-bit"):
        vae.fit(np.clip(x + 0.5 / 1000, 0.0, 1.0), epochs=1, verbose=0)
