"""Per-epoch checkpoints: the last good epoch survives a loss that blows up, and resumes."""
import keras
import numpy as np

from keras_vae import VAE, build_decoder, build_encoder
from keras_vae.checkpoint import EpochCheckpoint, load_checkpoint


class BlowUpAt(keras.callbacks.Callback):
    """Sets a huge learning rate from the given epoch on, so the loss overflows."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            self.model.optimizer.learning_rate.assign(1e30)


def test_training_stops_at_the_first_non_finite_loss_and_keeps_the_last_good_checkpoint(mnist_small, tmp_path):
    x = mnist_small[0][0][:64]
    vae = VAE(build_encoder(2, "mlp", hidden_dim=16), build_decoder(2, "mlp", hidden_dim=16))
    vae.compile(optimizer=keras.optimizers.SGD(1e-3))
    checkpoint = EpochCheckpoint(tmp_path, seconds=100.0)  # as if resumed after 100 s of training
    history = vae.fit(x, epochs=10, batch_size=16, verbose=0,
                      callbacks=[BlowUpAt(2), keras.callbacks.TerminateOnNaN(), checkpoint]).history
    assert len(history["loss"]) == 3 and not np.isfinite(history["loss"][-1])
    restored, epoch, saved_history, seconds = load_checkpoint(tmp_path)
    assert epoch == 2 and saved_history["loss"] == history["loss"][:2]
    assert 100.0 < seconds < 100.0 + 60  # the seconds before, and those of the two good epochs
    assert all(np.isfinite(w).all() for w in restored.get_weights())
