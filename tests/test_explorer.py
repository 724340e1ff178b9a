"""The notebook explorer: sliders and the pointer move z, the image is the decoder's, a still where widgets cannot render."""
import io
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.image import imread

from keras_vae import VAE, build_decoder, build_encoder
from keras_vae.notebook_explorer import STILL, Explorer, explorer

WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def vae():
    return VAE(build_encoder(3, "mlp", hidden_dim=16, seed=0), build_decoder(3, "mlp", hidden_dim=16))


def shown_image(view):
    return np.asarray(view.shown.get_array())


def test_the_explorer_shows_as_a_widget_with_a_still_figure_and_its_sentence_beside(vae, mnist_small):
    view = explorer(vae, *mnist_small[1], sliders=3)
    bundle = view._repr_mimebundle_()
    assert WIDGET in bundle and bundle["text/plain"] == STILL
    still = imread(io.BytesIO(bundle["image/png"]))
    assert still.shape[0] >= 300 and still.shape[1] > still.shape[0]
    assert sorted(view.sliders) == sorted(view.space.slider_dims) and len(view.sliders) == 3


def test_moving_a_slider_decodes_the_new_z_with_the_others_at_the_codes_mean(vae, mnist_small):
    view = explorer(vae, *mnist_small[1], sliders=3)
    view.widget()
    dim = view.space.slider_dims[1]
    view.sliders[dim].value = 1.5
    expected = view.space.center.copy()
    expected[dim] = 1.5
    np.testing.assert_allclose(view.z, expected, rtol=1e-6)
    decoded = vae.decoder.predict(expected[None], verbose=0)[0, ..., 0]
    np.testing.assert_allclose(shown_image(view), decoded, atol=1e-6)
    x_dim, y_dim = view.space.map_dims
    assert view.cross.get_data()[0][0] == pytest.approx(view.z[x_dim])


def test_the_pointer_over_the_map_moves_z_there_and_the_sliders_follow(vae, mnist_small):
    view = explorer(vae, *mnist_small[1], sliders=2)
    view.widget()
    x_dim, y_dim = view.space.map_dims
    view._on_pointer(SimpleNamespace(inaxes=view.ax_map, xdata=-1.0, ydata=2.0))
    assert (view.z[x_dim], view.z[y_dim]) == pytest.approx((-1.0, 2.0))
    assert view.sliders[x_dim].value == pytest.approx(-1.0) and view.sliders[y_dim].value == pytest.approx(2.0)
    view._on_pointer(SimpleNamespace(inaxes=view.ax_image, xdata=5.0, ydata=5.0))  # off the map: nothing moves
    assert view.z[x_dim] == pytest.approx(-1.0)


def test_move_names_dims_and_refuses_one_the_model_lacks(vae, mnist_small):
    view = Explorer(explorer(vae, *mnist_small[1]).space)
    view.move(z2=0.5)
    assert view.z[2] == 0.5
    with pytest.raises(ValueError, match="dims z0..z2; got z7"):
        view.move(z7=1.0)


def test_without_ipywidgets_the_explorer_is_the_still_figure(vae, mnist_small, monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    bundle = explorer(vae, *mnist_small[1])._repr_mimebundle_()
    assert set(bundle) == {"image/png", "text/plain"} and bundle["text/plain"] == STILL


def test_the_shipped_model_explorer_reads_its_run_and_test_set(monkeypatch):
    from conftest import SMALL_MNIST

    view = explorer("pretrained:conv_latent2", data=SMALL_MNIST)
    assert len(view.space.z_mean) == 128 and set(np.unique(view.space.labels)) == set(range(10))
    assert view.space.map_dims == (0, 1) and shown_image(view).std() > 0.05  # a trained decoder: strokes


def test_without_data_a_shipped_model_reads_the_test_set_its_run_recorded(monkeypatch):
    from keras_vae import runs

    recorded = runs.recorded_location(runs.read_config(runs.DEFAULT_MODEL)["data"], runs.DEFAULT_MODEL)
    if not recorded.exists():
        pytest.skip("the shipped run's recorded MNIST (../shared/data/mnist.npz) is not on this machine")
    monkeypatch.delenv("KERAS_VAE_MNIST", raising=False)
    monkeypatch.setattr("keras.datasets.mnist.load_data", lambda: pytest.fail("downloaded MNIST"))
    assert len(explorer("pretrained:conv_latent2", n=300).space.z_mean) == 300
