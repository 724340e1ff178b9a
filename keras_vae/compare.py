"""AE vs VAE, the tutorials' contrast in numbers and figures: for an autoencoder run and a VAE run of the same
architecture and latent size, how well each restores x, where each puts its codes against the prior N(0, I),
and whether decoding z ~ N(0, I) makes new digits, and all ten of them (judged by a digit classifier,
classifier.py)."""
import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from . import loading, plots, run_data, runs
from .autoencoder import Autoencoder
from .classifier import CONFIDENCE, judge, load_classifier
from .decoders import decode, encode, image_shape, latent_dim
from .model import VAE

COMPARISON = "compare.json"
FIGURES = ("latent_scatter", "prior_samples", "manifold", "interpolation")
NAMES = {"ae": "AE", "vae": "VAE"}
CODE = {"ae": "code z = encoder(x)", "vae": "z_mean (posterior mean)"}


def check_contrast(ae, vae, names=("the AE given", "the VAE given")):
    """Refuse a pair that cannot show the contrast: it must be an Autoencoder and a VAE (`names` say where each
    came from) with the same latent and image sizes."""
    if not isinstance(ae, Autoencoder):
        raise ValueError(f"{names[0]} holds a VAE, not an autoencoder: train one with `kind` ae.")
    if not isinstance(vae, VAE):
        raise ValueError(f"{names[1]} holds an autoencoder, not a VAE.")
    for what, size in (("latent size", latent_dim), ("image shape", image_shape)):
        if size(ae.decoder) != size(vae.decoder):
            raise ValueError(f"The models differ in {what}: {size(ae.decoder)} (AE) and {size(vae.decoder)} (VAE); "
                             "compare two of the same architecture and latent size.")


def load_pair(ae_run, vae_run):
    """(Autoencoder, VAE) from the two runs, checked by check_contrast, and refused where their configs differ in
    architecture or in the binarization of their data."""
    ae, vae = loading.load_model(ae_run), loading.load_model(vae_run)
    check_contrast(ae, vae, names=(str(ae_run), str(vae_run)))
    ae_config, vae_config = runs.read_config(runs.model_path(ae_run)), runs.read_config(runs.model_path(vae_run))
    for what in ("architecture", "binarize"):
        of_ae, of_vae = ae_config.get(what), vae_config.get(what)
        if of_ae != of_vae and None not in (of_ae, of_vae):
            raise ValueError(f"The runs differ in {what}: {of_ae} (AE) and {of_vae} (VAE); compare two runs of the "
                             "same architecture and latent size, trained on the same data.")
    return ae, vae


def reconstruction_loss_at_code(model, x, z, batch_size=500):
    """Mean -log p(x|z) over the images, in nats, with z each image's code (deterministic for both models)."""
    total = sum(float(np.sum(model.reconstruction_loss(x[i:i + batch_size], z[i:i + batch_size])))
                for i in range(0, len(x), batch_size))
    return total / len(x)


def _describe(model, x, z, z_log_var, samples, classifier):
    """One model's row of the table: test losses, code statistics, what the classifier makes of its prior samples.
    For a VAE also the spread of z ~ q(z|x) over the test set (var(z_mean) + mean(exp(z_log_var))), which the KL
    term pulls towards the prior's 1."""
    spread = {} if z_log_var is None else {"sampled_code_std": np.sqrt(z.var(axis=0) + np.exp(z_log_var).mean(axis=0)).tolist()}
    return {
        "test": model.evaluate(x, batch_size=500, verbose=0, return_dict=True),
        "reconstruction_loss_at_code": reconstruction_loss_at_code(model, x, z),
        "code_mean": z.mean(axis=0).tolist(),
        "code_std": z.std(axis=0).tolist(),
        **spread,
        **({"prior_samples": judge(classifier, samples)} if classifier is not None else {}),
    }


