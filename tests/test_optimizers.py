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


def test_fused_adam_refuses_amsgrad_which_its_kernel_lacks():
    with pytest.raises(ValueError, match="amsgrad=True: FusedAdam's kernel has no amsgrad"):
        FusedAdam(0.01, amsgrad=True)


@pytest.mark.parametrize("make_optimizer", [lambda: keras.optimizers.Adam(3e-4, beta_1=0.8), lambda: FusedAdam(3e-4),
                                            lambda: keras.optimizers.SGD(1e-2)], ids=["Adam", "FusedAdam", "SGD"])
def test_compile_trains_the_optimizer_it_is_given_with_keras_defaults(mnist_small, make_optimizer):
    """Keras' contract: the optimizer passed is the one that trains (a later change to its learning rate counts), and
    compile takes Keras' own defaults; the fused update and multi-step execution are the caller's choice."""
    from keras_vae import VAE, build_decoder, build_encoder

    vae = VAE(build_encoder(2, "mlp", hidden_dim=8), build_decoder(2, "mlp", hidden_dim=8))
    optimizer = make_optimizer()
    vae.compile(optimizer=optimizer)
    assert vae.optimizer is optimizer and vae.steps_per_execution == 1
    vae.fit(mnist_small[0][0][:64], epochs=1, batch_size=32, verbose=0)
    assert int(optimizer.iterations) == 2
    optimizer.learning_rate = 0.0  # the user's change reaches the model's training
    before = vae.get_weights()
    vae.fit(mnist_small[0][0][:64], epochs=1, batch_size=32, verbose=0)
    for a, b in zip(before, vae.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_fused_adam_round_trips_through_its_config():
    optimizer = FusedAdam(3e-4, beta_1=0.8, epsilon=1e-6)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(restored) is FusedAdam
    assert (restored.beta_1, restored.epsilon) == (0.8, 1e-6)
    np.testing.assert_allclose(restored.learning_rate.numpy(), 3e-4)


def test_training_with_fused_adam_follows_adams_loss_curve(mnist_small):
    """The training command's optimizer changes no loss: two epochs on real digits, as with Keras' Adam."""
    x = tf.data.Dataset.from_tensor_slices(mnist_small[0][0][:256]).batch(32)
    start, adam_losses, adam = fit_small_vae(x, keras.optimizers.Adam(1e-3))
    _, fused_losses, fused = fit_small_vae(x, FusedAdam(1e-3))
    np.testing.assert_allclose(fused_losses, adam_losses, rtol=1e-5)
    for f, a in zip(fused, adam):
        # Adam divides by sqrt(v): for near-zero gradients, float32 rounding is amplified to ~1e-5
        # against the ~1.6e-2 that 16 steps of lr 1e-3 move a weight.
        np.testing.assert_allclose(f, a, atol=5e-5)
    assert max(np.abs(a - w).max() for a, w in zip(adam, start)) > 1e-2
