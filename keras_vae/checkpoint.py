"""Per-epoch checkpoints that a kill at any moment cannot break, and resuming from them."""
import json
import math
import os
import time
from pathlib import Path

import keras

from .runs import write_json
from .loading import load_keras_model


class EpochCheckpoint(keras.callbacks.Callback):
    """After each epoch whose losses are finite, saves the VAE (with optimizer state), the history and the
    seconds trained so far (`seconds` before this fit, from the invocations a resumed run continues).

    The model goes to a temporary file renamed to epoch_<N>.keras; only then does state.json (also
    renamed into place) point at it. A kill at any moment leaves state.json naming a complete file.
    """

    def __init__(self, directory, history=None, seconds=0.0):
        super().__init__()
        self.directory = Path(directory)
        self.history = {name: list(values) for name, values in (history or {}).items()}
        self.seconds_before = self.seconds = seconds

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if not all(math.isfinite(value) for value in logs.values()):
            return
        for name, value in logs.items():
            self.history.setdefault(name, []).append(float(value))
        self.seconds = self.seconds_before + time.perf_counter() - self.started
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"epoch_{epoch + 1}.keras"
        tmp = self.directory / f"epoch_{epoch + 1}.tmp.keras"
        self.model.save(tmp)
        os.replace(tmp, self.directory / name)
        write_json(self.directory / "state.json", {"epoch": epoch + 1, "model": name, "history": self.history,
                                                         "seconds": round(self.seconds, 1)})
        for old in self.directory.glob("epoch_*.keras"):
            if old.name != name:
                old.unlink()


def load_checkpoint(directory):
    """(vae, epochs done, history so far, seconds trained so far) from an EpochCheckpoint folder."""
    state_path = Path(directory) / "state.json"
    if not state_path.is_file():
        raise FileNotFoundError(f"No checkpoint to resume from in {directory}: start without `resume` to train afresh.")
    state = json.loads(state_path.read_text())
    vae = load_keras_model(Path(directory) / state["model"])
    return vae, state["epoch"], state["history"], state.get("seconds", 0.0)
