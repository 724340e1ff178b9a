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
