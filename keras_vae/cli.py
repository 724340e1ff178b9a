"""python -m keras_vae <command>: argparse front end; the work lives in the other modules."""
import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from . import plots
from .data import BINARIZE, binarize_images, load_mnist
from .distribute import STRATEGIES
from .checkpoint import write_json
from .export import SHIPPED_MODEL, export_saved_model, load_keras_model, load_part
from .inference import reconstruct, sample_prior
from .evaluate import estimate_log_likelihood, evaluate_elbo
from .model import LIKELIHOODS, VAE
from .train import PRECISIONS, TrainConfig, TrainingDivergedError, train


DATA_HELP = "mnist.npz or IDX folder (else $KERAS_VAE_MNIST, else download)"


def _add_train(sub):
    defaults = TrainConfig()
    p = sub.add_parser("train", help="train a VAE on MNIST and write a run folder")
    p.add_argument("--architecture", default=defaults.architecture, help="conv (default), mlp, deepconv or made "
                   "(autoregressive decoder)")
    p.add_argument("--latent-dim", type=int, default=defaults.latent_dim)
    p.add_argument("--hidden-dim", type=int, default=defaults.hidden_dim, help="mlp and made hidden units")
    p.add_argument("--epochs", type=int, default=defaults.epochs)
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    p.add_argument("--beta", type=float, default=defaults.beta, help="weight of the KL term")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--binarize", default=defaults.binarize, choices=BINARIZE,
                   help="none (grayscale), dynamic (fresh Bernoulli draw each epoch) or static (one draw)")
    p.add_argument("--likelihood", default=defaults.likelihood, choices=LIKELIHOODS)
    p.add_argument("--kl-warmup-epochs", type=int, default=defaults.kl_warmup_epochs, help="raise beta from 0 over this many epochs")
    p.add_argument("--lr-patience", type=int, default=defaults.lr_patience, help="halve the learning rate after this many epochs "
                   "without a better val_loss (0: off)")
    p.add_argument("--early-stopping-patience", type=int, default=defaults.early_stopping_patience, help="stop after this many epochs without "
                   "a better val_loss and restore the best weights (0: off)")
    p.add_argument("--validation-images", type=int, default=defaults.validation_images, help="hold out the last n "
                   "training images as the validation set that schedules watch (0: watch the test set)")
    p.add_argument("--data", default=None, help=DATA_HELP)
    p.add_argument("--out", default=None, help="run folder (default saved_models/<architecture>_latent<d>)")
    p.add_argument("--strategy", default=defaults.strategy, choices=STRATEGIES,
                   help="tf.distribute: mirrored (local GPUs) or multiworker (TF_CONFIG)")
    p.add_argument("--steps-per-execution", type=int, default=defaults.steps_per_execution)
    p.add_argument("--jit-compile", action="store_true", help="compile the train step with XLA")
    p.add_argument("--precision", default=defaults.precision, choices=PRECISIONS,
                   help="layer compute dtype: mixed_float16 for GPUs, mixed_bfloat16 for TPUs and recent CPUs")
    p.add_argument("--resume", action="store_true", help="continue a killed run from its last epoch checkpoint")
    p.set_defaults(run=_train)


def _train(args):
    fields = TrainConfig.__dataclass_fields__
    run_dir, metrics = train(TrainConfig(**{name: getattr(args, name) for name in fields}), resume=args.resume)
    final, test = metrics["final"], metrics["test"]
    print(
        f"Wrote {run_dir}: loss {final['loss']:.2f}, test loss {test['loss']:.2f} nats/image, "
        f"{metrics['samples_per_second']:.0f} samples/s"
    )


def _add_model_command(sub, name, help, run):
    p = sub.add_parser(name, help=help)
    p.add_argument("--model", default=str(SHIPPED_MODEL), help="run folder, .keras file or SavedModel folder "
                   "(default: the shipped 2-D model)")
    p.add_argument("--out", default=f"{name}.png")
    p.set_defaults(run=run)
    return p


