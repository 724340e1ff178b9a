"""tf.distribute strategies by name, and which worker writes the run folder."""
import json
import os

import tensorflow as tf

STRATEGIES = ("none", "mirrored", "multiworker")


def make_strategy(name="none"):
    """The default (one device), MirroredStrategy (all local GPUs/devices) or MultiWorkerMirroredStrategy (TF_CONFIG);
    a strategy other than none is TensorFlow's, refused on another Keras backend."""
    if name == "none":
        return tf.distribute.get_strategy()
    require_tensorflow(f"`strategy` {name} (tf.distribute)", "on JAX, keras.distribution spreads training over "
                                                            "devices (DataParallel)")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("`strategy` multiworker needs TF_CONFIG describing the cluster and this worker's task.")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"Unknown strategy {name!r}; choose one of {STRATEGIES}.")


def require_tensorflow(what, instead=""):
    """Refuse `what`, a part that only TensorFlow runs, on another Keras backend, in one sentence that says what to do."""
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ValueError(f"{what} needs the TensorFlow backend, and Keras runs on {keras.backend.backend()} here: set "
                         f"KERAS_BACKEND=tensorflow" + (f" ({instead})" if instead else "") + ".")


def is_chief():
    """Whether this process writes the run folder: the chief task, else worker 0, else the only process."""
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    task = config.get("task")
    if not task:
        return True
    if "chief" in config.get("cluster", {}):
        return task["type"] == "chief"
    return task["type"] == "worker" and task["index"] == 0
