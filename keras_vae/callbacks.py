"""Keras callbacks: training schedules, a progress bar with true step counts, and what TensorBoard shows."""
import math

import keras
import numpy as np
import tensorflow as tf

from . import plots
from .decoders import latent_dim, sample_prior


def log_learning_rate(model, logs):
    """Record the optimizer's current learning rate in an epoch's logs, as Keras's own schedules do."""
    logs["learning_rate"] = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


class KLWarmup(keras.callbacks.Callback):
    """KL warm-up: beta rises linearly from 0 to `target` over the first `epochs` epochs, then stays there.

    Early in training a full-weight KL pulls q(z|x) onto the prior before the decoder can use z;
    warming it up avoids those inactive latent units (Sønderby et al. 2016).
    """

    def __init__(self, epochs, target=1.0):
        super().__init__()
        self.epochs, self.target = epochs, target

    def on_epoch_begin(self, epoch, logs=None):
        self.model.beta.assign(self.target * min(1.0, epoch / self.epochs))


class ReduceLROnPlateau(keras.callbacks.ReduceLROnPlateau):
    """Keras's ReduceLROnPlateau, blind to the first `start_from_epoch` epochs as EarlyStopping can be.

    During KL warm-up beta rises, so val_loss rises with it: a plateau there is not one.
    """

    def __init__(self, *args, start_from_epoch=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.start_from_epoch = start_from_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch >= self.start_from_epoch:
            return super().on_epoch_end(epoch, logs)  # also logs the learning rate
        if logs is not None:
            log_learning_rate(self.model, logs)


class LinearDecay(keras.callbacks.Callback):
    """The learning rate held at `learning_rate`, then lowered linearly to 0 over the last `fraction` of the run's
    steps, so that the run ends on settled weights, not on one noisy step (docs/own_images.md).

    Set per call into TensorFlow (every steps_per_execution steps), from the optimizer's step count, so that a
    resumed run continues the same schedule.
    """

    def __init__(self, fraction, learning_rate):
        super().__init__()
        self.fraction, self.learning_rate = fraction, learning_rate

    def on_train_begin(self, logs=None):
        if not self.params.get("steps"):
            raise ValueError("LinearDecay needs the number of steps per epoch: give fit `steps_per_epoch`.")

    def on_train_batch_begin(self, batch, logs=None):
        total = self.params["epochs"] * self.params["steps"]
        left = total - int(self.model.optimizer.iterations.numpy())
        self.model.optimizer.learning_rate = self.learning_rate * min(1.0, max(0.0, left / (self.fraction * total)))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            log_learning_rate(self.model, logs)


class ProgbarLogger(keras.callbacks.ProgbarLogger):
    """Keras's progress bar, counting at most the epoch's steps: pass it to fit with steps_per_execution > 1.

    With steps_per_execution, Keras reports each execution's nominal last step, so a 469-step epoch
    ends at 480/469 (steps_per_execution=32); here it ends at 469/469.
    """

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(self.within_epoch(batch), logs)

    def on_test_batch_end(self, batch, logs=None):
        super().on_test_batch_end(self.within_epoch(batch), logs)

    def on_predict_batch_end(self, batch, logs=None):
        super().on_predict_batch_end(self.within_epoch(batch), logs)

    def within_epoch(self, batch):
        """The batch index, at most the epoch's last."""
        return batch if self.target is None else min(batch, self.target - 1)


class LogBeta(keras.callbacks.Callback):
    """Adds beta, the KL term's weight, to each epoch's logs: History, TensorBoard and checkpoints record it."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["beta"] = float(keras.ops.convert_to_numpy(self.model.beta))


class TensorBoardImages(keras.callbacks.Callback):
    """Writes, each epoch, the decoder's prior samples (and for a 2-D latent space the manifold) as
    TensorBoard images in <log_dir>/images."""

    def __init__(self, log_dir, samples=64, manifold_size=15):
        super().__init__()
        self.log_dir, self.samples, self.manifold_size = str(log_dir), samples, manifold_size

    def on_train_begin(self, logs=None):
        self.writer = tf.summary.create_file_writer(f"{self.log_dir}/images")

    def on_epoch_end(self, epoch, logs=None):
        decoder, classes = self.model.decoder, self.model.num_classes
        side = math.isqrt(self.samples)
        labels = None if classes is None else np.arange(side * side) // side % classes  # a class per row
        samples = sample_prior(decoder, side * side, seed=0, prior=getattr(self.model, "prior", None), labels=labels)
        images = {"prior samples": plots.tile_images(samples, side, side)}
        if latent_dim(decoder) == 2:
            images["manifold"] = plots.manifold_grid(decoder, self.manifold_size, label=None if classes is None else 0)[0]
        with self.writer.as_default():
            for name, grid in images.items():
                image = np.clip(grid, 0.0, 1.0)
                tf.summary.image(name, (image[..., None] if image.ndim == 2 else image)[None], step=epoch)
        self.writer.flush()

    def on_train_end(self, logs=None):
        self.writer.close()
