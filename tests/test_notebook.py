"""The Colab notebook runs top to bottom (quick mode) and draws its figures."""
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from conftest import SMALL_MNIST

NOTEBOOK = Path(__file__).parent.parent / "notebooks" / "vae_mnist.ipynb"


def test_notebook_runs_top_to_bottom_and_produces_its_figures(monkeypatch):
    monkeypatch.setenv("KERAS_VAE_QUICK", "1")
    monkeypatch.setenv("KERAS_VAE_MNIST", str(SMALL_MNIST))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 7  # digits, history, manifold, scatter, reconstructions, samples, SavedModel digit
    text = "".join(o.get("text", "") for o in outputs)
    assert "KL: True" in text and "BCE: True" in text and "equals the Keras decoder: True" in text
    assert "expected [1, -2]" in text and "test loss" in text
