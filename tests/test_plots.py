import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread
from scipy.stats import norm

from keras_vae import build_decoder, build_encoder, plots, runs


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
    assert [t.get_text() for t in figures[-1].axes[0].get_legend().get_texts()] == ["train", "validation"]
    # A run that trained on all its training images reported the test set as val_ (runs.validated_on).
    test_curves = plots.history_figure(history, validated_on=runs.validated_on({"validation_images": 0}))
    assert [t.get_text() for t in test_curves.axes[0].get_legend().get_texts()] == ["train", "test"]


def test_history_figure_shades_the_kl_warm_up_epochs():
    history = {"loss": [3.0, 2.0, 1.5], "reconstruction_loss": [2.0, 1.5, 1.0], "kl_loss": [1.0, 0.5, 0.5]}
    for ax in plots.history_figure(history, warmup_epochs=2).axes:
        (span,) = ax.patches
        assert (span.get_x(), span.get_x() + span.get_width()) == (0.5, 2.5)
    assert not plots.history_figure(history).axes[0].patches


def test_informative_dims_put_the_dims_the_codes_use_first_by_kl_or_for_an_autoencoder_by_variance():
    rng = np.random.default_rng(0)
    z_mean = rng.normal(size=(500, 4)) * np.array([0.01, 2.0, 0.5, 0.0])
    z_log_var = np.log(np.array([1.0, 0.01, 0.1, 1.0]) * np.ones((500, 4)))
    assert plots.informative_dims(z_mean, z_log_var) == (1, 2, 0, 3)
    assert plots.informative_dims(z_mean * np.array([1.0, 0.001, 1.0, 1.0])) == (2, 0, 1, 3)  # no z_log_var: variance
    assert plots.informative_dims(z_mean[:, [3, 1]], z_log_var[:, [3, 1]]) == (0, 1)  # a plane keeps its order


def test_the_scatter_of_a_many_dimensional_latent_space_shows_its_two_most_informative_dims():
    rng = np.random.default_rng(0)
    z_mean = rng.normal(0.0, 0.03, (500, 6)).astype("float32")  # dims the model does not use ...
    z_log_var = np.zeros((500, 6), "float32")
    z_mean[:, 4] = rng.normal(0.0, 2.0, 500)  # ... and two that it does, the larger KL first
    z_mean[:, 1] = rng.normal(0.0, 1.0, 500)
    assert plots.informative_dims(z_mean, z_log_var)[:2] == (4, 1)
    fig = plots.latent_scatter_figure(z_mean, rng.integers(0, 10, 500), z_log_var=z_log_var)
    ax = fig.axes[0]
    assert "dims 4 and 1 of 6" in ax.get_title() and ax.get_xlabel() == "z_mean[4]"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [str(d) for d in range(10)]  # one colour per digit


def test_the_learning_curves_mark_learning_rate_cuts_and_fit_the_axes_after_the_warm_up():
    history = {"loss": [400.0, 300.0, 100.0, 99.0, 98.0], "reconstruction_loss": [90.0, 85.0, 84.0, 83.0, 82.0],
               "kl_loss": [350.0, 200.0, 16.0, 15.0, 14.5], "learning_rate": [1e-3, 1e-3, 1e-3, 5e-4, 5e-4]}
    kl_axis = plots.history_figure(history, warmup_epochs=2).axes[2]
    low, high = kl_axis.get_ylim()
    assert 14.0 < low < 14.5 and 16.0 < high < 17.0  # the last epochs' 14-16 nats fill the axis
    assert [line.get_xdata()[0] for line in kl_axis.lines if line.get_linestyle() == "--"] == [3.5]


def test_the_manifold_labels_its_first_and_last_grid_values():
    ax = plots.manifold_figure(build_decoder(2, "mlp", hidden_dim=8), n=20).axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == f"{norm.ppf(0.05):.2f}" and labels[-1] == f"{norm.ppf(0.95):.2f}"
    assert "downward" in ax.get_ylabel()


def test_a_saved_grid_keeps_every_pixel_value_under_its_title(tmp_path):
    grid = np.random.default_rng(0).random((56, 84)).round(1)
    plots.save_grid(tmp_path / "g.png", grid, "a title", zoom=5)
    image = imread(tmp_path / "g.png")[..., 0]
    assert image.shape == (40 + 280, 420)
    np.testing.assert_allclose(image[40::5, ::5], grid, atol=1 / 255 + 0.01)  # the grey level is the value
    assert image[:40].min() < 0.5  # the title is written above


def test_a_long_title_takes_more_lines_above_the_grid_and_never_covers_it():
    from keras_vae.plots import TITLE_PIXELS, grid_figure

    grid = np.zeros((28, 28, 1), "float32")  # zoom 15: 420 pixels
    short, long = grid_figure(grid, "samples"), grid_figure(grid, "samples, z ~ a mixture " * 12)
    assert short.get_size_inches()[1] * 100 == pytest.approx(420 + TITLE_PIXELS)
    assert long.get_size_inches()[1] * 100 == pytest.approx(420 + 6 + 3 * 17)  # three lines, the most it takes
