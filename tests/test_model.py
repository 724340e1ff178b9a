import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import batch_losses, fit_small_vae
from keras_vae import VAE, build_decoder, build_encoder


def make_vae(latent_dim=2, architecture="conv", **options):
    vae = VAE(
        build_encoder(latent_dim, architecture, seed=0, **options),
        build_decoder(latent_dim, architecture, **options),
    )
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    return vae


@pytest.mark.parametrize("architecture,options", [("conv", {}), ("mlp", {"hidden_dim": 64}), ("deepconv", {})])
def test_encoder_and_decoder_shapes_and_ranges(mnist_small, architecture, options):
    x = mnist_small[1][0][:16]
    vae = make_vae(3, architecture, **options)
    z_mean, z_log_var, z = vae.encoder.predict(x, verbose=0)
    assert z_mean.shape == z_log_var.shape == z.shape == (16, 3)
    x_decoded = vae.decoder.predict(z, verbose=0)
    assert x_decoded.shape == (16, 28, 28, 1)
    assert x_decoded.min() >= 0.0 and x_decoded.max() <= 1.0
    assert vae.predict(x, verbose=0).shape == (16, 28, 28, 1) and vae(x)[2].shape == (16, 3)  # call: the encoder's


def test_loss_terms_equal_a_hand_computation_on_a_fixed_batch(mnist_small):
    x = mnist_small[0][0][:8]
    vae = make_vae(2)
    state = vae.encoder.get_layer("z").seed_generator.state
    start = state.numpy()
    z_mean, z_log_var, z = (t.numpy() for t in vae.encoder(x))
    state.assign(start)  # the loss below then draws the same eps, hence the same z
    terms = batch_losses(vae, x)

    p = vae.decoder.predict(z, verbose=0).astype("float64")
    bce = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=(1, 2, 3)).mean()
    kl = (-0.5 * (1 + z_log_var - z_mean**2 - np.exp(z_log_var)).sum(axis=1)).mean()
    assert terms["reconstruction_loss"] == pytest.approx(bce, rel=1e-5)
    assert terms["kl_loss"] == pytest.approx(kl, rel=1e-4, abs=1e-6)
    assert terms["loss"] == pytest.approx(bce + kl, rel=1e-5)


def test_beta_weights_the_kl_term(mnist_small):
    x = mnist_small[0][0][:8]
    vae = make_vae(2)
    vae.beta.assign(4.0)
    terms = batch_losses(vae, x)
    assert terms["loss"] == pytest.approx(terms["reconstruction_loss"] + 4.0 * terms["kl_loss"], rel=1e-6)


def test_a_few_train_steps_lower_the_loss_on_real_digits(mnist_small):
    x = mnist_small[0][0][:256]
    vae = make_vae(2)
    before = vae.evaluate(x, batch_size=256, verbose=0, return_dict=True)["loss"]
    vae.fit(x, epochs=5, batch_size=32, verbose=0)
    after = vae.evaluate(x, batch_size=256, verbose=0, return_dict=True)["loss"]
    assert before > 500  # an untrained decoder outputs ~0.5 everywhere: 784 * log 2 = 543 nats
    assert after < before - 150


def test_fit_with_validation_data_reports_train_and_validation_terms(mnist_small):
    (x_train, _), (x_test, _) = mnist_small
    history = make_vae(2).fit(x_train[:64], epochs=2, batch_size=32, validation_data=(x_test[:32], None), verbose=0)
    names = ["loss", "reconstruction_loss", "kl_loss"]
    assert set(history.history) == set(names + ["val_" + n for n in names])
    for values in history.history.values():
        assert len(values) == 2 and np.isfinite(values).all() and min(values) >= 0


def test_decoder_without_a_final_sigmoid_is_refused():
    z = keras.Input((2,))
    bad_decoder = keras.Model(z, keras.layers.Reshape((28, 28, 1))(keras.layers.Dense(784, activation="sigmoid")(z)))
    with pytest.raises(ValueError, match="Activation\\('sigmoid'\\)"):
        VAE(build_encoder(2), bad_decoder)


