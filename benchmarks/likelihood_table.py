"""Which p(x|z) for which pixels: the same conv VAE trained with each registered likelihood on image folders
(benchmarks/datasets.py), with its test loss, importance-weighted NLL, bits/dim where the likelihood is a probability
of 8-bit values, and a grid of prior samples per run.

    python -m benchmarks.datasets colored_mnist --out data/colored_mnist
    python -m benchmarks.datasets shapes --out data/shapes
    python -m benchmarks.likelihood_table --data data/shapes data/colored_mnist --out likelihood_runs \\
        --json benchmarks/results/cpu_2core_likelihood_table.json --figure docs/likelihood_table.png
"""
import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from keras_vae import loading, plots
from keras_vae.decoders import sample_prior
from keras_vae.evaluate import evaluate_run
from keras_vae.train import TrainConfig, hardware, train

LIKELIHOODS = ("bernoulli", "continuous_bernoulli", "gaussian", "discretized_logistic")


def table_row(run, metrics, k, n):
    """One run's row: test loss, and where p(x|z) is a probability or a density of the pixels, its NLL (and
    bits/dim where it is a probability of 8-bit values)."""
    row = {"test_loss": metrics["test"]["loss"], "seconds": metrics["seconds"]}
    try:
        evaluation, _ = evaluate_run(run, k=k, n=n)
    except ValueError as error:  # Bernoulli on grayscale pixels: no density
        return {**row, "nll": None, "why_no_nll": str(error).split(": ", 1)[-1]}
    return {**row, "nll": -evaluation["test_log_likelihood"], "test_elbo": evaluation["test_elbo"],
            "bits_per_dim": evaluation.get("bits_per_dim"), "k": k, "test_images": evaluation["test_images"]}


def samples_figure(grids):
    """Prior samples, one panel per (data set, likelihood)."""
    sets = sorted({data for data, _ in grids})
    fig = Figure(figsize=(4 * len(LIKELIHOODS), 4.3 * len(sets)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(sets), len(LIKELIHOODS)))
    for (data, likelihood), grid in grids.items():
        ax = axes[sets.index(data), LIKELIHOODS.index(likelihood)]
        plots.show(ax, grid)
        ax.set_axis_off()
        ax.set_title(f"{Path(data).name}: {likelihood}")
    fig.suptitle("decoder(z), z ~ N(0, I): the image each likelihood shows (its mean) for the same 36 draws")
    return fig


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="+", required=True, help="image folders")
    parser.add_argument("--out", required=True, help="folder for the runs")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--k", type=int, default=100, help="importance samples per image for the NLL")
    parser.add_argument("--n", type=int, default=1000, help="test images scored")
    parser.add_argument("--json", default=None)
    parser.add_argument("--figure", default=None)
    args = parser.parse_args()
    table, grids = {}, {}
    for data in args.data:
        for likelihood in LIKELIHOODS:
            config = TrainConfig(data=data, likelihood=likelihood, latent_dim=args.latent_dim, epochs=args.epochs,
                                 out=str(Path(args.out) / f"{Path(data).name}_{likelihood}"))
            run, metrics = train(config)
            table.setdefault(Path(data).name, {})[likelihood] = table_row(run, metrics, args.k, args.n)
            print(Path(data).name, likelihood, table[Path(data).name][likelihood])
            side = 6
            grids[(data, likelihood)] = plots.tile_images(sample_prior(loading.load_model(run).decoder, side * side), side, side)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "hardware": hardware(), "epochs": args.epochs, "latent_dim": args.latent_dim, "architecture": "conv",
            "config": {k: v for k, v in dataclasses.asdict(TrainConfig()).items() if k in ("batch_size", "learning_rate")},
            "table": table}, indent=2))
    if args.figure:
        samples_figure(grids).savefig(args.figure, dpi=80)
    for name, rows in table.items():
        for likelihood, row in rows.items():
            nll = "-" if row["nll"] is None else f"{row['nll']:.1f}"
            bits = "-" if row.get("bits_per_dim") is None else f"{row['bits_per_dim']:.3f}"
            print(f"{name:<16} {likelihood:<22} test loss {row['test_loss']:>10.1f}  NLL {nll:>10}  bits/dim {bits}")


if __name__ == "__main__":
    main()
