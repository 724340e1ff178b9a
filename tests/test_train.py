"""The training command: resume after SIGKILL, the same seed gives the same weights, precision, validation split."""
import dataclasses
import json
import shutil
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_vae.loading import load_part
from keras_vae.run_data import split_validation
from keras_vae.train import TrainConfig, build_model, copy_weights
from conftest import SMALL_MNIST, TINY_TRAIN, run_command, train_tiny

# Batches of 16 make epochs long enough for the kill to land between two checkpoints.
TRAIN = [sys.executable, "-m", "keras_vae", "train", "--data", str(SMALL_MNIST), "--architecture", "mlp",
         "--hidden-dim", "32", "--batch-size", "16", "--no-figures"]


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory):
    """A run of 8 epochs SIGKILLed once 2 are checkpointed: its folder, holding run.partial (copy it to resume)."""
    folder = tmp_path_factory.mktemp("killed")
    state_path = folder / "run.partial" / "checkpoint" / "state.json"
    process = subprocess.Popen([*TRAIN, "--epochs", "8", "--out", str(folder / "run")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not (state_path.is_file() and json.loads(state_path.read_text())["epoch"] >= 2):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return folder


def resumable(killed_run, tmp_path):
    """A copy of the killed run in tmp_path: (its --out, its checkpoint state)."""
    shutil.copytree(killed_run / "run.partial", tmp_path / "run.partial")
    return tmp_path / "run", json.loads((tmp_path / "run.partial" / "checkpoint" / "state.json").read_text())


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_keeps_finished_epochs_and_completes_the_history(killed_run, tmp_path):
    out, state = resumable(killed_run, tmp_path)
    assert 2 <= state["epoch"] < 8, "the kill should land mid-run"
    assert len(state["history"]["loss"]) == state["epoch"]
    assert not (killed_run / "run").exists()  # nothing half-made where the finished run will be

    resumed = subprocess.run([*TRAIN, "--epochs", "8", "--out", str(out), "--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    history = json.loads((out / "history.json").read_text())
    assert all(len(values) == 8 for values in history.values())
    for name, values in state["history"].items():
        assert history[name][: state["epoch"]] == values
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 8
    assert metrics["seconds"] > state["seconds"] > 0  # the killed invocation's seconds are counted too
    assert not (tmp_path / "run.partial").exists() and not (out / "checkpoint").exists()
    assert history["loss"][-1] < history["loss"][0]


@pytest.mark.slow
def test_resume_with_the_epochs_already_done_finishes_the_run_without_training(killed_run, tmp_path):
    # How a long run is stopped early on purpose: kill it, then resume with --epochs at the epochs it reached.
    out, state = resumable(killed_run, tmp_path)
    done = str(state["epoch"])
    resumed = subprocess.run([*TRAIN, "--epochs", done, "--out", str(out), "--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((out / "history.json").read_text()) == state["history"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == state["epoch"] and metrics["seconds"] >= state["seconds"] > 0
    assert metrics["samples_per_second"] > 0  # over the invocations that trained


def test_resume_without_a_checkpoint_says_how_to_start(tmp_path):
    result = run_command(*TINY_TRAIN, "--out", tmp_path / "new", "--resume")
    assert result.returncode == 2 and "No checkpoint to resume from" in result.stderr and "Traceback" not in result.stderr


def test_the_same_seed_gives_the_same_weights_with_or_without_figures(tiny_runs, tmp_path):
    again = train_tiny(tmp_path / "again", "--no-figures")
    a, b = (load_part(run, "decoder").get_weights() for run in (tiny_runs / "vae", again))
    for wa, wb in zip(a, b):
        np.testing.assert_array_equal(wa, wb)
    assert json.loads((again / "history.json").read_text()) == json.loads((tiny_runs / "vae" / "history.json").read_text())
    assert not list(again.glob("*.png")) and not (again / "tensorboard" / "images").exists()
    assert (again / "tensorboard" / "train").is_dir()  # the scalars are still logged


@pytest.mark.parametrize("precision,compute_dtype,optimizer", [
    ("float32", "float32", "FusedAdam"), ("mixed_bfloat16", "bfloat16", "FusedAdam"), ("mixed_float16", "float16", "LossScaleOptimizer")])
def test_precision_sets_the_layers_compute_dtype_and_leaves_the_global_policy_alone(precision, compute_dtype, optimizer):
    vae = build_model(TrainConfig(architecture="mlp", options={"hidden_dim": 16}, precision=precision))
    assert vae.decoder.get_layer("logits").compute_dtype == compute_dtype
    assert vae.decoder.output.dtype == "float32" and type(vae.optimizer).__name__ == optimizer
    assert keras.mixed_precision.global_policy().name == "float32"
    with pytest.raises(ValueError, match="`precision` 'float8' is not one of float32"):
        build_model(TrainConfig(precision="float8"))


def test_ema_momentum_ends_the_run_with_the_moving_average_of_the_weights(mnist_small):
    vae = build_model(TrainConfig(architecture="mlp", options={"hidden_dim": 16}, ema_momentum=0.5, steps_per_execution=1))
    kernel = vae.decoder.trainable_weights[-2]  # the output layer's kernel
    trained = []  # the kernel after each step, as the optimizer left it
    vae.fit(mnist_small[0][0][:64], batch_size=16, epochs=1, verbose=0,
            callbacks=[keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: trained.append(kernel.numpy()))])
    average = trained[0]  # a = m a + (1 - m) w from the first step's weights on
    for weights in trained[1:]:
        average = 0.5 * average + 0.5 * weights
    assert len(trained) == 4 and np.abs(trained[-1] - average).max() > 1e-4
    np.testing.assert_allclose(kernel.numpy(), average, atol=1e-6)


def test_validation_images_are_the_last_training_images():
    x = np.arange(10)
    train_part, validation = split_validation(x, 3)
    np.testing.assert_array_equal(train_part, np.arange(7))
    np.testing.assert_array_equal(validation, [7, 8, 9])
    with pytest.raises(ValueError, match="validation_images"):
        split_validation(x, 10)


def test_a_run_that_fails_leaves_nothing_where_the_run_would_be(tmp_path):
    out = tmp_path / "run"
    result = run_command(*TINY_TRAIN, "--learning-rate", "1e30", "--no-figures", "--out", out)
    assert result.returncode == 2 and "the loss is not finite" in result.stderr
    assert not out.exists() and (tmp_path / "run.partial" / "config.json").is_file()


def test_init_from_starts_where_the_trained_run_ended_and_records_it(tiny_runs, tmp_path):
    # A learning rate near zero leaves the copied weights as they are: the second run starts where the first
    # ended (from its own seed's initial weights it would differ by far more than the tolerance).
    seeded_run = tiny_runs / "vae"
    tuned = train_tiny(tmp_path / "tuned", "--learning-rate", "1e-12", "--seed", 5, "--init-from", seeded_run,
                       "--epochs", 1, "--no-figures")
    for name in ("encoder", "decoder"):
        for a, b in zip(*(load_part(run, name).get_weights() for run in (seeded_run, tuned))):
            np.testing.assert_allclose(b, a, atol=1e-6)
    first, then = (json.loads((run / "metrics.json").read_text())["test"]["loss"] for run in (seeded_run, tuned))
    assert abs(then - first) < 2.0  # the same weights; only the draws of z differ
    recorded = json.loads((tuned / "config.json").read_text())["init_from"]  # relative to the run folder
    assert not recorded.startswith("/") and (tuned / recorded).resolve() == seeded_run.resolve()


def test_init_from_a_run_with_a_mixture_prior_keeps_it_only_when_asked_for():
    config = TrainConfig(architecture="mlp", latent_dim=2, options={"hidden_dim": 16}, prior_components=3)
    source = build_model(config)
    source.prior.fit(np.random.default_rng(0).normal(size=(100, 2)))
    tuned = build_model(dataclasses.replace(config, seed=1))
    copy_weights(tuned, source)
    for ours, theirs in zip(tuned.prior.weights, source.prior.weights):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    with pytest.raises(ValueError, match="give `prior_components` 3 to start from it"):
        copy_weights(build_model(dataclasses.replace(config, prior_components=0)), source)
    with pytest.raises(ValueError, match="give `prior_components` 3"):
        copy_weights(build_model(dataclasses.replace(config, prior_components=5)), source)