def _sample(args):
    decoder = load_part(args.model, "decoder")
    side = math.isqrt(args.n)
    plots.save_grid(args.out, plots.tile_images(sample_prior(decoder, side * side, args.seed), side, side))
    print(f"Wrote {args.out}: {side}x{side} samples of decoder(z), z ~ N(0, I)")


def _manifold(args):
    grid, _ = plots.manifold_grid(load_part(args.model, "decoder"), args.n, tuple(args.dims))
    plots.save_grid(args.out, grid)
    print(f"Wrote {args.out}: {args.n}x{args.n} manifold over z{args.dims}")


def _reconstruct(args):
    encoder, decoder = load_part(args.model, "encoder"), load_part(args.model, "decoder")
    x = load_mnist(args.data)[1][0][: args.n]
    plots.save_grid(args.out, plots.tile_images(np.concatenate([x, reconstruct(encoder, decoder, x)]), 2, args.n))
    print(f"Wrote {args.out}: {args.n} test digits (top) and their reconstructions (bottom)")


def _export(args):
    vae = VAE(load_part(args.model, "encoder"), load_part(args.model, "decoder"))
    out = export_saved_model(vae, args.out or f"{args.model}/saved_model")
    print(f"Wrote SavedModels {out}/encoder and {out}/decoder (signature 'serve')")


def _evaluate(args):
    run = Path(args.model)
    vae = load_keras_model(run / "vae.keras")
    config = json.loads((run / "config.json").read_text()) if (run / "config.json").is_file() else {}
    x_test = load_mnist(args.data or config.get("data"))[1][0][: args.n]
    if config.get("binarize", "none") != "none":
        x_test = binarize_images(x_test, seed=0)
    results = {
        "test_elbo": evaluate_elbo(vae, x_test),
        "test_log_likelihood": estimate_log_likelihood(vae, x_test, k=args.k, seed=args.seed),
        "k": args.k,
        "test_images": len(x_test),
    }
    metrics_path = run / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    write_json(metrics_path, {**metrics, "evaluation": results})
    print(f"test ELBO {results['test_elbo']:.2f}, test log-likelihood {results['test_log_likelihood']:.2f} "
          f"nats/image (k={args.k}, {len(x_test)} images); NLL = {-results['test_log_likelihood']:.2f}")


def _parser():
    parser = argparse.ArgumentParser(prog="python -m keras_vae", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    p = _add_model_command(sub, "sample", "decode z ~ N(0, I) into a grid of digits", _sample)
    p.add_argument("--n", type=int, default=64, help="number of samples (rounded down to a square)")
    p.add_argument("--seed", type=int, default=0)
    p = _add_model_command(sub, "manifold", "the tutorial's 2-D latent manifold grid", _manifold)
    p.add_argument("--n", type=int, default=20, help="digits per side")
    p.add_argument("--dims", type=int, nargs=2, default=[0, 1], help="the two latent axes to vary")
    p = _add_model_command(sub, "reconstruct", "test digits and their reconstructions", _reconstruct)
    p.add_argument("--n", type=int, default=10)
    p.add_argument("--data", default=None, help=DATA_HELP)
    p = sub.add_parser("evaluate", help="test ELBO and importance-weighted log-likelihood into metrics.json")
    p.add_argument("--model", required=True, help="run folder holding vae.keras")
    p.add_argument("--k", type=int, default=5000, help="importance samples per image")
    p.add_argument("--n", type=int, default=None, help="evaluate only the first n test images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None, help="mnist.npz or IDX folder (default: the run's own --data)")
    p.set_defaults(run=_evaluate)
    p = sub.add_parser("export", help="write encoder/ and decoder/ TensorFlow SavedModels")
    p.add_argument("--model", required=True, help="run folder holding encoder.keras and decoder.keras")
    p.add_argument("--out", default=None, help="output folder (default <model>/saved_model)")
    p.set_defaults(run=_export)
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        args.run(args)
    except (OSError, ValueError, TrainingDivergedError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