def scatter_figure(codes, labels):
    """The test set's codes by digit, one panel per model ("ae", "vae": codes), with the prior's 1-sigma and
    2-sigma circles."""
    fig = Figure(figsize=(7.5 * len(codes), 6.8), layout="constrained")
    labels = np.zeros(len(next(iter(codes.values()))), "int64") if labels is None else labels
    for ax, (key, z) in zip(np.atleast_1d(fig.subplots(1, len(codes))), codes.items()):
        dims = plots.informative_dims(z)[:2]
        plots.scatter_codes(ax, z, labels, dims)
        for radius, style in ((1, "-"), (2, "--")):
            ax.add_patch(Circle((0, 0), radius, fill=False, color="black", linestyle=style, linewidth=1.5,
                                label=f"prior N(0, I): {radius}σ"))
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel(f"z[{dims[0]}]")
        ax.set_ylabel(f"z[{dims[1]}]" + (" (grows downward, as in the manifold)" if z.shape[1] == 2 else ""))
        if z.shape[1] == 2:
            ax.invert_yaxis()
        ax.set_title(f"{NAMES[key]}: {CODE[key]} of the test digits")
    ax.legend(title="digit", markerscale=5, loc="center left", bbox_to_anchor=(1.0, 0.5))
    if len(codes) == 2:
        fig.suptitle("Where the codes lie: the AE's anywhere its decoder can read them, the VAE's pulled onto the prior")
    return fig


def _grid_panels(grids, titles, suptitle, size=(15, 7.6)):
    """Side-by-side grey images in [0, 1], one per model."""
    fig = Figure(figsize=size, layout="constrained")
    for ax, grid, title in zip(fig.subplots(1, len(grids)), grids, titles):
        plots.show(ax, grid)
        ax.set_axis_off()
        ax.set_title(title)
    fig.suptitle(suptitle)
    return fig


def interpolation_figure(x, labels, codes, decoders, steps=10):
    """Decodings along the straight line between the codes of two test digits (the first one and the first of
    another digit), one row per model, with the two digits at the ends."""
    a, b = (0, 1) if labels is None else (0, int(np.argmax(labels != labels[0])))
    labels = np.arange(len(x)) if labels is None else labels
    t = np.linspace(0.0, 1.0, steps)[:, None]
    rows = {key: decode(decoders[key], (1 - t) * z[a] + t * z[b]) for key, z in codes.items()}
    fig = Figure(figsize=(20, 5), layout="constrained")
    for ax, (key, images) in zip(fig.subplots(len(rows), 1), rows.items()):
        row = np.concatenate([x[a:a + 1], images, x[b:b + 1]])
        plots.show(ax, plots.tile_images(row, 1, len(row)))
        side = x.shape[2]
        ax.set_xticks([side / 2, side * (len(row) - 0.5)], [f"test image {labels[a]}", f"test image {labels[b]}"])
        ax.set_yticks([x.shape[1] / 2], [NAMES[key]])
    fig.suptitle(f"From one test digit to another: decoder((1 - t) z_a + t z_b), t = 0 to 1 in {steps} steps")
    return fig


def comparison(ae, vae, x, labels, classifier, samples=1000, seed=0):
    """(table, figures) contrasting the two models on the images x (with their digit labels, or None): the table
    as compare.json holds it, the figures name -> matplotlib Figure. Prior samples are `samples` draws of
    z ~ N(0, I) (seed), the same ones through each decoder; `classifier` judges them (classifier.py), where it is
    given (None for images that are not MNIST digits)."""
    check_contrast(ae, vae)
    models = {"ae": ae, "vae": vae}
    z_prior = np.random.default_rng(seed).standard_normal((samples, latent_dim(vae.decoder))).astype("float32")
    posteriors = {key: encode(model.encoder, x) for key, model in models.items()}
    codes = {key: z for key, (z, _) in posteriors.items()}
    decoded = {key: decode(model.decoder, z_prior, seed) for key, model in models.items()}
    table = {key: _describe(model, x, *posteriors[key], decoded[key], classifier) for key, model in models.items()}
    table.update({
        **({"test_digits": judge(classifier, x), "confidence": CONFIDENCE} if classifier is not None else {}),
        "prior_draws": samples,
        "seed": seed,
        "test_images": len(x),
    })
    side = math.isqrt(min(samples, 64))  # the first draws, in a square grid
    figures = {
        "latent_scatter": scatter_figure(codes, labels),
        "prior_samples": _grid_panels(
            [plots.tile_images(decoded[key][:side * side], side, side) for key in models],
            [f"{NAMES[key]}: of {samples}, {table[key]['prior_samples']['read_as_digits']:.0%} read as digits, "
             f"{table[key]['prior_samples']['effective_digits']:.1f} effective digits" if classifier is not None
             else f"{NAMES[key]}: decoder(z)" for key in models],
            f"decoder(z), z ~ N(0, I): the same {side * side} draws through each decoder"
            + (f" (read as a digit: the classifier gives one digit p ≥ {CONFIDENCE})" if classifier is not None else "")),
        "manifold": _grid_panels(
            [plots.manifold_grid(model.decoder, n=15)[0] for model in models.values()],
            [f"{NAMES[key]}: decoder(z)" for key in models],
            "The tutorial's manifold, z on norm.ppf(linspace(0.05, 0.95, 15)) in dims 0 and 1 "
            "(z[1] grows downward): the prior's central 90%"),
        "interpolation": interpolation_figure(x, labels, codes, {key: m.decoder for key, m in models.items()}),
    }
    return table, figures


