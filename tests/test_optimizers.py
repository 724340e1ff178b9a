"""FusedAdam: Adam's update through one fused kernel per variable."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import fit_small_vae
from keras_vae import FusedAdam


def test_fused_adam_makes_adams_updates():
    rng = np.random.default_rng(0)
    start = rng.normal(size=(3, 4)).astype("float32")
    gradients = [rng.normal(size=(3, 4)).astype("float32") for _ in range(5)]
    weights = {}
    for optimizer in (keras.optimizers.Adam(0.01), FusedAdam(0.01)):
        w = keras.Variable(start)
        for g in gradients:
            optimizer.apply([g], [w])
        weights[type(optimizer).__name__] = w.numpy()
    assert np.abs(weights["Adam"] - start).max() > 0.04  # five steps of about lr each
    np.testing.assert_allclose(weights["FusedAdam"], weights["Adam"], rtol=1e-6, atol=1e-6)  # float32 rounding, 1e-4 of a step


def test_fused_adam_refuses_amsgrad_which_its_kernel_lacks_and_compile_keeps_such_an_adam():
    with pytest.raises(ValueError, match="amsgrad=True: FusedAdam's kernel has no amsgrad"):
        FusedAdam(0.01, amsgrad=True)
    from keras_vae import VAE, build_decoder, build_encoder

    vae = VAE(build_encoder(2, "mlp", hidden_dim=8), build_decoder(2, "mlp", hidden_dim=8))
    adam = keras.optimizers.Adam(0.01, amsgrad=True)
    vae.compile(adam)
    assert vae.optimizer is adam


def test_compile_leaves_the_adam_it_is_given_as_it_was_and_trains_a_fused_one_of_its_configuration(mnist_small):
    from keras_vae import VAE, build_decoder, build_encoder

    vae = VAE(build_encoder(2, "mlp", hidden_dim=8), build_decoder(2, "mlp", hidden_dim=8))
    adam = keras.optimizers.Adam(3e-4, beta_1=0.8)
    vae.compile(adam)
    vae.fit(mnist_small[0][0][:64], epochs=1, batch_size=32, verbose=0)
    assert type(adam) is keras.optimizers.Adam and not adam.built and int(adam.iterations) == 0
    assert type(vae.optimizer) is FusedAdam and int(vae.optimizer.iterations) == 2 and vae.optimizer.beta_1 == 0.8
    np.testing.assert_allclose(float(vae.optimizer.learning_rate), 3e-4)


def test_fused_adam_round_trips_through_its_config():
    optimizer = FusedAdam(3e-4, beta_1=0.8, epsilon=1e-6)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(restored) is FusedAdam
    assert (restored.beta_1, restored.epsilon) == (0.8, 1e-6)
    np.testing.assert_allclose(restored.learning_rate.numpy(), 3e-4)


def test_training_with_fused_adam_follows_adams_loss_curve(mnist_small):
    """The training command's optimizer changes no loss: two epochs on real digits, as with Keras' Adam."""
    x = tf.data.Dataset.from_tensor_slices(mnist_small[0][0][:256]).batch(32)
    start, adam_losses, adam = fit_small_vae(x, keras.optimizers.Adam(1e-3), fuse_adam=False)
    _, fused_losses, fused = fit_small_vae(x, FusedAdam(1e-3))
    np.testing.assert_allclose(fused_losses, adam_losses, rtol=1e-5)
    for f, a in zip(fused, adam):
        # Adam divides by sqrt(v): for near-zero gradients, float32 rounding is amplified to ~1e-5
        # against the ~1.6e-2 that 16 steps of lr 1e-3 move a weight.
        np.testing.assert_allclose(f, a, atol=5e-5)
    assert max(np.abs(a - w).max() for a, w in zip(adam, start)) > 1e-2
