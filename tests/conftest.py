"""Shared fixtures: a small slice of real MNIST shipped with the tests (512 train, 128 test)."""
import contextlib
import io
import os
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402

from keras_vae import load_mnist  # noqa: E402

SMALL_MNIST = Path(__file__).parent / "data" / "mnist_small.npz"


@pytest.fixture(scope="session")
def mnist_small():
    """((x_train, y_train), (x_test, y_test)) as load_mnist returns them, from the fixture file."""
    return load_mnist(SMALL_MNIST)


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Each test starts from the same seeds and a clean Keras session."""
    keras.utils.clear_session()
    keras.utils.set_random_seed(0)
    yield


def fit_small_vae(x, optimizer, steps_per_execution=1, epochs=2, fuse_adam=True):
    """A seeded small mlp VAE fitted on the dataset x: (start weights, losses per epoch, final weights)."""
    from keras_vae import VAE, build_decoder, build_encoder

    keras.utils.clear_session()
    keras.utils.set_random_seed(0)
    vae = VAE(build_encoder(2, "mlp", hidden_dim=32, seed=0), build_decoder(2, "mlp", hidden_dim=32))
    vae.compile(optimizer=optimizer, steps_per_execution=steps_per_execution, fuse_adam=fuse_adam)
    start = vae.get_weights()
    losses = vae.fit(x, epochs=epochs, verbose=0).history["loss"]
    return start, losses, vae.get_weights()


def batch_losses(vae, x):
    """The loss terms of the one batch x as the model's training step computes them, without its update."""
    vae.reset_metrics()
    return {name: float(value) for name, value in vae.test_step(x).items()}


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
