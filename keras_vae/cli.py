"""python -m keras_vae <command>: argparse and printing; the work lives in the other modules.

A command is one function `run(args)` registered with `register_command`, its arguments declared beside it.
"""
import argparse
import dataclasses
import math
import sys
from typing import Callable

from . import plots, runs
from .architectures import ARCHITECTURES
from .data import BINARIZE, load_mnist
from .decoders import decoder_kind, reconstruct, sample_prior
from .distribute import STRATEGIES
from .evaluate import evaluate_run
from .export import export_saved_model
from .losses import LIKELIHOODS
from .train import PRECISIONS, TrainConfig, TrainingDivergedError, train

DATA_HELP = "mnist.npz or IDX folder (else $KERAS_VAE_MNIST, else download)"


@dataclasses.dataclass(frozen=True)
class Command:
    """A registered command: its help line, its arguments (or a function giving them) and what it runs."""

    name: str
    help: str
    arguments: object  # a sequence of `argument(...)`, or a function returning one when the parser is built
    run: Callable


COMMANDS = {}


def argument(*flags, **options):
    """One argument of a command, as argparse's add_argument takes it."""
    return flags, options


def register_command(name, help, arguments=()):
    """Decorator: register `run(args)` as `python -m keras_vae <name>`, with these arguments."""
    def register(run):
        COMMANDS[name] = Command(name, help, arguments, run)
        return run
    return register


def _train_arguments():
    """The training command's arguments: TrainConfig's fields, choices and options from the registries."""
    defaults = TrainConfig()
    takes = {}  # each architecture option -> its default and the architectures that take it
    for architecture in ARCHITECTURES.values():
        for option, default in architecture.options.items():
            takes.setdefault(option, (default, []))[1].append(architecture.name)
    return [
        argument("--architecture", default=defaults.architecture, choices=sorted(ARCHITECTURES),
                 help="; ".join(f"{a.name}: {a.description}" for a in ARCHITECTURES.values())),
        argument("--latent-dim", type=int, default=defaults.latent_dim),
        *[argument(f"--{option.replace('_', '-')}", dest=option, type=type(default), default=None,
                   help=f"option of {', '.join(names)} (default {default})")
          for option, (default, names) in takes.items()],
        argument("--epochs", type=int, default=defaults.epochs),
        argument("--batch-size", type=int, default=defaults.batch_size),
        argument("--learning-rate", type=float, default=defaults.learning_rate),
        argument("--beta", type=float, default=defaults.beta, help="weight of the KL term"),
        argument("--seed", type=int, default=defaults.seed),
        argument("--binarize", default=defaults.binarize, choices=BINARIZE,
                 help="none (grayscale), dynamic (fresh Bernoulli draw each epoch) or static (one draw)"),
        argument("--likelihood", default=defaults.likelihood, choices=sorted(LIKELIHOODS)),
        argument("--kl-warmup-epochs", type=int, default=defaults.kl_warmup_epochs,
                 help="raise beta from 0 over this many epochs"),
        argument("--lr-patience", type=int, default=defaults.lr_patience,
                 help="halve the learning rate after this many epochs without a better val_loss (0: off)"),
        argument("--early-stopping-patience", type=int, default=defaults.early_stopping_patience,
                 help="stop after this many epochs without a better val_loss and restore the best weights (0: off)"),
        argument("--validation-images", type=int, default=defaults.validation_images,
                 help="hold out the last n training images as the validation set that schedules watch "
                      "(0: watch the test set)"),
        argument("--data", default=None, help=DATA_HELP),
        argument("--out", default=None, help="run folder (default saved_models/<architecture>_latent<d>)"),
        argument("--strategy", default=defaults.strategy, choices=STRATEGIES,
                 help="tf.distribute: mirrored (local GPUs) or multiworker (TF_CONFIG)"),
        argument("--steps-per-execution", type=int, default=defaults.steps_per_execution),
        argument("--jit-compile", action="store_true", help="compile the train step with XLA"),
        argument("--precision", default=defaults.precision, choices=PRECISIONS,
                 help="layer compute dtype: mixed_float16 for GPUs, mixed_bfloat16 for TPUs and recent CPUs"),
        argument("--resume", action="store_true", help="continue a killed run from its last epoch checkpoint"),
    ]


