"""Training schedules as Keras callbacks."""
import keras


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
        super().on_epoch_end(epoch, logs)  # also logs the learning rate
        if epoch < self.start_from_epoch:
            self._reset()
