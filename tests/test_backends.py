"""The backend matrix (slow lane): the model, its parts and the commands on JAX and PyTorch, each in a fresh process
(Keras picks its backend once, on import), checked against TensorFlow here. CI (KERAS_VAE_REQUIRE_BACKENDS=1, set by
.ci/run, which installs them) fails without a backend; elsewhere its tests skip."""
import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import SMALL_MNIST

from keras_vae import decode, loading

pytestmark = pytest.mark.slow
BACKENDS = {"jax": "jax", "torch": "torch"}  # KERAS_BACKEND -> the package it needs
SCRIPT = Path(__file__).parent / "backend_script.py"


@pytest.fixture(params=list(BACKENDS))
def backend(request):
    if importlib.util.find_spec(BACKENDS[request.param]) is None:
        message = f"the {request.param} backend is not installed (pip install 'keras_vae[{request.param}]')"
        if os.environ.get("KERAS_VAE_REQUIRE_BACKENDS"):
            pytest.fail(message)
        pytest.skip(message)
    return request.param


def on(backend, *args, module=None):
    """Run the backend script's check (or `python -m keras_vae` with module) on `backend`; the completed process."""
    root = Path(__file__).parent.parent
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", module, *map(str, args)] if module else [sys.executable, str(SCRIPT), *map(str, args)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=root)


def measured(process):
    assert process.returncode == 0, process.stderr[-3000:]
    return json.loads(process.stdout.strip().splitlines()[-1])


def test_the_readme_api_trains_and_its_keras_file_loads_on_tensorflow_with_the_same_codes(backend, tmp_path, mnist_small):
    saved = tmp_path / f"{backend}.keras"
    result = measured(on(backend, "api_path", SMALL_MNIST, saved))
    assert result["backend"] == backend
    assert result["loss"][-1] < result["loss"][0] - 50 and result["predict"] == [2, 28, 28, 1]
    here = keras.models.load_model(saved)  # on TensorFlow, this process's backend
    np.testing.assert_allclose(here.encoder.predict(mnist_small[1][0][:8], verbose=0)[0], result["z_mean"], atol=1e-4)


def test_the_same_weights_give_the_same_losses_and_images_on_each_backend(backend, tmp_path, mnist_small):
    vae = loading.pretrained()
    saved = tmp_path / "tf.keras"
    vae.save(saved)
    theirs = measured(on(backend, "same_numbers", saved, SMALL_MNIST))
    x = mnist_small[1][0][:16]
    z_mean, z_log_var, _ = vae.encoder.predict(x, verbose=0)
    np.testing.assert_allclose(theirs["z_mean"], z_mean, atol=1e-4)
    np.testing.assert_allclose(theirs["reconstruction_loss"], keras.ops.convert_to_numpy(vae.reconstruction_loss(x, z_mean)),
                               rtol=1e-4)
    np.testing.assert_allclose(theirs["kl_loss"], keras.ops.convert_to_numpy(
        vae.prior.kl_divergence(z_mean, z_mean, z_log_var)), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(theirs["decoded"], decode(vae.decoder, z_mean), atol=1e-4)


def test_every_likelihood_prior_bound_and_architecture_trains_and_made_draws(backend):
    losses = measured(on(backend, "every_part", SMALL_MNIST))
    assert losses.pop("backend") == backend
    assert len(losses) == 18 and all(math.isfinite(value) for value in losses.values()), losses
    assert losses["made: drawn pixels in (0, 1)"] == losses["made, local layers: drawn pixels in (0, 1)"] == 1.0


def test_the_commands_run_and_record_the_backend_and_export_on_tensorflow(backend, tmp_path, mnist_small):
    run = tmp_path / "run"
    done = on(backend, "train", "--data", SMALL_MNIST, "--epochs", 1, "--out", run, module="keras_vae")
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["hardware"]["backend"] == backend and (run / "samples.png").is_file()
    done = on(backend, "export", "--model", run, "--out", tmp_path / "exported", module="keras_vae")
    assert done.returncode == 0, done.stderr[-3000:]
    exported = loading.load_part(tmp_path / "exported", "decoder")
    z = np.random.default_rng(0).normal(size=(4, 2)).astype("float32")
    np.testing.assert_allclose(exported.predict(z, verbose=0), decode(loading.load_part(run, "decoder"), z), atol=1e-5)


def test_what_needs_tensorflow_says_so_in_one_error_line(backend, tmp_path):
    done = on(backend, "train", "--data", SMALL_MNIST, "--strategy", "mirrored", "--out", tmp_path / "run",
              module="keras_vae")
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"error: --strategy mirrored (tf.distribute) needs the TensorFlow backend, and Keras runs on {backend} here: "
        "set KERAS_BACKEND=tensorflow (on JAX, keras.distribution spreads training over devices (DataParallel))."]
    assert not (tmp_path / "run").exists()