def sigmoid_decoder(built_in, seed=0):
    """A small decoder ending with Conv2DTranspose(1, 3, ...): activation="sigmoid" built in, or a separate Activation."""
    z = keras.Input((2,))
    h = keras.layers.Reshape((7, 7, 8))(keras.layers.Dense(7 * 7 * 8, activation="relu")(z))
    last = keras.layers.Conv2DTranspose(1, 3, strides=4, padding="same", activation="sigmoid" if built_in else None)
    x = last(h) if built_in else keras.layers.Activation("sigmoid")(last(h))
    decoder = keras.Model(z, x)
    rng = np.random.default_rng(seed)
    decoder.set_weights([rng.normal(0.0, 0.3, w.shape).astype("float32") for w in decoder.get_weights()])
    return decoder


def test_a_last_layer_with_the_sigmoid_built_in_gives_the_loss_of_a_separate_activation(mnist_small):
    x = mnist_small[0][0][:16]
    built_in, separate = (VAE(build_encoder(2, seed=0), sigmoid_decoder(flag)) for flag in (True, False))
    separate.encoder.set_weights(built_in.encoder.get_weights())
    z = np.random.default_rng(1).normal(size=(16, 2)).astype("float32")
    np.testing.assert_allclose(built_in.decoder_logits.predict(z, verbose=0), separate.decoder_logits.predict(z, verbose=0),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(built_in.reconstruction_loss(x, z)),
                               keras.ops.convert_to_numpy(separate.reconstruction_loss(x, z)), rtol=1e-5)
    # The user's decoder still applies its sigmoid: the logits are taken without changing it.
    p = built_in.decoder.predict(z, verbose=0)
    assert p.min() >= 0.0 and p.max() <= 1.0
    np.testing.assert_allclose(p, separate.decoder.predict(z, verbose=0), rtol=1e-5, atol=1e-6)


class KerasIoSampling(keras.layers.Layer):
    """The keras-io example's own Sampling layer (examples/generative/vae.py), as a learner brings it."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(shape=keras.ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + keras.ops.exp(0.5 * z_log_var) * epsilon


def keras_io_parts(latent_dim=2):
    """The keras-io VAE example's encoder and decoder, layer for layer: its decoder ends with
    Conv2DTranspose(1, 3, activation="sigmoid", padding="same"), no separate Activation."""
    encoder_inputs = keras.Input(shape=(28, 28, 1))
    x = keras.layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(encoder_inputs)
    x = keras.layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(x)
    x = keras.layers.Dense(16, activation="relu")(keras.layers.Flatten()(x))
    z_mean = keras.layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = keras.layers.Dense(latent_dim, name="z_log_var")(x)
    z = KerasIoSampling()([z_mean, z_log_var])
    encoder = keras.Model(encoder_inputs, [z_mean, z_log_var, z], name="encoder")
    latent_inputs = keras.Input(shape=(latent_dim,))
    x = keras.layers.Dense(7 * 7 * 64, activation="relu")(latent_inputs)
    x = keras.layers.Reshape((7, 7, 64))(x)
    x = keras.layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(x)
    x = keras.layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
    decoder_outputs = keras.layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(x)
    return encoder, keras.Model(latent_inputs, decoder_outputs, name="decoder")


def test_the_keras_io_examples_encoder_and_decoder_train_unchanged(mnist_small):
    encoder, decoder = keras_io_parts()
    vae = VAE(encoder, decoder)
    vae.compile(optimizer=keras.optimizers.Adam())
    history = vae.fit(mnist_small[0][0][:256], epochs=3, batch_size=64, verbose=0).history
    assert history["loss"][-1] < history["loss"][0] < 560  # from about 543 nats (784 log 2) down
    assert history["kl_loss"][-1] > 0
    assert vae.decoder is decoder and vae.encoder is encoder


ROUND_TRIP = """
import sys, numpy as np, keras
import keras_vae  # registers the custom classes
vae = keras.models.load_model(sys.argv[1] + "/vae.keras", safe_mode=True)
decoder = keras.models.load_model(sys.argv[1] + "/decoder.keras", safe_mode=True)
encoder = keras.models.load_model(sys.argv[1] + "/encoder.keras", safe_mode=True)
data = np.load(sys.argv[1] + "/inputs.npz")
np.savez(sys.argv[1] + "/outputs.npz",
         vae_decoder=vae.decoder.predict(data["z"], verbose=0),
         decoder=decoder.predict(data["z"], verbose=0),
         z_mean=encoder.predict(data["x"], verbose=0)[0],
         beta=float(vae.beta.numpy()), optimizer_variables=len(vae.optimizer.variables))
