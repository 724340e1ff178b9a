import re

import keras
import numpy as np

from keras_vae import VAE, build_decoder, build_encoder
from keras_vae.callbacks import KLWarmup, LinearDecay, ProgbarLogger, ReduceLROnPlateau
from keras_vae.train import TrainConfig


def test_kl_warmup_raises_beta_linearly_from_zero_to_the_target(mnist_small):
    vae = VAE(build_encoder(2, "mlp", hidden_dim=16), build_decoder(2, "mlp", hidden_dim=16))
    vae.compile(optimizer=keras.optimizers.Adam())
    seen = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(float(vae.beta.numpy())))
    history = vae.fit(mnist_small[0][0][:32], epochs=6, batch_size=32, verbose=0, callbacks=[KLWarmup(4, target=2.0), record])
    np.testing.assert_allclose(seen, [0.0, 0.5, 1.0, 1.5, 2.0, 2.0])
    # With beta = 0 the total loss is the reconstruction alone.
    assert history.history["loss"][0] == history.history["reconstruction_loss"][0]


def test_lr_schedule_ignores_the_warm_up_epochs_and_then_halves_on_a_plateau(mnist_small):
    vae = VAE(build_encoder(2, "mlp", hidden_dim=16), build_decoder(2, "mlp", hidden_dim=16))
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    schedule = ReduceLROnPlateau("val_loss", factor=0.5, patience=1, start_from_epoch=3)
    schedule.set_model(vae)
    schedule.on_train_begin()
    rates = []
    # val_loss rises through the warm-up (beta grows), then stalls once (epoch 4): one halving, logged from epoch 5.
    for epoch, val_loss in enumerate([1.0, 2.0, 3.0, 4.0, 5.0, 3.0]):
        logs = {"val_loss": val_loss}
        schedule.on_epoch_end(epoch, logs)
        rates.append(logs["learning_rate"])
    np.testing.assert_allclose(rates, [1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 5e-4], rtol=1e-6)


def test_linear_decay_holds_the_rate_then_lowers_it_to_zero_over_the_last_fraction_of_steps(mnist_small):
    vae = VAE(build_encoder(2, "mlp", hidden_dim=16), build_decoder(2, "mlp", hidden_dim=16))
    vae.compile(optimizer=keras.optimizers.Adam(1e-3), steps_per_execution=2)
    rates = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: rates.append(float(vae.optimizer.learning_rate.numpy())))
    history = vae.fit(mnist_small[0][0][:64], batch_size=8, epochs=2, verbose=0,
                      callbacks=[LinearDecay(0.5, 1e-3), record])  # 16 steps in executions of 2, the last 8 decayed
    np.testing.assert_allclose(rates, [1e-3] * 4 + [1e-3 * left / 8 for left in (8, 6, 4, 2)], rtol=1e-6)
    np.testing.assert_allclose(history.history["learning_rate"], [1e-3, 2.5e-4], rtol=1e-6)


def test_a_resumed_run_continues_the_linear_decay_where_it_stopped(mnist_small):
    vae = VAE(build_encoder(2, "mlp", hidden_dim=16), build_decoder(2, "mlp", hidden_dim=16))
    vae.compile(optimizer=keras.optimizers.Adam(1e-3), steps_per_execution=2)
    x = mnist_small[0][0][:64]
    vae.fit(x, batch_size=8, epochs=1, verbose=0)  # the first epoch, as a killed run left it: 8 steps taken
    rates = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: rates.append(float(vae.optimizer.learning_rate.numpy())))
    vae.fit(x, batch_size=8, epochs=2, initial_epoch=1, verbose=0, callbacks=[LinearDecay(0.5, 1e-3), record])
    np.testing.assert_allclose(rates, [1e-3 * left / 8 for left in (8, 6, 4, 2)], rtol=1e-6)


def test_a_config_with_lr_decay_schedules_its_learning_rate_to_decay():
    decays = [c for c in TrainConfig(lr_decay=0.3, learning_rate=2e-3).callbacks() if isinstance(c, LinearDecay)]
    assert [(c.fraction, c.learning_rate) for c in decays] == [(0.3, 2e-3)]
    assert not any(isinstance(c, LinearDecay) for c in TrainConfig().callbacks())


def test_the_progress_bar_ends_each_epoch_at_its_true_step_count(mnist_small, capsys):
    vae = VAE(build_encoder(2, "mlp", hidden_dim=16), build_decoder(2, "mlp", hidden_dim=16))
    vae.compile(optimizer=keras.optimizers.Adam(), steps_per_execution=5)
    vae.fit(mnist_small[0][0], batch_size=16, epochs=1, verbose=1, callbacks=[ProgbarLogger()])  # 32 steps, executions of 5
    counts = [int(count) for count in re.findall(r"(\d+)/32", capsys.readouterr().out)]
    assert counts[-1] == max(counts) == 32  # Keras alone ends at 35/32
