"""Custom train_step under tf.distribute: same loss and update as one device; FusedAdam on replicas; two local workers train together."""
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from conftest import SMALL_MNIST

ONE_STEP = """
import sys, numpy as np, keras, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from keras import ops
from keras_vae import VAE, Sampling, build_decoder, build_encoder

# Each replica would draw its own eps: one that is a fixed function of the row gives both runs the same z, so
# the only difference left is the reduction across replicas.
Sampling.call = lambda self, inputs: inputs[0] + ops.exp(0.5 * inputs[1]) * ops.stop_gradient(ops.sin(1e3 * inputs[0]))

x = (np.load(sys.argv[1])["x_train"][:64, ..., None] / 255.0).astype("float32")

def one_step(strategy, initial_weights=None):
    with strategy.scope():
        vae = VAE(build_encoder(2, "mlp", hidden_dim=32, seed=0), build_decoder(2, "mlp", hidden_dim=32))
        if initial_weights is not None:
            vae.set_weights(initial_weights)
        start = vae.get_weights()
        vae.compile(optimizer=keras.optimizers.SGD(1e-3))
    loss = vae.fit(tf.data.Dataset.from_tensor_slices(x).batch(64), epochs=1, verbose=0).history["loss"][0]
    return start, loss, [w.numpy() for w in vae.trainable_weights], strategy.num_replicas_in_sync

start, single_loss, single_weights, _ = one_step(tf.distribute.OneDeviceStrategy("/cpu:0"))
_, mirrored_loss, mirrored_weights, replicas = one_step(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), start)
np.savez(sys.argv[2], single_loss=single_loss, mirrored_loss=mirrored_loss, replicas=replicas,
         **{f"single_{i}": w for i, w in enumerate(single_weights)},
         **{f"mirrored_{i}": w for i, w in enumerate(mirrored_weights)},
         **{f"start_{i}": w for i, w in enumerate(start[1:len(single_weights) + 1])})
"""


@pytest.mark.slow
def test_one_mirrored_step_on_two_devices_equals_one_step_on_one_device(tmp_path):
    subprocess.run([sys.executable, "-c", ONE_STEP, str(SMALL_MNIST), str(tmp_path / "out.npz")], check=True)
    out = np.load(tmp_path / "out.npz")
    assert int(out["replicas"]) == 2
    np.testing.assert_allclose(out["mirrored_loss"], out["single_loss"], rtol=1e-5)
    n = len([k for k in out.files if k.startswith("single_") and k != "single_loss"])
    single_steps = [out[f"single_{i}"] - out[f"start_{i}"] for i in range(n)]
    mirrored_steps = [out[f"mirrored_{i}"] - out[f"start_{i}"] for i in range(n)]
    largest = max(float(np.abs(step).max()) for step in single_steps)
    assert largest > 1e-4, "the step must have changed the weights for the comparison to mean anything"
    for i, (single, mirrored) in enumerate(zip(single_steps, mirrored_steps)):
        # Each replica sums its half of the batch in its own float32 order: the steps differ by ~1e-5 of the largest.
        # A wrong reduction (a sum, or one replica's gradient) differs by the step itself.
        assert float(np.abs(mirrored - single).max()) < 1e-3 * largest, f"weight {i}"


MIRRORED_ADAM = """
import sys, numpy as np, keras, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from keras_vae import VAE, FusedAdam, build_decoder, build_encoder

x = (np.load(sys.argv[1])["x_train"][:64, ..., None] / 255.0).astype("float32")
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
copies = {}
for optimizer in (keras.optimizers.Adam, FusedAdam):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        vae = VAE(build_encoder(2, "mlp", hidden_dim=32, seed=0), build_decoder(2, "mlp", hidden_dim=32))
        vae.compile(optimizer=optimizer(1e-2))
    vae.fit(tf.data.Dataset.from_tensor_slices(x).batch(32), epochs=1, verbose=0)
    for i, w in enumerate(vae.trainable_weights):
        for r, copy in enumerate(w.value.values):
            copies[f"{optimizer.__name__}_{i}_{r}"] = copy.numpy()
np.savez(sys.argv[2], **copies)
"""


@pytest.mark.slow
def test_fused_adam_updates_every_replica_as_adam_does(tmp_path):
    subprocess.run([sys.executable, "-c", MIRRORED_ADAM, str(SMALL_MNIST), str(tmp_path / "out.npz")], check=True)
    out = np.load(tmp_path / "out.npz")
    n = len([k for k in out.files if k.startswith("Adam_") and k.endswith("_0")])
    assert n == 10  # five Dense layers
    for i in range(n):
        np.testing.assert_array_equal(out[f"FusedAdam_{i}_1"], out[f"FusedAdam_{i}_0"])
        np.testing.assert_allclose(out[f"FusedAdam_{i}_0"], out[f"Adam_{i}_0"], rtol=1e-5, atol=1e-5)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_local_workers_train_together_and_the_chief_writes_the_run(tmp_path):
    workers = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    processes = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}))
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "keras_vae", "train", "--strategy", "multiworker", "--data", str(SMALL_MNIST),
             "--architecture", "mlp", "--hidden-dim", "32", "--epochs", "2", "--batch-size", "64",
             "--out", str(tmp_path / f"run{index}")],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [p.communicate(timeout=240)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    history = json.loads((tmp_path / "run0" / "history.json").read_text())
    assert len(history["loss"]) == 2 and history["loss"][1] < history["loss"][0]
    assert not (tmp_path / "run1").exists()
