import json
import subprocess
import sys

import keras
import numpy as np
from matplotlib.image import imread

from conftest import SMALL_MNIST


def run_cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "keras_vae", *map(str, args)], capture_output=True, text=True, **kwargs)


def test_train_writes_a_complete_self_describing_run_folder(tmp_path):
    out = tmp_path / "run"
    result = run_cli("train", "--data", SMALL_MNIST, "--epochs", 2, "--batch-size", 64, "--out", out)
    assert result.returncode == 0, result.stderr
    for name in ["vae.keras", "encoder.keras", "decoder.keras", "history.json", "config.json", "metrics.json",
                 "manifold.png", "latent_scatter.png", "reconstructions.png", "samples.png", "history.png"]:
        assert (out / name).is_file(), name
    history = json.loads((out / "history.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(history["val_loss"]) == 2 and metrics["epochs"] == 2
    assert history["loss"][1] < history["loss"][0] < 560
    assert metrics["final"]["val_loss"] == history["val_loss"][-1]
    assert metrics["samples_per_second"] > 0 and "cpu_count" in metrics["hardware"]
    assert json.loads((out / "config.json").read_text())["latent_dim"] == 2
    assert imread(out / "manifold.png").shape[:2] == (800, 800)
    decoder = keras.models.load_model(out / "decoder.keras", safe_mode=True)
    assert decoder.predict(np.zeros((1, 2)), verbose=0).shape == (1, 28, 28, 1)


def test_autoregressive_binarized_training_with_held_out_validation_then_evaluate_and_sample(tmp_path):
    out = tmp_path / "run"
    result = run_cli("train", "--data", SMALL_MNIST, "--architecture", "made", "--hidden-dim", 32, "--latent-dim", 4,
                     "--epochs", 3, "--binarize", "dynamic", "--kl-warmup-epochs", 2, "--early-stopping-patience", 5,
                     "--lr-patience", 2, "--validation-images", 128, "--out", out)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    # Validation is the last 128 training images; the test set is scored apart, on the weights kept.
    assert metrics["test"]["loss"] != metrics["final"]["val_loss"] and 0 < metrics["test"]["loss"] < 560
    result = run_cli("sample", "--model", out, "--n", 16, "--out", tmp_path / "samples.png")
    assert result.returncode == 0, result.stderr
    samples = imread(tmp_path / "samples.png")
    # Drawn pixel by pixel from Bernoulli conditionals: every pixel is black or white.
    assert samples.shape[:2] == (112, 112) and set(np.unique(samples[..., 0])) == {0.0, 1.0}
    result = run_cli("evaluate", "--model", out, "--k", 50, "--n", 16)
    assert result.returncode == 0, result.stderr
    evaluation = json.loads((out / "metrics.json").read_text())["evaluation"]
    assert evaluation["k"] == 50 and evaluation["test_images"] == 16
    assert evaluation["test_elbo"] < evaluation["test_log_likelihood"] < 0
    assert "NLL =" in result.stdout