"""


@pytest.mark.slow
def test_keras_files_reload_in_a_fresh_process_with_identical_outputs(mnist_small, tmp_path):
    x = mnist_small[0][0][:32]
    vae = VAE(build_encoder(2, seed=0), build_decoder(2), beta=0.5)
    vae.compile(optimizer=keras.optimizers.Adam())
    vae.fit(x, epochs=1, batch_size=16, verbose=0)
    z = np.random.default_rng(0).normal(size=(5, 2)).astype("float32")
    vae.save(tmp_path / "vae.keras")
    vae.encoder.save(tmp_path / "encoder.keras")
    vae.decoder.save(tmp_path / "decoder.keras")
    np.savez(tmp_path / "inputs.npz", x=x[:5], z=z)

    subprocess.run([sys.executable, "-c", ROUND_TRIP, str(tmp_path)], check=True)
    out = np.load(tmp_path / "outputs.npz")
    expected = vae.decoder.predict(z, verbose=0)
    np.testing.assert_array_equal(out["vae_decoder"], expected)
    np.testing.assert_array_equal(out["decoder"], expected)
    np.testing.assert_array_equal(out["z_mean"], vae.encoder.predict(x[:5], verbose=0)[0])
    assert float(out["beta"]) == 0.5
    assert int(out["optimizer_variables"]) == len(vae.optimizer.variables) > 2


def test_gaussian_likelihood_is_a_variance_scaled_squared_error_with_a_learned_variance(mnist_small):
    x = mnist_small[0][0][:8]
    vae = VAE(build_encoder(2, "mlp", hidden_dim=16, seed=0), build_decoder(2, "mlp", hidden_dim=16), likelihood="gaussian")
    z = np.random.default_rng(0).normal(size=(8, 2)).astype("float32")
    mean = vae.decoder.predict(z, verbose=0).astype("float64")
    vae.output_log_var.assign(np.log(0.04))
    expected = 0.5 * ((x - mean) ** 2 / 0.04 + np.log(0.04) + np.log(2 * np.pi)).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(vae.reconstruction_loss(x, z).numpy(), expected, rtol=1e-5)
    assert any(w is vae.output_log_var for w in vae.trainable_weights)
    assert VAE.from_config(vae.get_config()).likelihood == "gaussian"


def test_an_unknown_likelihood_is_refused():
    with pytest.raises(ValueError, match="choose one of"):
        VAE(build_encoder(2), build_decoder(2), likelihood="poisson")


def test_the_fast_path_computes_what_the_plain_path_computes(mnist_small):
    """steps_per_execution (the speed lever the training command uses) changes no number."""
    x = tf.data.Dataset.from_tensor_slices(mnist_small[0][0][:256]).batch(32)
    _, plain_losses, plain = fit_small_vae(x, keras.optimizers.Adam(1e-3))
    _, fast_losses, fast = fit_small_vae(x, keras.optimizers.Adam(1e-3), steps_per_execution=4)
    np.testing.assert_allclose(fast_losses, plain_losses, rtol=1e-5)
    for f, p in zip(fast, plain):
        np.testing.assert_allclose(f, p, rtol=1e-5, atol=1e-6)


def test_a_mixed_float16_step_makes_the_float32_update(mnist_small):
    """Under mixed_float16 the loss stays float32 and the loss-scaled gradients are unscaled (else SGD barely moves)."""
    x = mnist_small[0][0][:64]

    def sgd_vae():
        keras.utils.set_random_seed(0)
        vae = make_vae(4, "mlp", hidden_dim=32)
        vae.compile(optimizer=keras.optimizers.SGD(1e-3))
        return vae

    reference = sgd_vae()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        mixed = sgd_vae()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    mixed.set_weights(reference.get_weights())
    assert mixed.decoder.layers[-2].compute_dtype == "float16"
    assert np.isfinite(batch_losses(mixed, x)["loss"])
    start = reference.get_weights()
    for vae in (reference, mixed):
        vae.encoder.get_layer("z").seed_generator.state.assign([7, 0])  # the same eps for both
        vae.fit(x, batch_size=64, epochs=1, verbose=0)
    for before, a, b in zip(start, reference.get_weights(), mixed.get_weights()):
        np.testing.assert_allclose(b - before, a - before, atol=2e-2 * np.abs(a - before).max() + 1e-7)


def test_the_fast_path_a_user_chooses_computes_what_the_plain_path_computes(mnist_small):
    """compile(FusedAdam(), steps_per_execution=32), the training command's choice, against compile(Adam()):
    the same losses on fit(numpy), as the README writes it."""
    from keras_vae import FusedAdam

    x = mnist_small[0][0][:256]
    runs = {}
    for name, options in {"fast": {"optimizer": FusedAdam(1e-3), "steps_per_execution": 32},
                          "plain": {"optimizer": keras.optimizers.Adam(1e-3)}}.items():
        keras.utils.set_random_seed(0)
        vae = VAE(build_encoder(2, "mlp", hidden_dim=32, seed=0), build_decoder(2, "mlp", hidden_dim=32))
        vae.compile(**options)
        runs[name] = (vae, vae.fit(x, epochs=2, batch_size=32, verbose=0).history["loss"])
    (fast, fast_losses), (plain, plain_losses) = runs["fast"], runs["plain"]
    assert fast.steps_per_execution == 32 and plain.steps_per_execution == 1
    np.testing.assert_allclose(fast_losses, plain_losses, rtol=1e-5)
    for f, p in zip(fast.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(f, p, atol=1e-4)  # Adam divides by sqrt(v): rounding shows where v is tiny


def iwae_vae(k):
    """A small binarized-data VAE whose loss is the importance-weighted bound with k draws."""
    keras.utils.set_random_seed(0)
    vae = VAE(build_encoder(2, "mlp", hidden_dim=32, seed=0), build_decoder(2, "mlp", hidden_dim=32), importance_samples=k)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    return vae


def test_the_importance_weighted_loss_lies_between_the_elbo_and_the_log_likelihood(mnist_small):
    """Burda et al.: -ELBO >= -L_k >= -log p(x), with -L_k -> -log p(x) as k grows (here on 16 binarized digits)."""
    from keras_vae import estimate_log_likelihood
    from keras_vae.data import binarize_images

    x = binarize_images(mnist_small[1][0][:16], seed=0)
    vae = iwae_vae(1)
    vae.fit(binarize_images(mnist_small[0][0], seed=1), epochs=3, batch_size=64, verbose=0)
    def mean_loss(k, repeats):  # the test step traced once per k (k is read when it is traced)
        vae.importance_samples = k
        step = tf.function(vae.test_step)
        return np.mean([batch_losses(vae, tf.constant(x), step)["loss"] for _ in range(repeats)])
    elbo_loss, iwae_10, iwae_500, iwae_5000 = mean_loss(1, 100), mean_loss(10, 20), mean_loss(500, 4), mean_loss(5000, 2)
    nll = -estimate_log_likelihood(vae, x, k=5000, verbose=0)  # the same bound at k = 5000, by evaluate.py
    assert elbo_loss > iwae_10 + 1.0 > iwae_500 + 2.0 > iwae_5000 + 2.5
    assert iwae_5000 == pytest.approx(nll, abs=1.0)


def test_with_importance_samples_it_still_reports_the_elbo_terms_and_saves_k(mnist_small, tmp_path):
    x = mnist_small[0][0]
    vae = iwae_vae(5)
    history = vae.fit(x, epochs=3, batch_size=64, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    # The bound is tighter than the ELBO whose terms are reported beside it.
    assert history["loss"][-1] < history["reconstruction_loss"][-1] + history["kl_loss"][-1]
    vae.save(tmp_path / "vae.keras")
    assert keras.models.load_model(tmp_path / "vae.keras").importance_samples == 5
    with pytest.raises(ValueError, match="`importance_samples` must be an integer from 1 to 100000, got 0"):
        iwae_vae(0)


def test_the_training_step_reads_like_the_tutorial_in_one_function():
    """keras-io's step by its names, top to bottom in VAE.compute_loss, the loss every backend trains on (at most 45
    lines): the encoder's outputs (VAE.call's encoder(x)), decoder(z), the two terms, their sum; and the TensorFlow
    train_step around it."""
    import inspect

    source = inspect.getsource(VAE.compute_loss)
    steps = ["z_mean, z_log_var, z = y_pred", "self.logits(z, x", "reconstruction_loss = ", "kl_loss = ", "total_loss = "]
    assert [source.index(step) for step in steps] == sorted(source.index(step) for step in steps)
    assert len(source.splitlines()) <= 45
    assert "self.encoder(" in inspect.getsource(VAE.call)
    step = inspect.getsource(VAE.train_step)
    assert [step.index(s) for s in ("self(x, training=True)", "self.compute_loss(", "self.minimize(tape")] == sorted(
        step.index(s) for s in ("self(x, training=True)", "self.compute_loss(", "self.minimize(tape"))


def test_free_bits_floor_each_latent_dims_batch_kl_in_the_loss_and_kl_loss_stays_the_true_kl(mnist_small, tmp_path):
    from keras_vae.priors import MixturePrior

    x = mnist_small[0][0][:16]
    vae = VAE(build_encoder(4, "mlp", hidden_dim=16, seed=0), build_decoder(4, "mlp", hidden_dim=16), free_bits=0.5)
    state = vae.encoder.get_layer("z").seed_generator.state
    start = state.numpy()
    z_mean, z_log_var, z = (t.numpy().astype("float64") for t in vae.encoder(x))
    state.assign(start)  # the loss below draws the same eps
    terms = batch_losses(vae, x)
    kl_per_dim = (-0.5 * (1 + z_log_var - z_mean**2 - np.exp(z_log_var))).mean(axis=0)
    assert kl_per_dim.min() < 0.5  # a fresh encoder: some dims below the floor, so the floor matters
    recon = terms["reconstruction_loss"]
    assert terms["loss"] == pytest.approx(recon + np.maximum(kl_per_dim, 0.5).sum(), rel=1e-5)
    assert terms["kl_loss"] == pytest.approx(kl_per_dim.sum(), rel=1e-4, abs=1e-5)
    vae.save(tmp_path / "vae.keras")
    assert keras.models.load_model(tmp_path / "vae.keras").free_bits == 0.5
    for others in ({"importance_samples": 5}, {"prior": MixturePrior(4, 3)}):
        with pytest.raises(ValueError, match="`free_bits` floors each latent dim's KL to N\\(0, I\\)"):
            VAE(build_encoder(4, "mlp", hidden_dim=16), build_decoder(4, "mlp", hidden_dim=16), free_bits=0.5, **others)
