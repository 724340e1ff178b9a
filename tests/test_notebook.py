"""The Colab notebook: runs top to bottom (quick mode) and draws its figures; its setup cell installs the package or says what to do."""
import importlib.metadata
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
from matplotlib.image import imread
from nbclient import NotebookClient

from conftest import SMALL_MNIST

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "vae_mnist.ipynb"
AE_VS_VAE = ROOT / "notebooks" / "ae_vs_vae.ipynb"


def run_quickly(path, monkeypatch):
    """The notebook at `path` executed in quick mode on the fixture MNIST: its code cells' outputs."""
    monkeypatch.setenv("KERAS_VAE_QUICK", "1")
    monkeypatch.setenv("KERAS_VAE_MNIST", str(SMALL_MNIST))
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]


@pytest.mark.slow
def test_notebook_runs_top_to_bottom_and_produces_its_figures(monkeypatch):
    outputs = run_quickly(NOTEBOOK, monkeypatch)
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 8  # digits, history, manifold, scatter, reconstructions, samples, explorer, SavedModel digit
    explorers = [o for o in images if "application/vnd.jupyter.widget-view+json" in o["data"]]
    assert len(explorers) == 1 and "A still of the explorer" in explorers[0]["data"]["text/plain"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "KL: True" in text and "BCE: True" in text and "equals the Keras decoder: True" in text
    assert "expected [1, -2]" in text and "test loss" in text


@pytest.mark.slow
def test_the_ae_vs_vae_notebook_tells_the_story_with_its_figures_and_numbers(monkeypatch):
    outputs = run_quickly(AE_VS_VAE, monkeypatch)
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 9  # AE curves, reconstructions, codes, samples; VAE curves; the four comparisons
    text = "".join(o.get("text", "") for o in outputs)
    assert "AE samples read as digits" in text and "prior samples read as digits" in text


def test_both_notebooks_install_the_package_with_the_same_setup_cell():
    cells = [next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code").source
             for path in (NOTEBOOK, AE_VS_VAE)]
    assert cells[0] == cells[1]


def setup_cell():
    """The notebook's first code cell as plain Python (its one IPython magic dropped)."""
    cell = next(c for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code")
    return "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))


def colab_env(**variables):
    """The environment of a Colab kernel: no checkout on the path, keras_vae not installed."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KERAS_VAE_REPO")}
    return {**env, **variables}


def test_the_setup_cell_reads_the_repository_address_from_pyproject():
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"].get("urls", {})
    assert f'REPOSITORY = "{urls.get("Repository", "")}"' in setup_cell()


@pytest.mark.slow
@pytest.mark.parametrize("repository,said", [(None, "keras_vae is not installed: set KERAS_VAE_REPO"),
                                             ("file:///no/such/repository", "pip could not install")])
def test_without_a_reachable_repository_the_setup_cell_says_what_to_do(tmp_path, repository, said):
    env = colab_env(**({"KERAS_VAE_REPO": repository} if repository else {}))
    result = subprocess.run([sys.executable, "-c", setup_cell()], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert said in result.stdout and "upload or clone the repository" in result.stdout


OLD_PIP = int(importlib.metadata.version("pip").split(".")[0]) < 24


@pytest.mark.slow
@pytest.mark.skipif(OLD_PIP, reason="pip < 24 passes PIP_TARGET on to its build isolation and fails ('Cannot set "
                                    "--home and --prefix together'); .ci/run upgrades pip first")
def test_the_setup_cell_installs_the_package_whose_shipped_models_load_by_name_from_anywhere(tmp_path):
    """As in Colab: pip installs from the repository's address (here a clone), and the commands find the
    pretrained models inside the installed package."""
    subprocess.run(["git", "clone", "-q", str(ROOT), str(tmp_path / "repository")], check=True)
    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = colab_env(KERAS_VAE_REPO=f"file://{tmp_path / 'repository'}", PIP_TARGET=str(site), PIP_NO_DEPS="1")
    result = subprocess.run([sys.executable, "-c", setup_cell()], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert result.returncode == 0 and "not installed" not in result.stdout, result.stdout + result.stderr
    installed = colab_env(PYTHONPATH=str(site))
    for command in (["sample", "--model", "pretrained:conv_latent2", "--n", "16", "--out", "s.png"],
                    ["manifold", "--n", "5", "--out", "m.png"]):
        result = subprocess.run([sys.executable, "-m", "keras_vae", *command], cwd=elsewhere, env=installed,
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert str(site / "keras_vae" / "saved_models") in subprocess.run(
            [sys.executable, "-c", "from keras_vae import runs; print(runs.DEFAULT_MODEL)"], cwd=elsewhere,
            env=installed, capture_output=True, text=True).stdout
    assert imread(elsewhere / "s.png")[40:].std() > 0.1 and (elsewhere / "m.png").is_file()


@pytest.mark.parametrize("path,figures", [(NOTEBOOK, 8), (AE_VS_VAE, 9)], ids=["vae_mnist", "ae_vs_vae"])
def test_each_committed_notebook_holds_the_figures_and_log_of_a_full_run(path, figures):
    """So that the repository page shows them: every figure, no error, the full 30 epochs (not quick mode)."""
    outputs = [o for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert len([o for o in outputs if "image/png" in o.get("data", {})]) == figures
    assert "Epoch 30/30" in "".join(o.get("text", "") for o in outputs)
