"""AE vs VAE: `train --kind ae` writes a run, `compare` writes the contrast as figures and numbers."""
import json
import re

import pytest
from matplotlib.image import imread

from conftest import train_tiny
from keras_vae import cli, runs
from keras_vae.compare import COMPARISON, FIGURES, compare_runs


def test_train_kind_ae_writes_a_complete_run_folder(tiny_runs):
    run = tiny_runs / "ae"
    for name in ["ae.keras", "encoder.keras", "decoder.keras", "config.json", "history.json", "metrics.json",
                 "history.png", "latent_scatter.png", "manifold.png", "reconstructions.png", "samples.png"]:
        assert (run / name).is_file(), name
    assert not (run / "vae.keras").exists() and (run / "tensorboard").is_dir()
    assert runs.read_config(run)["kind"] == "ae"
    metrics = runs.read_json(run / runs.METRICS)
    assert sorted(metrics["test"]) == ["loss", "reconstruction_loss"]
    assert sorted(runs.read_json(run / runs.HISTORY)) == ["loss", "reconstruction_loss", "val_loss", "val_reconstruction_loss"]
    assert metrics["test"]["loss"] == metrics["test"]["reconstruction_loss"] > 0


def test_compare_writes_its_figures_and_a_table_of_consistent_numbers(tiny_runs, tmp_path, capsys):
    out = tmp_path / "comparison"
    cli.main(["compare", "--ae", str(tiny_runs / "ae"), "--vae", str(tiny_runs / "vae"), "--classifier",
              str(tiny_runs / "classifier"), "--samples", "100", "--out", str(out)])
    printed = capsys.readouterr().out
    assert "prior samples read as digits" in printed and "effective number of digits" in printed
    assert f"Wrote {out}/" in printed
    for name in FIGURES:
        image = imread(out / f"{name}.png")
        assert min(image.shape[:2]) >= 400 and image[..., :3].std() > 0.05, name
    table = json.loads((out / COMPARISON).read_text())
    ae, vae = table["ae"], table["vae"]
    # The AE's code is deterministic: its test reconstruction loss is the loss from the code.
    assert ae["test"]["reconstruction_loss"] == pytest.approx(ae["reconstruction_loss_at_code"], rel=1e-4)
    assert ae["test"] == pytest.approx(runs.read_json(tiny_runs / "ae" / runs.METRICS)["test"], rel=1e-4)
    assert sorted(vae["test"]) == ["kl_loss", "loss", "reconstruction_loss"] and "kl_loss" not in ae["test"]
    for row in (ae, vae):
        assert len(row["code_mean"]) == len(row["code_std"]) == 2 and min(row["code_std"]) > 0
        judged = row["prior_samples"]
        assert 0.0 <= judged["read_as_digits"] <= 1.0 and sum(judged["digit_shares"]) == pytest.approx(1.0, abs=1e-3)
        assert 1.0 <= judged["effective_digits"] <= 10.0 and 1.0 <= judged["classifier_score"] <= 10.0
    assert all(s > v for s, v in zip(vae["sampled_code_std"], vae["code_std"]))  # q(z|x) adds its own spread
    assert table["test_images"] == 128 and table["prior_draws"] == 100 and 0.0 <= table["test_digits"]["read_as_digits"] <= 1.0


def test_compare_keeps_a_recorded_comparison_unless_forced(tiny_runs, tmp_path):
    arguments = dict(ae_run=tiny_runs / "ae", vae_run=tiny_runs / "vae", out=tmp_path, classifier=tiny_runs / "classifier", samples=16)
    first = compare_runs(**arguments)
    with pytest.raises(runs.RecordedResultError, match="holds a comparison"):
        compare_runs(**arguments)
    again = compare_runs(**arguments, force=True)
    assert again["ae"]["code_mean"] == pytest.approx(first["ae"]["code_mean"])
    assert json.loads((tmp_path / COMPARISON).read_text())["ae"]["code_std"] == pytest.approx(again["ae"]["code_std"])


@pytest.mark.parametrize("ae,vae,message", [("vae", "vae", "holds a VAE, not an autoencoder"),
                                            ("ae", "ae", "holds an autoencoder, not a VAE"),
                                            ("ae", "vae3", "differ in latent size: 2 (AE) and 3 (VAE)")])
def test_compare_refuses_runs_that_do_not_make_the_contrast(tiny_runs, tmp_path, ae, vae, message):
    runs_dir = tiny_runs
    if vae == "vae3":
        runs_dir = tmp_path / "runs"
        train_tiny(runs_dir / "vae3", "--latent-dim", 3, "--epochs", 1, "--no-figures")
        (runs_dir / "ae").symlink_to(tiny_runs / "ae")
    with pytest.raises(ValueError, match=re.escape(message)):
        compare_runs(runs_dir / ae, runs_dir / vae, tmp_path / "comparison", classifier=tiny_runs / "classifier")
    assert not (tmp_path / "comparison" / COMPARISON).exists()
