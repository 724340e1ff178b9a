"""python -m keras_vae <command>: argparse and printing; the work lives in the other modules.

A command is one function `run(args)` registered with `register_command`, its arguments declared beside it.
"""
import argparse
import dataclasses
import math
import sys
import tempfile
from pathlib import Path
from typing import Callable

from . import plots, runs
from .architectures import ARCHITECTURES
from .classifier import save_classifier, train_classifier
from .compare import COMPARISON, FIGURES, compare_runs, format_table
from .data import BINARIZE, load_mnist
from .decoders import decoder_kind, reconstruct, sample_prior
from .distribute import STRATEGIES
from .evaluate import evaluate_run
from .export import export_saved_model
from .losses import LIKELIHOODS
from .prior_fit import fit_prior_run
from .train import MODELS, PRECISIONS, TrainConfig, TrainingDivergedError, redraw_figures, train

DATA_HELP = "mnist.npz or IDX folder (else $KERAS_VAE_MNIST, else download)"


@dataclasses.dataclass(frozen=True)
class Command:
    """A registered command: its help line, its arguments (or a function giving them) and what it runs."""

    name: str
    help: str
    arguments: object  # a sequence of `argument(...)`, or a function returning one when the parser is built
    run: Callable
    example: str = ""  # one command line that `<command> --help` shows


COMMANDS = {}


def argument(*flags, **options):
    """One argument of a command, as argparse's add_argument takes it."""
    return flags, options


def register_command(name, help, arguments=(), example=""):
    """Decorator: register `run(args)` as `python -m keras_vae <name>`, with these arguments; `help` is the one
    sentence that says what it does, `example` a command line that `--help` shows."""
    def register(run):
        COMMANDS[name] = Command(name, help, arguments, run, example)
        return run
    return register


SEED_RANGE = (0, 2**31 - 1)


def integer(low, high=None):
    """An argparse type: an integer in [low, high] (no upper bound where high is None)."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise argparse.ArgumentTypeError(f"must be an integer {bounds}, got {value}")
        return value
    return parse


def number(low=0.0, inclusive=True, below=math.inf):
    """An argparse type: a finite number >= low (> low where inclusive is False) and < below."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or value < low or (value == low and not inclusive) or value >= below:
            bound = "" if below == math.inf else f" and < {below:g}"
            raise argparse.ArgumentTypeError(
                f"must be a finite number {'≥' if inclusive else '>'} {low:g}{bound}, got {text}")
        return value
    return parse


def _writable(path, what):
    """Refuse a path below an existing file, or whose nearest existing folder cannot be written in."""
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{folder} is a file, so {path} cannot be made {what}")
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as error:
        raise argparse.ArgumentTypeError(f"cannot write in {folder} ({error.strerror})") from None


