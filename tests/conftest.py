"""Shared fixtures: a small slice of real MNIST shipped with the tests (512 train, 128 test), the tiny runs many tests
read (trained once per session), and the two lanes: `python -m pytest` runs the fast one, `--runslow` adds the
end-to-end tests marked `slow` (fresh clone, notebooks, browser, fresh processes, kill and resume, tf.distribute)."""
import contextlib
import gzip
import io
import os
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) >= (os.cpu_count() or 1):
    # A worker per core: one TensorFlow thread each, not every worker's ops on every core (15 s less on 2 cores).
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
# A user's settings change what the commands read and show: every test starts without them, and a test that needs one
# sets it (monkeypatch.setenv, or a subprocess's env).
for variable in ("KERAS_VAE_MNIST", "KERAS_VAE_VERBOSE", "KERAS_VAE_QUICK", "KERAS_VAE_REPO"):
    os.environ.pop(variable, None)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from keras_vae import load_mnist  # noqa: E402

SMALL_MNIST = Path(__file__).parent / "data" / "mnist_small.npz"


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true",
                     help="also run the slow lane: the end-to-end tests marked slow (CI runs both lanes)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow lane: add --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def mnist_small():
    """((x_train, y_train), (x_test, y_test)) as load_mnist returns them, from the fixture file."""
    return load_mnist(SMALL_MNIST)


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Each test starts from the same seeds and a clean Keras session (without the garbage collection that
    clear_session runs by default: a third of a second per test, and nothing a test reads depends on it)."""
    keras.utils.clear_session(free_memory=False)
    keras.utils.set_random_seed(0)
    yield


def fit_small_vae(x, optimizer, steps_per_execution=1, epochs=2):
    """A seeded small mlp VAE fitted on the dataset x: (start weights, losses per epoch, final weights)."""
    from keras_vae import VAE, build_decoder, build_encoder

    keras.utils.clear_session()
    keras.utils.set_random_seed(0)
    vae = VAE(build_encoder(2, "mlp", hidden_dim=32, seed=0), build_decoder(2, "mlp", hidden_dim=32))
    vae.compile(optimizer=optimizer, steps_per_execution=steps_per_execution)
    start = vae.get_weights()
    losses = vae.fit(x, epochs=epochs, verbose=0).history["loss"]
    return start, losses, vae.get_weights()


def batch_losses(vae, x, test_step=None):
    """The loss terms of the one batch x as the model's training step computes them, without its update
    (test_step: vae.test_step, or a traced copy of it)."""
    vae.reset_metrics()
    return {name: float(value) for name, value in (test_step or vae.test_step)(x).items()}


def run_command(*args):
    """`python -m keras_vae <args>` run in this process (no second TensorFlow start-up): its exit code, stdout and
    stderr, as subprocess.run gives them. Tests of how a fresh process starts run it as a subprocess instead."""
    from keras_vae import cli

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            cli.main([str(arg) for arg in args])
            code = 0
        except SystemExit as exit_info:
            code = exit_info.code or 0
    return SimpleNamespace(returncode=code, stdout=stdout.getvalue(), stderr=stderr.getvalue())


def write_idx(path, array):
    """An MNIST-format IDX file of unsigned bytes, gzipped."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def tensorboard_events(folder):
    """{tag: [(step, value or image shape)]} from the TensorBoard event files in `folder`."""
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    logged = {}
    for tag in events.Tags()["tensors"]:
        for event in events.Tensors(tag):
            array = tf.make_ndarray(event.tensor_proto)
            logged.setdefault(tag, []).append((event.step, float(array) if array.ndim == 0 else array.shape))
    return logged


TINY_TRAIN = ["train", "--data", SMALL_MNIST, "--architecture", "mlp", "--hidden-dim", 16, "--epochs", 2]


def train_tiny(out, *args):
    """`train` in this process on the fixture MNIST: a 2-epoch mlp (16 units) run written to `out`; returns `out`."""
    result = run_command(*TINY_TRAIN, *args, "--out", out)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory, worker_id):
    """The runs tests read, trained once per test run with figures and TensorBoard logs: `vae`, `ae` (its autoencoder
    twin: the same stack, data and seed), `cvae` (a conditional VAE of the digits, z 4-D, one epoch) and `classifier` (a 1-epoch
    digit classifier). Under xdist the first worker
    to ask trains them in the run's shared temporary folder while the others wait; tests only read them."""
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    root = shared / "tiny_runs"
    with FileLock(str(root) + ".lock"):
        if not (root / "complete").is_file():
            train_tiny(root / "vae", "--force")
            train_tiny(root / "ae", "--kind", "ae", "--force")
            train_tiny(root / "cvae", "--conditional", "--latent-dim", 4, "--epochs", 1, "--force")
            result = run_command("train-classifier", "--data", SMALL_MNIST, "--epochs", 1, "--out", root / "classifier",
                                 "--force")
            assert result.returncode == 0, result.stderr
            (root / "complete").touch()
    return root
