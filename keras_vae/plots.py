"""The tutorial's figures, each returned as a matplotlib Figure (no pyplot state, safe headless)."""
import math

import numpy as np
from matplotlib.figure import Figure
from scipy.stats import norm

from .data import require_images
from .decoders import decode, encode, image_shape, latent_dim, num_classes, reconstruct, sample_prior, shows
from .losses import kl_divergence
from .priors import StandardNormalPrior

# The manifold's rows run down the figure as the tutorial's loop fills them: z[dims[1]] grows downward.
DOWNWARD = "grows downward: row i decodes grid[i], the tutorial's loop order"


def tile_images(images, rows, cols):
    """(rows*cols, h, w[, c]) images -> one (rows*h, cols*w) array of grayscale ones, (rows*h, cols*w, 3) of color
    ones, row by row."""
    images = np.asarray(images)
    height, width = images.shape[1:3]
    channels = images.shape[3] if images.ndim == 4 else 1
    tiled = images.reshape(rows, cols, height, width, channels).transpose(0, 2, 1, 3, 4)
    tiled = tiled.reshape(rows * height, cols * width, channels)
    return tiled[..., 0] if channels == 1 else tiled


def show(ax, grid):
    """Draw a tiled grid of pixel values in [0, 1] on `ax`: grey = value for grayscale, as it is for color."""
    ax.imshow(np.clip(grid, 0.0, 1.0), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")


def manifold_grid(decoder, n=20, dims=(0, 1), batch_size=256, label=None):
    """The tutorial's manifold: z on norm.ppf(linspace(0.05, 0.95, n)) in two latent dims, others 0 (and for a
    conditional decoder, the class `label` in every image).

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
    x_decoded = decode(decoder, z_sample, batch_size=batch_size, labels=label)
    return tile_images(x_decoded, n, n), grid_x


def manifold_figure(decoder, n=20, dims=(0, 1)):
    """The n x n grid of decoded digits over the latent plane."""
    figure, grid = manifold_grid(decoder, n, dims)
    fig = Figure(figsize=(10, 10.3), layout="constrained")
    ax = fig.subplots()
    show(ax, figure)
    digit_size = figure.shape[0] // n
    shown = np.unique(np.linspace(0, n - 1, min(n, 7)).round().astype(int))  # first and last labelled
    ticks = shown * digit_size + digit_size / 2
    labels = [f"{grid[i]:.2f}" for i in shown]
    ax.set_xticks(ticks, labels)
    ax.set_yticks(ticks, labels)
    ax.set_xlabel(f"z[{dims[0]}]")
    ax.set_ylabel(f"z[{dims[1]}] ({DOWNWARD})")
    ax.set_title(f"Latent manifold: decoder(z), z on norm.ppf(linspace(0.05, 0.95, {n})), other dims 0")
    return fig


def informative_dims(z_mean, z_log_var=None):
    """The latent dims, those the codes use most first: the largest average KL(q(z_d|x) || N(0, 1)), or for an
    autoencoder's codes (no z_log_var) the largest variance. A 2-D space keeps its order, as the manifold has it."""
    if z_mean.shape[1] <= 2:
        return tuple(range(z_mean.shape[1]))
    use = (z_mean.var(axis=0) if z_log_var is None
           else np.asarray(kl_divergence(z_mean[..., None], z_log_var[..., None])).mean(axis=0))
    return tuple(int(d) for d in np.argsort(use, kind="stable")[::-1])


def manifold_dims(encoder, x, labels=None):
    """The two latent dims that the codes of images x (with their classes `labels`, for a conditional encoder) use
    most (informative_dims): the axes of a manifold over a z of more than two dims."""
    z_mean, z_log_var = encode(encoder, x, labels if num_classes(encoder) else None)
    return informative_dims(z_mean, z_log_var)[:2]


def label_colour(label):
    """A label's colour in every scatter of codes: matplotlib's C0..C9 (tab10); C0 for unlabelled codes."""
    return "C0" if label is None else f"C{label % 10}"


def scatter_codes(ax, z, labels=None, dims=(0, 1), label_names=None, marker_size=2):
    """The codes z on `ax` over two latent dims, one colour per label (named by `label_names` where given)."""
    groups = [(None, slice(None))] if labels is None else [(label, labels == label) for label in np.unique(labels)]
    for label, chosen in groups:
        name = None if label is None else str(label) if label_names is None else label_names[label]
        ax.scatter(z[chosen, dims[0]], z[chosen, dims[1]], s=marker_size, rasterized=True, label=name,
                   color=label_colour(label))


def latent_scatter_figure(z_mean, labels, dims=None, z_log_var=None, label_names=None):
    """z_mean of each image in two latent dims (default: the two the codes use most, informative_dims), one colour
    per digit (per label, named by `label_names` where given; one colour where `labels` is None)."""
    kind = "digit" if label_names is None else "label"
    chosen = dims is None
    dims = informative_dims(z_mean, z_log_var)[:2] if chosen else tuple(dims)
    title = f"Latent space: z_mean[{dims[0]}], z_mean[{dims[1]}]" + (f" by {kind}" if labels is not None else "")
    if chosen and z_mean.shape[1] > 2:
        title = (f"Latent space: z_mean in dims {dims[0]} and {dims[1]} of {z_mean.shape[1]}, those with the largest "
                 + ("average KL" if z_log_var is not None else "variance"))
    fig = Figure(figsize=(8, 7.4), layout="constrained")
    ax = fig.subplots()
    scatter_codes(ax, z_mean, labels, dims, label_names)
    if labels is not None:
        ax.legend(title=kind, markerscale=5, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.set_xlabel(f"z_mean[{dims[0]}]")
    ax.set_ylabel(f"z_mean[{dims[1]}]" + (f" ({DOWNWARD.split(':')[0]}, as in the manifold)" if z_mean.shape[1] == 2 else ""))
    if z_mean.shape[1] == 2:
        ax.invert_yaxis()
    ax.set_title(title)
    return fig


def reconstruction_grid(originals, reconstructions):
    """Originals (top row) over their reconstructions (bottom row), tiled into one array."""
    return tile_images(np.concatenate([originals, reconstructions]), 2, len(originals))


def reconstruction_figure(originals, reconstructions):
    """Originals (top row) over their reconstructions (bottom row)."""
    require_images(originals, "originals")
    n, height = len(originals), originals.shape[1]
    fig = Figure(figsize=(n, 2.3))
    ax = fig.subplots()
    show(ax, reconstruction_grid(originals, reconstructions))
    ax.set_yticks([height / 2, 1.5 * height], ["original", "reconstruction"])
    ax.set_xticks([])
    return fig


def samples_title(decoder, prior=None, what="Samples", pixels=False):
    """What a grid of prior samples through `decoder` shows (with `pixels`, draws x ~ p(x|z)), in the words of its
    decoder kind and of the prior (N(0, I) unless given)."""
    image = "x ~ p(x|z), 8-bit draws" if pixels else shows(decoder)
    return f"{what}: {image}, z ~ {getattr(prior, 'description', 'N(0, I)')}"


def samples_figure(x_sampled, title="Samples: decoder(z), z ~ N(0, I)"):
    """A square grid of decoded samples."""
    require_images(x_sampled, "x_sampled")
    side = int(np.sqrt(len(x_sampled)))
    fig = Figure(figsize=(side, side + 0.4))
    ax = fig.subplots()
    show(ax, tile_images(x_sampled[: side * side], side, side))
    ax.set_axis_off()
    ax.set_title(title)
    return fig


def class_rows(decoder, z):
    """A conditional decoder's images, one row per class: row y decodes z[y] (classes, columns, latent_dim) with
    class y, as (classes, columns, h, w, c)."""
    classes, columns = z.shape[:2]
    labels = np.repeat(np.arange(classes), columns)
    return decode(decoder, z.reshape(classes * columns, -1), labels=labels).reshape(classes, columns,
                                                                                   *image_shape(decoder))


def class_rows_figure(rows, title, names):
    """Rows of images (rows, columns, h, w, c) under a title, each row named by `names`."""
    count, columns = rows.shape[:2]
    height = rows.shape[2]
    fig = Figure(figsize=(columns * 0.8 + 1.4, count * 0.8 + 0.6), layout="constrained")
    ax = fig.subplots()
    show(ax, tile_images(rows.reshape(count * columns, *rows.shape[2:]), count, columns))
    ax.set_yticks([height * (row + 0.5) for row in range(count)], names)
    ax.set_xticks([])
    ax.set_title(title, fontsize=9, wrap=True)
    return fig


def conditional_figures(encoder, decoder, prior, x, labels, label_names=None, columns=8, seed=0):
    """A conditional run's figures, one row per class: "samples", each row's z from the class's own p(z|y) where the
    prior has one per class (what `sample --label` draws), else from `prior` (None: N(0, I)); and the classic
    "classes": the codes z_mean of the first test images x (of classes `labels`, shown on top) down each column,
    decoded as every class: the style kept where z holds it, the class changed where y decides it."""
    classes, size = num_classes(decoder), latent_dim(decoder)
    names = [str(label) if label_names is None else label_names[label] for label in range(classes)]
    prior = prior or StandardNormalPrior(size)
    own_labels = np.repeat(np.arange(classes), columns)
    own = (prior.given_labels(own_labels, seed) if hasattr(prior, "given_labels")
           else prior.sample(len(own_labels), seed)).reshape(classes, columns, size)
    codes = encode(encoder, x[:columns], labels[:columns])[0]
    swapped = class_rows(decoder, np.broadcast_to(codes, (classes, columns, size)).copy())
    return {"samples": class_rows_figure(class_rows(decoder, own), f"Samples per class: {shows(decoder, 'z, y')}, "
                                                                   f"z ~ {prior.description}", names),
            "classes": class_rows_figure(np.concatenate([x[None, :columns], swapped]),
                                         "decoder(z_mean, y): each column the code of the test image on top, "
                                         "decoded as each class y", ["test image", *names])}


def _learning_rate_halvings(history):
    """The epochs (1-based) whose learning rate is below the one before: where a schedule lowered it."""
    rates = history.get("learning_rate", [])
    return [epoch + 1 for epoch in range(1, len(rates)) if rates[epoch] < rates[epoch - 1]]


def history_figure(history, warmup_epochs=0, validated_on="validation"):
    """Loss, reconstruction and KL per epoch, train and validation (a Keras History.history dict); for an
    autoencoder, whose loss is its reconstruction loss, that one alone. `validated_on` labels the val_ curves
    ("test" for a run that held no training images out: runs.validated_on).

    The first `warmup_epochs` are shaded: there beta < 1, so the loss is not yet the negative ELBO, and the
    y-axes are fitted to the epochs after them. Dashed lines mark where the learning rate was lowered.
    """
    terms = ("loss", "reconstruction_loss", "kl_loss") if "kl_loss" in history else ("reconstruction_loss",)
    fig = Figure(figsize=(13, 3.8) if len(terms) > 1 else (6.5, 4.6), layout="constrained")
    halvings = _learning_rate_halvings(history)
    for ax, term in zip(np.atleast_1d(fig.subplots(1, len(terms))), terms):
        curves = {"train": history[term], **({validated_on: history[f"val_{term}"]} if f"val_{term}" in history else {})}
        epochs = np.arange(1, len(history[term]) + 1)
        if warmup_epochs:
            ax.axvspan(0.5, warmup_epochs + 0.5, color="0.9", label="KL warm-up")
        for label, values in curves.items():
            ax.plot(epochs, values, marker=".", label=label)
        for i, epoch in enumerate(halvings):
            ax.axvline(epoch - 0.5, color="0.5", linestyle="--", linewidth=0.8, label="learning rate lowered" if i == 0 else None)
        after = [v for values in curves.values() for v in values[warmup_epochs:]]
        if warmup_epochs and after:
            low, high = min(after), max(after)
            margin = 0.05 * (high - low) or 0.05 * abs(high) or 1.0
            ax.set_ylim(low - margin, high + margin)
        ax.set_xlabel("epoch")
        ax.set_ylabel("nats per image" + (" (axis fitted after the warm-up)" if warmup_epochs and after else ""))
        ax.set_title(term)
        ax.legend()
    return fig


def run_figures(model, x_test, y_test, history, warmup_epochs=0, validated_on="validation", label_names=None,
                prior=None):
    """A training run's figures (a VAE's or an Autoencoder's), name -> Figure: latent scatter (labels y_test, named
    by label_names, or None), reconstructions, samples (from `prior`, else the model's p(z)), learning curves
    (history_figure), and for a 2-D latent space the tutorial's manifold."""
    encoder, decoder = model.encoder, model.decoder
    prior = prior or getattr(model, "prior", None)  # an autoencoder has none: N(0, I)
    labels = None if num_classes(decoder) is None else y_test  # a conditional model takes each image's class
    z_mean, z_log_var = encode(encoder, x_test, labels)
    figures = {
        "latent_scatter": latent_scatter_figure(z_mean, y_test, z_log_var=z_log_var, label_names=label_names),
        "reconstructions": reconstruction_figure(x_test[:10], reconstruct(
            encoder, decoder, x_test[:10], None if labels is None else labels[:10])),
        "history": history_figure(history, warmup_epochs, validated_on),
    }
    if labels is not None:
        return {**figures, **conditional_figures(encoder, decoder, prior, x_test, labels, label_names)}
    figures["samples"] = samples_figure(sample_prior(decoder, 64, seed=0, prior=prior), samples_title(decoder, prior))
    if latent_dim(decoder) == 2:
        figures["manifold"] = manifold_figure(decoder, n=20)
    return figures


TITLE_PIXELS, MIN_SHORT_SIDE = 40, 400
TITLE_LINE_PIXELS, TITLE_CHARACTER_PIXELS = 17, 9.5  # one line of the 11-point title, one character's mean width


def grid_figure(grid, title, zoom=None):
    """A tiled grid of pixel values in [0, 1] under a title, each image pixel a zoom x zoom block of file pixels
    (by default the smallest zoom that makes the short side at least 400 pixels); saved at dpi=100."""
    height, width = grid.shape[:2]
    zoom = zoom or max(1, math.ceil(MIN_SHORT_SIDE / min(height, width)))
    dpi = 100
    lines = min(3, math.ceil(len(title) * TITLE_CHARACTER_PIXELS / (0.9 * width * zoom)))  # a narrow grid clips more
    title_pixels = max(TITLE_PIXELS, 6 + TITLE_LINE_PIXELS * lines)  # a long title wraps onto more lines, not the grid
    total = height * zoom + title_pixels
    fig = Figure(figsize=(width * zoom / dpi, total / dpi), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, height * zoom / total))
    show(ax, grid)
    ax.set_axis_off()
    fig.text(0.5, 1 - title_pixels / 2 / total, title, ha="center", va="center", fontsize=11, wrap=True)
    return fig


def save_grid(path, grid, title, zoom=None):
    """Write `grid_figure(grid, title, zoom)` as a PNG."""
    grid_figure(grid, title, zoom).savefig(path, dpi=100)