def compare_runs(ae_run, vae_run, out, data=None, classifier=runs.CLASSIFIER, samples=1000, seed=0, force=False):
    """Write the comparison of an autoencoder run and a VAE run into the folder `out`: compare.json (the table)
    and the FIGURES, on the VAE run's test set (run_data.test_set). Returns the table.
    `compare.json` already in `out` is replaced only with force."""
    out = Path(out)
    runs.check_writable(out, force)
    if (out / COMPARISON).exists() and not force:
        raise runs.RecordedResultError(f"{out / COMPARISON} holds a comparison: give another `out`, or pass `force`.")
    ae, vae = load_pair(ae_run, vae_run)
    images = run_data.run_images(runs.model_path(vae_run), data)
    x, labels = run_data.scored_test_set(runs.model_path(vae_run), images)
    digits = images.record["mnist_like"]  # MNIST as its loader reads it: the digit classifier's images
    table, figures = comparison(ae, vae, x, labels, load_classifier(classifier) if digits else None, samples, seed)
    # Recorded as a reader can follow them: pretrained:<name>, or a path relative to `out`.
    table["ae"]["run"], table["vae"]["run"], table["classifier"] = (
        runs.recorded_path(path, out) for path in (ae_run, vae_run, classifier))
    if not digits:
        table["classifier"] = "none: the images are not MNIST digits"
    out.mkdir(parents=True, exist_ok=True)
    runs.save_figures(out, figures)
    runs.write_json(out / COMPARISON, table)
    return table


def format_table(table):
    """The comparison as printed text: one line per quantity, AE and VAE side by side."""
    def vector(values):
        return "[" + ", ".join(f"{v:.2f}" for v in values) + "]"
    ae, vae, real = table["ae"], table["vae"], table.get("test_digits")
    rows = [
        ("test reconstruction loss, nats/image", f"{ae['test']['reconstruction_loss']:.2f}",
         f"{vae['test']['reconstruction_loss']:.2f} (z drawn from q(z|x))"),
        ("  from the code z_mean", f"{ae['reconstruction_loss_at_code']:.2f}", f"{vae['reconstruction_loss_at_code']:.2f}"),
        ("code mean per dim (prior: 0)", vector(ae["code_mean"]), vector(vae["code_mean"])),
        ("code std per dim (prior: 1)", vector(ae["code_std"]), vector(vae["code_std"])),
        ("  of z ~ q(z|x)", "-", vector(vae["sampled_code_std"])),
    ]
    if real is None:
        rows.append(("prior samples judged", "-", "- (no digit classifier for these images)"))
    else:
        rows += [
            (f"prior samples read as digits (p ≥ {table['confidence']})", f"{ae['prior_samples']['read_as_digits']:.1%}",
             f"{vae['prior_samples']['read_as_digits']:.1%} (real test digits: {real['read_as_digits']:.1%})"),
            ("effective number of digits drawn (of 10)", f"{ae['prior_samples']['effective_digits']:.2f}",
             f"{vae['prior_samples']['effective_digits']:.2f} (real: {real['effective_digits']:.2f})"),
            ("classifier score (of 10)", f"{ae['prior_samples']['classifier_score']:.2f}",
             f"{vae['prior_samples']['classifier_score']:.2f} (real: {real['classifier_score']:.2f})"),
        ]
    width = max(len(row[0]) for row in rows)
    column = max(len(row[1]) for row in rows)
    lines = [f"{'':{width}}  {'AE':>{column}}  VAE"]
    lines += [f"{name:{width}}  {of_ae:>{column}}  {of_vae}" for name, of_ae, of_vae in rows]
    lines.append(f"({table['test_images']} test images, {table['prior_draws']} prior draws z ~ N(0, I), seed {table['seed']})")
    return "\n".join(lines)
