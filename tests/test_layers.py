import keras
import numpy as np

from keras_vae import Sampling
from keras_vae.layers import PerImageProjection


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


def test_per_image_projection_is_each_images_own_1x1_convolution_and_starts_at_zero(tmp_path):
    rng = np.random.default_rng(0)
    features, z = rng.normal(size=(3, 4, 5, 6)).astype("float32"), rng.normal(size=(3, 2)).astype("float32")
    inputs = [keras.Input((4, 5, 6)), keras.Input((2,))]
    model = keras.Model(inputs, PerImageProjection(7)(inputs))
    assert np.abs(model.predict([features, z], verbose=0)).max() == 0.0  # a decoder with it starts as without
    a, b = rng.normal(size=(2, 42)).astype("float32"), rng.normal(size=42).astype("float32")
    model.layers[-1].set_weights([a, b])
    expected = np.stack([features[i] @ (z[i] @ a + b).reshape(6, 7) for i in range(3)])
    np.testing.assert_allclose(model.predict([features, z], verbose=0), expected, rtol=1e-4, atol=1e-4)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict([features, z], verbose=0), expected, rtol=1e-4, atol=1e-4)
