import keras
import numpy as np

from keras_vae import Sampling


def test_sampling_matches_the_normal_it_parameterizes():
    z_mean = np.tile(np.array([[-2.0, 0.0, 3.0]], "float32"), (200_000, 1))
    z_log_var = np.tile(np.array([[0.0, np.log(4.0), np.log(0.25)]], "float32"), (200_000, 1))
    z = keras.ops.convert_to_numpy(Sampling(seed=1)([z_mean, z_log_var]))
    np.testing.assert_allclose(z.mean(axis=0), [-2.0, 0.0, 3.0], atol=0.02)
    np.testing.assert_allclose(z.var(axis=0), [1.0, 4.0, 0.25], rtol=0.02)


def test_sampling_is_reproducible_with_a_seed_and_varies_between_calls():
    inputs = [np.zeros((4, 2), "float32"), np.zeros((4, 2), "float32")]
    a, b = Sampling(seed=7), Sampling(seed=7)
    first_a, first_b = a(inputs), b(inputs)
    np.testing.assert_array_equal(first_a, first_b)
    assert not np.allclose(first_a, a(inputs))


def test_sampling_round_trips_through_its_config():
    layer = keras.layers.deserialize(keras.layers.serialize(Sampling(seed=3, name="z")))
    assert isinstance(layer, Sampling) and layer.seed == 3 and layer.name == "z"
