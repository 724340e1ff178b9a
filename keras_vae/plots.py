"""The tutorial's figures, each returned as a matplotlib Figure (no pyplot state, safe headless)."""
import numpy as np
from matplotlib.figure import Figure
from matplotlib.image import imsave
from scipy.stats import norm

from .decoders import decode, decoder_kind, latent_dim, reconstruct, sample_prior


def tile_images(images, rows, cols):
    """(rows*cols, h, w[, 1]) images -> one (rows*h, cols*w) array, row by row."""
    images = np.asarray(images).reshape(rows, cols, *np.shape(images)[1:3])
    height, width = images.shape[2:4]
    return images.transpose(0, 2, 1, 3).reshape(rows * height, cols * width)


def manifold_grid(decoder, n=20, dims=(0, 1), batch_size=256):
    """The tutorial's manifold: z on norm.ppf(linspace(0.05, 0.95, n)) in two latent dims, others 0.

    Row i takes z[dims[1]] = grid_x[i], column j takes z[dims[0]] = grid_y[j], as in the tutorial's loop.
    """
    size = latent_dim(decoder)
    if max(dims) >= size or dims[0] == dims[1]:
        raise ValueError(f"dims {dims} must be two different axes of the {size}-D latent space.")
    grid_x = norm.ppf(np.linspace(0.05, 0.95, n))
    grid_y = norm.ppf(np.linspace(0.05, 0.95, n))
    z_sample = np.zeros((n * n, size), dtype="float32")
    for i, yi in enumerate(grid_x):
        for j, xi in enumerate(grid_y):
            z_sample[i * n + j, dims[0]] = xi
            z_sample[i * n + j, dims[1]] = yi
    x_decoded = decode(decoder, z_sample, batch_size=batch_size)
    return tile_images(x_decoded, n, n), grid_x


def manifold_figure(decoder, n=20, dims=(0, 1)):
    """The n x n grid of decoded digits over the latent plane."""
    figure, grid = manifold_grid(decoder, n, dims)
    fig = Figure(figsize=(10, 10))
    ax = fig.subplots()
    ax.imshow(figure, cmap="Greys_r")
    digit_size = figure.shape[0] // n
    ticks = np.arange(n) * digit_size + digit_size / 2
    labels = [f"{v:.1f}" for v in grid]
    ax.set_xticks(ticks[::2], labels[::2])
    ax.set_yticks(ticks[::2], labels[::2])
    ax.set_xlabel(f"z[{dims[0]}]")
    ax.set_ylabel(f"z[{dims[1]}]")
    ax.set_title("Latent manifold: decoder(norm.ppf(linspace(0.05, 0.95, n)))")
    return fig


def latent_scatter_figure(z_mean, labels, dims=(0, 1)):
    """z_mean of each image in two latent dims, coloured by its digit label."""
    fig = Figure(figsize=(8, 7))
    ax = fig.subplots()
    points = ax.scatter(z_mean[:, dims[0]], z_mean[:, dims[1]], c=labels, cmap="tab10", s=2)
    fig.colorbar(points, ax=ax, ticks=range(10), label="digit")
    ax.set_xlabel(f"z_mean[{dims[0]}]")
    ax.set_ylabel(f"z_mean[{dims[1]}]")
    ax.set_title("Latent space: z_mean by label")
    return fig


def reconstruction_grid(originals, reconstructions):
    """Originals (top row) over their reconstructions (bottom row), tiled into one array."""
    return tile_images(np.concatenate([originals, reconstructions]), 2, len(originals))


def reconstruction_figure(originals, reconstructions):
    """Originals (top row) over their reconstructions (bottom row)."""
    n = len(originals)
    fig = Figure(figsize=(n, 2.3))
    ax = fig.subplots()
    ax.imshow(reconstruction_grid(originals, reconstructions), cmap="Greys_r")
    ax.set_yticks([14, 42], ["original", "reconstruction"])
    ax.set_xticks([])
    return fig


def samples_title(decoder):
    """What a grid of prior samples through `decoder` shows, in the words of its decoder kind."""
    return f"Samples: {decoder_kind(decoder).shows}, z ~ N(0, I)"


def samples_figure(x_sampled, title="Samples: decoder(z), z ~ N(0, I)"):
    """A square grid of decoded samples."""
    side = int(np.sqrt(len(x_sampled)))
    fig = Figure(figsize=(side, side + 0.4))
    ax = fig.subplots()
    ax.imshow(tile_images(x_sampled[: side * side], side, side), cmap="Greys_r")
    ax.set_axis_off()
    ax.set_title(title)
    return fig


def history_figure(history, warmup_epochs=0):
    """Loss, reconstruction and KL per epoch, train and validation (a Keras History.history dict).

    The first `warmup_epochs` are shaded: there beta < 1, so the loss is not yet the negative ELBO.
    """
    fig = Figure(figsize=(13, 3.8), layout="constrained")
    for ax, term in zip(fig.subplots(1, 3), ("loss", "reconstruction_loss", "kl_loss")):
        epochs = np.arange(1, len(history[term]) + 1)
        if warmup_epochs:
            ax.axvspan(0.5, warmup_epochs + 0.5, color="0.9", label="KL warm-up")
        ax.plot(epochs, history[term], marker=".", label="train")
        if f"val_{term}" in history:
            ax.plot(epochs, history[f"val_{term}"], marker=".", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel("nats per image")
        ax.set_title(term)
        ax.legend()
    return fig


def run_figures(vae, x_test, y_test, history, warmup_epochs=0):
    """A training run's figures, name -> Figure: latent scatter, reconstructions, samples, learning curves,
    and for a 2-D latent space the tutorial's manifold."""
    encoder, decoder = vae.encoder, vae.decoder
    z_mean = encoder.predict(x_test, verbose=0)[0]
    figures = {
        "latent_scatter": latent_scatter_figure(z_mean, y_test),
        "reconstructions": reconstruction_figure(x_test[:10], reconstruct(encoder, decoder, x_test[:10])),
        "samples": samples_figure(sample_prior(decoder, 64, seed=0), samples_title(decoder)),
        "history": history_figure(history, warmup_epochs),
    }
    if latent_dim(decoder) == 2:
        figures["manifold"] = manifold_figure(decoder, n=20)
    return figures


def save_grid(path, grid):
    """Write a tiled grid of pixel probabilities as a PNG, one image pixel per file pixel."""
    imsave(path, np.clip(grid, 0.0, 1.0), cmap="Greys_r", vmin=0.0, vmax=1.0)
