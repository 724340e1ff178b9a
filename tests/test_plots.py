import numpy as np
from matplotlib.figure import Figure
from scipy.stats import norm

from keras_vae import build_decoder, build_encoder, plots


def test_manifold_grid_places_decoder_of_the_tutorials_z_at_each_tile():
    decoder = build_decoder(3, "mlp", hidden_dim=16)
    n = 5
    figure, grid = plots.manifold_grid(decoder, n=n, dims=(0, 2))
    assert figure.shape == (n * 28, n * 28)
    np.testing.assert_allclose(grid, norm.ppf(np.linspace(0.05, 0.95, n)))
    i, j = 1, 3  # row i takes yi = grid[i] on dims[1], column j takes xi = grid[j] on dims[0]
    z = np.array([[grid[j], 0.0, grid[i]]], "float32")
    tile = figure[i * 28:(i + 1) * 28, j * 28:(j + 1) * 28]
    np.testing.assert_allclose(tile, decoder.predict(z, verbose=0)[0, ..., 0], atol=1e-6)


def test_tile_images_lays_images_out_row_by_row():
    images = np.arange(6)[:, None, None, None] * np.ones((6, 2, 3, 1))
    tiled = plots.tile_images(images, 2, 3)
    assert tiled.shape == (4, 9)
    assert tiled[0, 3] == 1 and tiled[2, 0] == 3 and tiled[3, 8] == 5


def test_every_figure_function_returns_a_figure_with_content(mnist_small):
    (_, _), (x_test, y_test) = mnist_small
    encoder, decoder = build_encoder(2, "mlp", hidden_dim=16), build_decoder(2, "mlp", hidden_dim=16)
    z_mean = encoder.predict(x_test, verbose=0)[0]
    history = {"loss": [3.0, 2.0], "val_loss": [3.5, 2.5], "reconstruction_loss": [2.0, 1.5], "kl_loss": [1.0, 0.5]}
    figures = [
        plots.manifold_figure(decoder, n=4),
        plots.latent_scatter_figure(z_mean, y_test),
        plots.reconstruction_figure(x_test[:5], x_test[:5]),
        plots.samples_figure(decoder.predict(np.zeros((16, 2)), verbose=0)),
        plots.history_figure(history),
    ]
    for fig in figures:
        assert isinstance(fig, Figure) and fig.axes
    assert len(figures[-1].axes[0].lines) == 2 and len(figures[-1].axes[1].lines) == 1


def test_history_figure_shades_the_kl_warm_up_epochs():
    history = {"loss": [3.0, 2.0, 1.5], "reconstruction_loss": [2.0, 1.5, 1.0], "kl_loss": [1.0, 0.5, 0.5]}
    for ax in plots.history_figure(history, warmup_epochs=2).axes:
        (span,) = ax.patches
        assert (span.get_x(), span.get_x() + span.get_width()) == (0.5, 2.5)
    assert not plots.history_figure(history).axes[0].patches