def png_file(text):
    """An argparse type: a .png file name in a folder that can be written in."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder: give a file name such as {path / 'figure.png'}")
    if path.suffix.lower() != ".png":
        raise argparse.ArgumentTypeError(f"{text}: figures are written as PNG, so end the name with .png")
    _writable(path.absolute(), "a file")
    return text


def output_folder(text):
    """An argparse type: a folder to write, which must not be an existing file."""
    path = Path(text)
    if path.is_file():
        raise argparse.ArgumentTypeError(f"{text} is a file: give a folder")
    _writable(path.absolute(), "a folder")
    return text


def model_path(text):
    """An argparse type: the path of `pretrained:<name>`, or a file or folder that exists."""
    try:
        path = runs.model_path(text)
    except runs.ModelNotFoundError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if not path.exists():
        raise argparse.ArgumentTypeError(
            f"no file or folder at {text}: give a run that training wrote, a model file or folder, or a shipped "
            f"model ({', '.join(runs.PRETRAINED + name for name in runs.pretrained_names())})")
    return str(path)


def model_name(text):
    """An argparse type: as model_path, but kept as written (`pretrained:<name>` stays so in a run's config)."""
    model_path(text)
    return text


FORCE = argument("--force", action="store_true", help="write over a recorded result or into a shipped model")


def _train_arguments():
    """The training command's arguments: TrainConfig's fields, choices and options from the registries."""
    defaults = TrainConfig()
    takes = {}  # each architecture option -> its default and the architectures that take it
    for architecture in ARCHITECTURES.values():
        for option, default in architecture.options.items():
            takes.setdefault(option, (default, []))[1].append(architecture.name)
    return [
        argument("--model", default=defaults.model, choices=sorted(MODELS),
                 help="vae, or ae: the plain autoencoder (reconstruction loss alone) the tutorials contrast it with"),
        argument("--architecture", default=defaults.architecture, choices=sorted(ARCHITECTURES),
                 help="; ".join(f"{a.name}: {a.description}" for a in ARCHITECTURES.values())),
        argument("--latent-dim", type=integer(1, 1024), default=defaults.latent_dim, help="size of z (default 2)"),
        *[argument(f"--{option.replace('_', '-')}", dest=option, default=None,
                   type=integer(min(1, default)) if isinstance(default, int) else number() if isinstance(default, float) else str,
                   help=f"option of {', '.join(names)} (default {default})")
          for option, (default, names) in takes.items()],
        argument("--epochs", type=integer(1), default=defaults.epochs, help="passes over the training images (default 30)"),
        argument("--batch-size", type=integer(1, 60000), default=defaults.batch_size, help="images per step (default 128)"),
        argument("--learning-rate", type=number(0.0, inclusive=False), default=defaults.learning_rate,
                 help="Adam's step size (default 1e-3)"),
        argument("--beta", type=number(), default=defaults.beta, help="weight of the KL term"),
        argument("--ema-momentum", type=number(below=1.0), default=defaults.ema_momentum,
                 help="m > 0: keep an exponential moving average of the weights (per step: a = m a + (1 - m) w) "
                      "and end with it; 0.999 averages over about the last 1,000 steps (0: off)"),
        argument("--importance-samples", type=integer(1, 1000), default=defaults.importance_samples,
                 help="k > 1: train on the importance-weighted bound (IWAE, Burda et al. 2015) with k draws per image"),
        argument("--prior-components", type=integer(0, 10000), default=defaults.prior_components,
                 help="C > 0: p(z) is a C-component Gaussian mixture trained with the model, not N(0, I) (start "
                      "it fitted: fit-prior, then --init-from its run)"),
        argument("--init-from", type=model_name, default=None, metavar="RUN",
                 help="start from the weights of a trained run (same --architecture, --latent-dim and options) "
                      "and fine-tune them, e.g. on --importance-samples"),
        argument("--seed", type=integer(*SEED_RANGE), default=defaults.seed, help="random seed (default 0)"),
        argument("--binarize", default=None, choices=BINARIZE,
                 help="none (grayscale), dynamic (fresh Bernoulli draw each epoch) or static (one draw); default "
                      f"{defaults.binarize}, or with --init-from that run's"),
        argument("--likelihood", default=None, choices=sorted(LIKELIHOODS),
                 help=f"default {defaults.likelihood}, or with --init-from that run's"),
        argument("--kl-warmup-epochs", type=integer(0), default=defaults.kl_warmup_epochs,
                 help="raise beta from 0 over this many epochs (fewer than --epochs)"),
        argument("--lr-patience", type=integer(0), default=defaults.lr_patience,
                 help="halve the learning rate after this many epochs without a better val_loss (0: off)"),
        argument("--early-stopping-patience", type=integer(0), default=defaults.early_stopping_patience,
                 help="stop after this many epochs without a better val_loss and restore the best weights (0: off)"),
        argument("--validation-images", type=integer(0), default=defaults.validation_images,
                 help="hold out the last n training images as the validation set that schedules watch "
                      "(0: watch the test set)"),
        argument("--data", default=None, help=DATA_HELP),
        argument("--out", type=output_folder, default=None,
                 help="run folder (default saved_models/<architecture>_latent<d>); written whole at the end"),
        argument("--strategy", default=defaults.strategy, choices=STRATEGIES,
                 help="tf.distribute: mirrored (local GPUs) or multiworker (TF_CONFIG)"),
        argument("--steps-per-execution", type=integer(1), default=defaults.steps_per_execution,
                 help="training steps per call into TensorFlow (default 32)"),
        argument("--jit-compile", action="store_true", help="compile the train step with XLA"),
        argument("--precision", default=defaults.precision, choices=PRECISIONS,
                 help="layer compute dtype: mixed_float16 for GPUs, mixed_bfloat16 for TPUs and recent CPUs"),
        argument("--resume", action="store_true", help="continue a killed run from its last epoch checkpoint"),
        FORCE,
    ]


DATA_OPTIONS = ("binarize", "likelihood")


def data_options(args):
    """--binarize and --likelihood as given, else the --init-from run's (fine-tuning sees the data as the run it
    continues did), else TrainConfig's defaults."""
    source = runs.read_config(runs.model_path(args.init_from)) if args.init_from else {}
    return {name: getattr(args, name) or source.get(name, getattr(TrainConfig, name)) for name in DATA_OPTIONS}


@register_command(
    "train", "train a VAE (or the plain autoencoder) on MNIST and write a self-describing run folder",
    example="python -m keras_vae train --data mnist.npz --epochs 30 --out saved_models/conv_latent2",
    arguments=_train_arguments)
def _train(args):
    architecture = ARCHITECTURES[args.architecture]
    options = {option: getattr(args, option) for other in ARCHITECTURES.values()
               for option in other.options if getattr(args, option) is not None}
    for option in sorted(set(options) - set(architecture.options)):
        known = ", ".join(f"--{o.replace('_', '-')}" for o in architecture.options) or "none"
        raise ValueError(f"--{option.replace('_', '-')} does not apply to --architecture {architecture.name} "
                         f"(its options: {known}).")
    fields = {name: getattr(args, name) for name in TrainConfig.__dataclass_fields__ if name != "options"}
    fields.update(data_options(args))
    run_dir, metrics = train(TrainConfig(**fields, options=options), resume=args.resume, force=args.force)
    final, test = metrics["final"], metrics["test"]
    print(
        f"Wrote {run_dir}: loss {final['loss']:.2f}, test loss {test['loss']:.2f} nats/image, "
        f"{metrics['samples_per_second']:.0f} samples/s"
    )


def _model_arguments(name, *more):
    """--model (default: the shipped 2-D model), --out (default <name>.png), then the command's own."""
    return [argument("--model", type=model_path, default=runs.PRETRAINED + runs.DEFAULT_PRETRAINED,
                     help="run folder, .keras file, SavedModel folder, or pretrained:<name> for a shipped run "
                          f"({', '.join(runs.pretrained_names())}; default {runs.PRETRAINED}{runs.DEFAULT_PRETRAINED})"),
            argument("--out", type=png_file, default=f"{name}.png", help=f"the PNG file to write (default {name}.png)"),
            argument("--zoom", type=integer(1, 32), default=None,
                     help="file pixels per image pixel (default: the least that makes the short side 400 pixels)"),
            *more]


@register_command(
    "sample", "draw new digits: decode z ~ p(z) (N(0, I) unless the model has a fitted prior) into a grid",
    example="python -m keras_vae sample --model pretrained:made --n 16 --out made_samples.png",
    arguments=_model_arguments(
    "sample",
    argument("--n", type=integer(1, 10000), default=64, help="number of samples (rounded down to a square)"),
    argument("--seed", type=integer(*SEED_RANGE), default=0, help="random seed (default 0)")))
def _sample(args):
    decoder, prior = runs.load_sampler(args.model)
    side = math.isqrt(args.n)
    title = f"{plots.samples_title(decoder, prior, f'{side * side} samples')} (seed {args.seed})"
    images = sample_prior(decoder, side * side, args.seed, prior)
    plots.save_grid(args.out, plots.tile_images(images, side, side), title, args.zoom)
    print(f"Wrote {args.out}: {title}")


@register_command(
    "manifold", "draw the tutorial's 2-D latent manifold: decoder(z) over a norm.ppf grid of two latent axes",
    example="python -m keras_vae manifold --model pretrained:conv_latent2 --n 20 --out manifold.png",
    arguments=_model_arguments(
    "manifold",
    argument("--n", type=integer(1, 100), default=20, help="digits per side"),
    argument("--dims", type=integer(0), nargs=2, default=[0, 1], help="the two latent axes to vary")))
def _manifold(args):
    grid, _ = plots.manifold_grid(runs.load_part(args.model, "decoder"), args.n, tuple(args.dims))
    title = f"decoder(z): z[{args.dims[0]}] grows left to right, z[{args.dims[1]}] top to bottom"
    plots.save_grid(args.out, grid, title, args.zoom)
    print(f"Wrote {args.out}: {args.n}x{args.n} manifold over z{args.dims}")


@register_command(
    "reconstruct", "show test digits above their reconstructions, decoder(z_mean of encoder(x))",
    example="python -m keras_vae reconstruct --data mnist.npz --n 10 --out recon.png",
    arguments=_model_arguments(
    "reconstruct",
    argument("--n", type=integer(1, 100), default=10, help="number of test digits"),
    argument("--data", default=None, help=DATA_HELP)))
def _reconstruct(args):
    encoder, decoder = runs.load_part(args.model, "encoder"), runs.load_part(args.model, "decoder")
    x = load_mnist(args.data)[1][0][: args.n]
    title = f"{args.n} test digits (top) and {decoder_kind(decoder).shows.format(z='z_mean')} (bottom)"
    plots.save_grid(args.out, plots.reconstruction_grid(x, reconstruct(encoder, decoder, x)), title, args.zoom)
    print(f"Wrote {args.out}: {args.n} test digits (top) and their reconstructions (bottom)")


@register_command(
    "export", "write the encoder and decoder as TensorFlow SavedModels, which load without keras_vae",
    example="python -m keras_vae export --model saved_models/conv_latent2 --out my_saved_model",
    arguments=[
    argument("--model", type=model_path, required=True,
             help=f"run folder holding {runs.VAE_FILE} ({runs.AE_FILE}) or the two parts' .keras files, or a .keras file"),
    argument("--out", type=output_folder, default=None, help=f"output folder (default <model>/{runs.SAVED_MODEL_DIR})"),
    FORCE])
def _export(args):
    out = args.out or runs.saved_model_dir(args.model)
    runs.check_writable(out, args.force)
    export_saved_model(runs.load_model(args.model), out)
    print(f"Wrote SavedModels {out}/encoder and {out}/decoder (signature 'serve')")


@register_command(
    "evaluate", "score a VAE on the test set: its ELBO and importance-weighted log-likelihood, kept in metrics.json",
    example="python -m keras_vae evaluate --model pretrained:made --k 100 --n 100",
    arguments=[
    argument("--model", type=model_path, required=True, help=f"run folder holding {runs.VAE_FILE}"),
    argument("--k", type=integer(1, 100000), default=5000, help="importance samples per image"),
    argument("--n", type=integer(1), default=None, help="evaluate only the first n test images"),
    argument("--seed", type=integer(*SEED_RANGE), default=0, help="random seed (default 0)"),
    argument("--data", default=None, help="mnist.npz or IDX folder (default: the run's own --data)"),
    FORCE])
def _evaluate(args):
    results, recorded = evaluate_run(args.model, k=args.k, n=args.n, seed=args.seed, data=args.data, force=args.force)
    print(f"test ELBO {results['test_elbo']:.2f}, test log-likelihood {results['test_log_likelihood']:.2f} "
          f"nats/image (k={args.k}, {results['test_images']} images); NLL = {-results['test_log_likelihood']:.2f}")
    print(recorded)


@register_command(
    "fit-prior", "fit a Gaussian mixture prior to a VAE's codes of its training images, written as a new run",
    example="python -m keras_vae fit-prior --model saved_models/made_latent32 --components 200 --out made_mix200",
    arguments=[
    argument("--model", type=model_name, required=True, help=f"run folder holding {runs.VAE_FILE}, or pretrained:<name>"),
    argument("--out", type=output_folder, required=True, help="folder for the new run (the model's own stays as it is)"),
    argument("--components", type=integer(1, 10000), default=200, help="Gaussians in the mixture"),
    argument("--draws", type=integer(1, 100), default=2, help="draws of z ~ q(z|x) per training image"),
    argument("--iterations", type=integer(1, 10000), default=50, help="EM iterations"),
    argument("--seed", type=integer(*SEED_RANGE), default=0, help="random seed (default 0)"),
    argument("--data", default=None, help="mnist.npz or IDX folder (default: the run's own --data)"),
    FORCE])
def _fit_prior(args):
    out, fit = fit_prior_run(args.model, args.out, args.components, args.draws, args.iterations, args.seed,
                             args.data, args.force)
    gain = fit["mean_log_prior"]["fitted"] - fit["mean_log_prior"]["before"]
    print(f"Wrote {out}: a {args.components}-component mixture prior fitted to {fit['codes']} codes in "
          f"{fit['seconds']:.0f} s (their log p(z) {gain:+.2f} nats against the run's prior, {fit['prior_before']}); "
          f"score it with `python -m keras_vae evaluate --model {out}`")


@register_command(
    "figures", "draw a run's figures again from its models, history and test set",
    example="python -m keras_vae figures --model saved_models/conv_latent2",
    arguments=[
    argument("--model", type=model_path, required=True, help="run folder"),
    argument("--data", default=None, help="mnist.npz or IDX folder (default: the run's own --data)"),
    FORCE])
def _figures(args):
    runs.check_writable(args.model, args.force)
    names = redraw_figures(args.model, args.data)
    print(f"Wrote {', '.join(f'{name}.png' for name in names)} in {args.model}")


@register_command(
    "compare", "compare an autoencoder with a VAE: reconstructions, codes against the prior, and whether prior "
               "samples are digits",
    example="python -m keras_vae compare --ae pretrained:ae_conv_latent2 --vae pretrained:conv_latent2 --out ae_vs_vae",
    arguments=[
    argument("--ae", type=model_name, required=True, help="an autoencoder run (train --model ae), or pretrained:<name>"),
    argument("--vae", type=model_name, required=True, help="a VAE run of the same architecture and latent size"),
    argument("--data", default=None, help="mnist.npz or IDX folder (default: the VAE run's own --data)"),
    argument("--classifier", type=model_path, default=str(runs.CLASSIFIER),
             help="the digit classifier's folder (default: the shipped one; see train-classifier)"),
    argument("--samples", type=integer(1, 100000), default=1000, help="prior draws decoded by each model"),
    argument("--seed", type=integer(*SEED_RANGE), default=0, help="random seed (default 0)"),
    argument("--out", type=output_folder, default="ae_vs_vae", help="folder for compare.json and the figures"),
    FORCE])
def _compare(args):
    table = compare_runs(args.ae, args.vae, args.out, data=args.data, classifier=args.classifier,
                         samples=args.samples, seed=args.seed, force=args.force)
    print(format_table(table))
    print(f"Wrote {args.out}/: {COMPARISON} and the figures {', '.join(f'{n}.png' for n in FIGURES)}")


@register_command(
    "train-classifier", "train the digit classifier that `compare` asks whether decoded samples are digits",
    example="python -m keras_vae train-classifier --data mnist.npz --out my_classifier",
    arguments=[
    argument("--data", default=None, help=DATA_HELP),
    argument("--epochs", type=integer(1), default=15),
    argument("--seed", type=integer(*SEED_RANGE), default=0, help="random seed (default 0)"),
    argument("--out", type=output_folder, default=str(runs.CLASSIFIER),
             help="folder for classifier.keras and metrics.json (default: the shipped one, which needs --force)"),
    FORCE])
def _train_classifier(args):
    runs.check_new_run(args.out, args.force)
    classifier, metrics = train_classifier(args.data, epochs=args.epochs, seed=args.seed)
    save_classifier(args.out, classifier, metrics)
    print(f"Wrote {args.out}: test accuracy {metrics['test_accuracy']:.2%} "
          f"({metrics['binarized_test_accuracy']:.2%} on the binarized test set)")


DESCRIPTION = """keras_vae: train Variational Autoencoders (Kingma & Welling 2013) on MNIST, draw and score them,
and export them for serving. Without --model, the commands use the shipped 2-D model."""
EPILOG = """examples:
  python -m keras_vae sample --n 64 --out samples.png        digits from the shipped 2-D model
  python -m keras_vae train --data mnist.npz                 the tutorial's model, 30 epochs
  python -m keras_vae <command> --help                       a command's options, with an example
"""


def _parser():
    parser = argparse.ArgumentParser(prog="python -m keras_vae", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="command",
                                help=", ".join(COMMANDS) + " (each below)")
    for command in COMMANDS.values():
        p = sub.add_parser(command.name, help=command.help, description=command.help[0].upper() + command.help[1:] + ".",
                           epilog=f"example:\n  {command.example}\n" if command.example else None,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        for flags, options in command.arguments() if callable(command.arguments) else command.arguments:
            p.add_argument(*flags, **options)
        p.add_argument("--verbose", action="store_true", help="show TensorFlow's start-up log lines")
        p.set_defaults(run=command.run)
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        args.run(args)
    except (OSError, ValueError, TrainingDivergedError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