@register_command("train", "train a VAE on MNIST and write a run folder", _train_arguments)
def _train(args):
    options = {option: getattr(args, option) for architecture in ARCHITECTURES.values()
               for option in architecture.options if getattr(args, option) is not None}
    fields = {name: getattr(args, name) for name in TrainConfig.__dataclass_fields__ if name != "options"}
    run_dir, metrics = train(TrainConfig(**fields, options=options), resume=args.resume)
    final, test = metrics["final"], metrics["test"]
    print(
        f"Wrote {run_dir}: loss {final['loss']:.2f}, test loss {test['loss']:.2f} nats/image, "
        f"{metrics['samples_per_second']:.0f} samples/s"
    )


def _model_arguments(name, *more):
    """--model (default: the shipped 2-D model), --out (default <name>.png), then the command's own."""
    return [argument("--model", default=str(runs.DEFAULT_MODEL),
                     help="run folder, .keras file or SavedModel folder (default: the shipped 2-D model)"),
            argument("--out", default=f"{name}.png"), *more]


@register_command("sample", "decode z ~ N(0, I) into a grid of digits", _model_arguments(
    "sample",
    argument("--n", type=int, default=64, help="number of samples (rounded down to a square)"),
    argument("--seed", type=int, default=0)))
def _sample(args):
    decoder = runs.load_part(args.model, "decoder")
    side = math.isqrt(args.n)
    plots.save_grid(args.out, plots.tile_images(sample_prior(decoder, side * side, args.seed), side, side))
    print(f"Wrote {args.out}: {side}x{side} samples of {decoder_kind(decoder).shows}, z ~ N(0, I)")


@register_command("manifold", "the tutorial's 2-D latent manifold grid", _model_arguments(
    "manifold",
    argument("--n", type=int, default=20, help="digits per side"),
    argument("--dims", type=int, nargs=2, default=[0, 1], help="the two latent axes to vary")))
def _manifold(args):
    grid, _ = plots.manifold_grid(runs.load_part(args.model, "decoder"), args.n, tuple(args.dims))
    plots.save_grid(args.out, grid)
    print(f"Wrote {args.out}: {args.n}x{args.n} manifold over z{args.dims}")


@register_command("reconstruct", "test digits and their reconstructions", _model_arguments(
    "reconstruct",
    argument("--n", type=int, default=10),
    argument("--data", default=None, help=DATA_HELP)))
def _reconstruct(args):
    encoder, decoder = runs.load_part(args.model, "encoder"), runs.load_part(args.model, "decoder")
    x = load_mnist(args.data)[1][0][: args.n]
    plots.save_grid(args.out, plots.reconstruction_grid(x, reconstruct(encoder, decoder, x)))
    print(f"Wrote {args.out}: {args.n} test digits (top) and their reconstructions (bottom)")


@register_command("export", "write encoder/ and decoder/ TensorFlow SavedModels", [
    argument("--model", required=True, help=f"run folder holding {runs.VAE_FILE} or the two parts' .keras files"),
    argument("--out", default=None, help=f"output folder (default <model>/{runs.SAVED_MODEL_DIR})")])
def _export(args):
    out = export_saved_model(runs.load_vae(args.model), args.out or f"{args.model}/{runs.SAVED_MODEL_DIR}")
    print(f"Wrote SavedModels {out}/encoder and {out}/decoder (signature 'serve')")


@register_command("evaluate", "test ELBO and importance-weighted log-likelihood into metrics.json", [
    argument("--model", required=True, help=f"run folder holding {runs.VAE_FILE}"),
    argument("--k", type=int, default=5000, help="importance samples per image"),
    argument("--n", type=int, default=None, help="evaluate only the first n test images"),
    argument("--seed", type=int, default=0),
    argument("--data", default=None, help="mnist.npz or IDX folder (default: the run's own --data)")])
def _evaluate(args):
    results = evaluate_run(args.model, k=args.k, n=args.n, seed=args.seed, data=args.data)
    print(f"test ELBO {results['test_elbo']:.2f}, test log-likelihood {results['test_log_likelihood']:.2f} "
          f"nats/image (k={args.k}, {results['test_images']} images); NLL = {-results['test_log_likelihood']:.2f}")


def _parser():
    parser = argparse.ArgumentParser(prog="python -m keras_vae", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS.values():
        p = sub.add_parser(command.name, help=command.help)
        for flags, options in command.arguments() if callable(command.arguments) else command.arguments:
            p.add_argument(*flags, **options)
        p.set_defaults(run=command.run)
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        args.run(args)
    except (OSError, ValueError, TrainingDivergedError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
