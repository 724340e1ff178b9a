"""FusedAdam: Adam's update through one fused kernel per variable."""
import keras
import numpy as np
import pytest

from keras_vae import FusedAdam


@pytest.mark.parametrize("amsgrad", [False, True])
def test_fused_adam_makes_adams_updates(amsgrad):
    rng = np.random.default_rng(0)
    start = rng.normal(size=(3, 4)).astype("float32")
    gradients = [rng.normal(size=(3, 4)).astype("float32") for _ in range(5)]
    weights = {}
    for optimizer in (keras.optimizers.Adam(0.01, amsgrad=amsgrad), FusedAdam(0.01, amsgrad=amsgrad)):
        w = keras.Variable(start)
        for g in gradients:
            optimizer.apply([g], [w])
        weights[type(optimizer).__name__] = w.numpy()
    assert np.abs(weights["Adam"] - start).max() > 0.04  # five steps of about lr each
    np.testing.assert_allclose(weights["FusedAdam"], weights["Adam"], rtol=1e-6, atol=1e-6)  # float32 rounding, 1e-4 of a step


def test_fused_adam_round_trips_through_its_config():
    optimizer = FusedAdam(3e-4, beta_1=0.8, epsilon=1e-6)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(restored) is FusedAdam
    assert (restored.beta_1, restored.epsilon) == (0.8, 1e-6)
    np.testing.assert_allclose(restored.learning_rate.numpy(), 3e-4)


def test_training_with_fused_adam_follows_adams_loss_curve(mnist_small):
    """The training command's optimizer changes no loss: two epochs on real digits, as with Keras' Adam."""
    import tensorflow as tf

    from keras_vae import VAE, build_decoder, build_encoder

    x = tf.data.Dataset.from_tensor_slices(mnist_small[0][0][:256]).batch(32)
    runs = []
    for optimizer in (keras.optimizers.Adam, FusedAdam):
        keras.utils.set_random_seed(0)
        vae = VAE(build_encoder(2, "mlp", hidden_dim=32, seed=0), build_decoder(2, "mlp", hidden_dim=32))
        vae.compile(optimizer=optimizer(1e-3))
        start = vae.get_weights()
        history = vae.fit(x, epochs=2, verbose=0).history
        runs.append((history["loss"], vae.get_weights()))
    np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-5)
    for fused, adam in zip(runs[1][1], runs[0][1]):
        # Adam divides by sqrt(v): for near-zero gradients, float32 rounding is amplified to ~1e-5
        # against the ~1.6e-2 that 16 steps of lr 1e-3 move a weight.
        np.testing.assert_allclose(fused, adam, atol=5e-5)
    assert max(np.abs(a - w).max() for a, w in zip(runs[0][1], start)) > 1e-2
