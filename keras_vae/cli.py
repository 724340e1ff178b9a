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

from . import loading, plots, run_data, runs, sampling
from .architectures import ARCHITECTURES, option_rule
from .classifier import save_classifier, train_classifier
from .compare import COMPARISON, FIGURES, compare_runs, format_table
from .decoders import latent_dim, num_classes, reconstruct, shows
from .evaluate import evaluate_run
from .judge import format_rows, judge_run
from .export import export_onnx, export_saved_model, onnx_differences, onnx_refusal
from .prior_fit import fit_prior_run
from .options import Integer, as_flags, choices_of, flag
from .train import OWN_IMAGES, SEED, TUTORIAL, TrainConfig, TrainingDivergedError, redraw_figures, train

RUN_DATA_HELP = "the run's images, if not where it recorded them (an image folder, .npz, IDX folder or data set name)"


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


def parsed(rule):
    """An argparse type from an options.Rule: the flag's text parsed, then checked, each failure in one sentence."""
    def parse(text):
        try:
            value = rule.parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {rule.kind}, got {text!r}") from None
        problem = rule.problem(value, text)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value
    return parse


def integer(low, high=None):
    """An argparse type: an integer in [low, high] (options.Integer)."""
    return parsed(Integer(low, high))


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


def existing_model(text):
    """An argparse type: the path (as text) of `pretrained:<name>`, or of a file or folder that exists."""
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
    """An argparse type: as existing_model, but kept as written (`pretrained:<name>` stays so in a run's config)."""
    existing_model(text)
    return text


FORCE = argument("--force", action="store_true", help="write over a recorded result or into a shipped model")


PATH_TYPES = {"run": lambda text: model_name(text), "data": str, "folder": lambda text: output_folder(text)}


def _config_argument(field):
    """The training command's flag for a TrainConfig field, from its declaration (train.py)."""
    meta, default = field.metadata, field.default
    help_text = as_flags(meta["help"]() if callable(meta["help"]) else meta["help"], option_names())
    if isinstance(default, bool):  # a switch: --name turns it on, or --no-name off where it is on by default
        return argument(flag(f"no_{field.name}" if default else field.name), dest=field.name,
                        action="store_false" if default else "store_true", help=help_text)
    if field.name in OWN_IMAGES:
        default = f"{TUTORIAL[field.name]} for MNIST, {OWN_IMAGES[field.name]} for other images"
    shown = f" (default {default})" if default is not None else ""
    if meta["inherited"]:
        shown = f"{shown[:-1]}; with --init-from, that run's)" if shown else " (with --init-from, that run's)"
    return argument(flag(field.name), dest=field.name, default=field.default,
                    type=parsed(meta["check"]) if meta["check"] else PATH_TYPES.get(meta["path"], str),
                    choices=choices_of(field),
                    metavar="RUN" if meta["path"] == "run" else None, help=help_text + shown)


def _train_arguments():
    """The training command's arguments: TrainConfig's declared fields, and a flag for each architecture's options
    (their registered defaults)."""
    takes = {}  # each architecture option -> its default and the architectures that take it
    for architecture in ARCHITECTURES.values():
        for option, default in architecture.options.items():
            takes.setdefault(option, (default, []))[1].append(architecture.name)
    fields = [f for f in dataclasses.fields(TrainConfig) if f.name != "options"]
    return [
        *[_config_argument(field) for field in fields],
        *[argument(flag(option), dest=option, default=None,
                   type=parsed(option_rule(default)) if option_rule(default) else str,
                   help=f"option of {', '.join(names)} (default {default})")
          for option, (default, names) in takes.items()],
        argument("--model", dest="old_model", default=None, help=argparse.SUPPRESS),
        argument("--resume", action="store_true", help="continue a killed run from its last epoch checkpoint"),
        FORCE,
    ]


@register_command(
    "train", "train a VAE (or the plain autoencoder) on MNIST or your own images and write a self-describing run folder",
    example="python -m keras_vae train --data mnist.npz --epochs 30 --out saved_models/conv_latent2",
    arguments=_train_arguments)
def _train(args):
    if args.old_model is not None:
        raise ValueError(f"train takes --kind {args.old_model} for the kind of model: --model names a trained run, "
                         "as in the other commands (to start from one, give --init-from).")
    fields = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig) if f.name != "options"}
    options = {option: getattr(args, option) for other in ARCHITECTURES.values()
               for option in other.options if getattr(args, option) is not None}
    run_dir, metrics = train(TrainConfig(**fields, options=options), resume=args.resume, force=args.force)
    final, test = metrics["final"], metrics["test"]
    print(
        f"Wrote {run_dir}: loss {final['loss']:.2f}, test loss {test['loss']:.2f} nats/image, "
        f"{metrics['samples_per_second']:.0f} samples/s"
    )
    label = " --label <class>" if "bound" in metrics else ""  # a conditional run draws the class asked for
    if "sampling_prior" in metrics:  # the codes fill little of N(0, I): sample from a mixture fitted to them
        print(f"New images like these: python -m keras_vae sample --model {run_dir}{label} --n 64 --out samples.png "
              f"(z from a {metrics['sampling_prior']['components']}-component mixture fitted to the training codes; "
              "--prior standard: N(0, I))")


def _model_arguments(name, *more):
    """--model (default: the shipped 2-D model), --out (default <name>.png), then the command's own."""
    return [argument("--model", type=existing_model, default=runs.PRETRAINED + runs.DEFAULT_PRETRAINED,
                     help="run folder, .keras file, SavedModel folder, or pretrained:<name> for a shipped run "
                          f"({', '.join(runs.pretrained_names())}; default {runs.PRETRAINED}{runs.DEFAULT_PRETRAINED})"),
            argument("--out", type=png_file, default=f"{name}.png", help=f"the PNG file to write (default {name}.png)"),
            argument("--zoom", type=integer(1, 32), default=None,
                     help="file pixels per image pixel (default: the least that makes the short side 400 pixels)"),
            *more]


LABEL = argument("--label", default=None, help="for a conditional run (train --conditional): the class to draw, a "
                                               "folder name of its images or the integer label")


def png_or_folder(text):
    """An argparse type: a .png file for a grid of images, or a folder (a path without an image suffix) for one PNG
    per image."""
    return png_file(text) if Path(text).suffix else output_folder(text)


@register_command(
    "sample", "draw new images: decode z ~ p(z) (the run's fitted sampling prior where it has one) into a grid, or "
              "into a folder of PNGs",
    example="python -m keras_vae sample --model saved_models/colored --n 400 --out samples/",
    arguments=[
    *_model_arguments("sample")[:1],
    argument("--out", type=png_or_folder, default="sample.png",
             help="a .png file for a grid (default sample.png), or a folder for one PNG per image (0000.png, ...)"),
    *_model_arguments("sample")[2:],
    argument("--n", type=integer(1, 10000), default=64,
             help="number of samples (a grid rounds it down to a square)"),
    argument("--prior", choices=loading.SAMPLING_PRIORS, default=None,
             help="; ".join(f"{name}: {what}" for name, what in loading.SAMPLING_PRIORS.items())
                  + " (default: fitted where the run has one, else model)"),
    argument("--seed", type=parsed(SEED), default=0, help="random seed (default 0)"),
    argument("--pixels", action="store_true",
             help="draw each image's 8-bit pixels, x ~ p(x|z), not its mean (discretized_logistic_mixture runs)"),
    LABEL,
    FORCE])
def _sample(args):
    grid = bool(Path(args.out).suffix)
    if not grid:
        sampling.check_image_folder(args.out, args.force)
    decoder, prior = sampling.sampler(args.model, args.prior)
    label = sampling.class_index(args.model, decoder, args.label)
    n = math.isqrt(args.n) ** 2 if grid else args.n
    what = f"{n} samples" + ("" if label is None else f" of class {args.label}")
    title = f"{plots.samples_title(decoder, prior, what, args.pixels)} (seed {args.seed})"
    images = sampling.draw(decoder, prior, n, args.seed, args.pixels, verbose=0 if grid else 1, label=label)
    if grid:
        side = math.isqrt(n)
        plots.save_grid(args.out, plots.tile_images(images, side, side), title, args.zoom)
        print(f"Wrote {args.out}: {title}")
        return
    paths = sampling.write_images(args.out, images, args.force)
    print(f"Wrote {len(paths)} images to {args.out}/ ({paths[0].name} ... {paths[-1].name}): {title}")


@register_command(
    "manifold", "draw the tutorial's 2-D latent manifold: decoder(z) over a norm.ppf grid of two latent axes",
    example="python -m keras_vae manifold --model pretrained:conv_latent2 --n 20 --out manifold.png",
    arguments=_model_arguments(
    "manifold",
    argument("--n", type=integer(1, 100), default=20, help="digits per side"),
    argument("--dims", type=integer(0), nargs=2, default=None,
             help="the two latent axes to vary (default 0 1; with --label and z over 2-D, the two with the most KL)"),
    argument("--data", default=None, help=RUN_DATA_HELP + " (for --label over a z of more than 2-D)"),
    LABEL))
def _manifold(args):
    decoder = loading.load_part(args.model, "decoder")
    label = sampling.class_index(args.model, decoder, args.label)
    dims = args.dims or (0, 1)
    if args.dims is None and label is not None and latent_dim(decoder) > 2:  # the two dims the codes use most
        dims = plots.manifold_dims(loading.load_part(args.model, "encoder"), *run_data.test_set(args.model, args.data))
    grid, _ = plots.manifold_grid(decoder, args.n, tuple(dims), label=label)
    given = "" if label is None else f", y = {args.label}"
    title = f"decoder(z{given}): z[{dims[0]}] grows left to right, z[{dims[1]}] top to bottom"
    plots.save_grid(args.out, grid, title, args.zoom)
    print(f"Wrote {args.out}: {args.n}x{args.n} manifold over z{list(dims)}{given}")


@register_command(
    "reconstruct", "show test images above their reconstructions, decoder(z_mean of encoder(x))",
    example="python -m keras_vae reconstruct --data mnist.npz --n 10 --out recon.png",
    arguments=_model_arguments(
    "reconstruct",
    argument("--n", type=integer(1, 100), default=10, help="number of test images"),
    argument("--data", default=None, help=RUN_DATA_HELP + "; default: the run's, else MNIST")))
def _reconstruct(args):
    encoder, decoder = loading.load_part(args.model, "encoder"), loading.load_part(args.model, "decoder")
    x, y = run_data.test_set(args.model, args.data, args.n)
    labels = None if num_classes(decoder) is None else y  # a conditional model takes each image's true class
    title = f"{len(x)} test images (top) and {shows(decoder, 'z_mean' if labels is None else 'z_mean, y')} (bottom)"
    plots.save_grid(args.out, plots.reconstruction_grid(x, reconstruct(encoder, decoder, x, labels)), title, args.zoom)
    print(f"Wrote {args.out}: {title}")


EXPORT_FORMATS = {"saved_model": "TensorFlow SavedModels", "onnx": "SavedModels, and encoder.onnx and decoder.onnx beside them"}


@register_command(
    "export", "write the encoder and decoder as TensorFlow SavedModels (and ONNX files), which load without keras_vae",
    example="python -m keras_vae export --model saved_models/conv_latent2 --format onnx --out my_saved_model",
    arguments=[
    argument("--model", type=existing_model, required=True,
             help=f"run folder holding {runs.VAE_FILE} ({runs.AE_FILE}) or the two parts' .keras files, or a .keras file"),
    argument("--out", type=output_folder, default=None, help=f"output folder (default <model>/{runs.SAVED_MODEL_DIR})"),
    argument("--format", default="saved_model", choices=EXPORT_FORMATS,
             help="; ".join(f"{name}: {what}" for name, what in EXPORT_FORMATS.items()) + " (default saved_model)"),
    FORCE])
def _export(args):
    out = args.out or runs.saved_model_dir(args.model)
    runs.check_writable(out, args.force)
    model = loading.load_model(args.model)
    if args.format == "saved_model":
        export_saved_model(model, out)
        print(f"Wrote SavedModels {out}/encoder and {out}/decoder (signature 'serve')")
        return
    export_onnx(model, out)
    differences = onnx_differences(model, out)
    print(f"Wrote SavedModels {out}/encoder and {out}/decoder, and {out}/encoder.onnx and {out}/decoder.onnx; "
          f"onnxruntime against Keras on 8 inputs: max |difference| {differences['encoder']:.1e} (encoder), "
          f"{differences['decoder']:.1e} (decoder)")
    refusal = onnx_refusal(model.decoder)
    if refusal:
        print(f"Note: {refusal}.")


@register_command(
    "evaluate", "score a VAE on the test set: its ELBO and importance-weighted log-likelihood, kept in metrics.json",
    example="python -m keras_vae evaluate --model pretrained:made --k 100 --n 100",
    arguments=[
    argument("--model", type=existing_model, required=True, help=f"run folder holding {runs.VAE_FILE}"),
    argument("--k", type=integer(1, 100000), default=5000, help="importance samples per image"),
    argument("--n", type=integer(1), default=None, help="evaluate only the first n test images"),
    argument("--seed", type=parsed(SEED), default=0, help="random seed (default 0)"),
    argument("--data", default=None, help=RUN_DATA_HELP),
    FORCE])
def _evaluate(args):
    results, recorded = evaluate_run(args.model, k=args.k, n=args.n, seed=args.seed, data=args.data, force=args.force)
    per_dim = (f", {results['bits_per_dim']:.4f} bits/dim (negative ELBO {results['elbo_bits_per_dim']:.4f})"
               if "bits_per_dim" in results else " (a density of pixels in [0, 1]: no bits/dim)")
    print(f"test ELBO {results['test_elbo']:.2f}, test log-likelihood {results['test_log_likelihood']:.2f} "
          f"nats/image (k={args.k}, {results['test_images']} images); NLL = {-results['test_log_likelihood']:.2f}"
          f"{per_dim}")
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
    argument("--seed", type=parsed(SEED), default=0, help="random seed (default 0)"),
    argument("--data", default=None, help=RUN_DATA_HELP),
    FORCE])
def _fit_prior(args):
    out, fit = fit_prior_run(args.model, args.out, args.components, args.draws, args.iterations, args.seed,
                             args.data, args.force)
    gain = fit["mean_log_prior"]["fitted"] - fit["mean_log_prior"]["before"]
    print(f"Wrote {out}: a {args.components}-component mixture prior fitted to {fit['codes']} codes in "
          f"{fit['seconds']:.0f} s (their log p(z) {gain:+.2f} nats against the run's prior, {fit['prior_before']}); "
          f"score it with `python -m keras_vae evaluate --model {out}`")


@register_command(
    "judge", "say how much a run's samples look like its images: a classifier trained on its labelled training images "
             "(and a class of shapeless blobs) judges samples beside real test images",
    example="python -m keras_vae judge --model saved_models/colored --n 400",
    arguments=[
    argument("--model", type=model_name, required=True, help="a VAE run whose images have labels, or pretrained:<name>"),
    argument("--n", type=integer(10, 10000), default=400, help="samples judged from each prior (default 400)"),
    argument("--seed", type=parsed(SEED), default=0, help="random seed (default 0)"),
    argument("--data", default=None, help=RUN_DATA_HELP)])
def _judge(args):
    print(format_rows(judge_run(args.model, args.n, args.seed, args.data, verbose=1)))


@register_command(
    "figures", "draw a run's figures again from its models, history and test set",
    example="python -m keras_vae figures --model saved_models/conv_latent2",
    arguments=[
    argument("--model", type=existing_model, required=True, help="run folder"),
    argument("--data", default=None, help=RUN_DATA_HELP),
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
    argument("--ae", type=model_name, required=True, help="an autoencoder run (train --kind ae), or pretrained:<name>"),
    argument("--vae", type=model_name, required=True, help="a VAE run of the same architecture and latent size"),
    argument("--data", default=None, help=RUN_DATA_HELP + " (the VAE run's)"),
    argument("--classifier", type=existing_model, default=str(runs.CLASSIFIER),
             help="the digit classifier's folder (default: the shipped one; see train-classifier)"),
    argument("--samples", type=integer(1, 100000), default=1000, help="prior draws decoded by each model"),
    argument("--seed", type=parsed(SEED), default=0, help="random seed (default 0)"),
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
    argument("--data", default=None, help="mnist.npz or MNIST IDX folder (else $KERAS_VAE_MNIST, else download)"),
    argument("--epochs", type=integer(1), default=15),
    argument("--seed", type=parsed(SEED), default=0, help="random seed (default 0)"),
    argument("--out", type=output_folder, default=str(runs.CLASSIFIER),
             help="folder for classifier.keras and metrics.json (default: the shipped one, which needs --force)"),
    FORCE])
def _train_classifier(args):
    runs.check_new_run(args.out, args.force)
    classifier, metrics = train_classifier(args.data, epochs=args.epochs, seed=args.seed)
    save_classifier(args.out, classifier, metrics)
    print(f"Wrote {args.out}: test accuracy {metrics['test_accuracy']:.2%} "
          f"({metrics['binarized_test_accuracy']:.2%} on the binarized test set)")


@register_command(
    "app", "serve the latent-space explorer in the browser: the map (click or drag to decode), a sketchpad, prior "
           "samples (pip install 'keras_vae[app]')",
    example="python -m keras_vae app --model pretrained:conv_latent2 --port 7860",
    arguments=[
    argument("--model", type=model_name, default=runs.PRETRAINED + runs.DEFAULT_PRETRAINED,
             help=f"run folder or pretrained:<name> (default {runs.PRETRAINED}{runs.DEFAULT_PRETRAINED})"),
    argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1: this machine only)"),
    argument("--port", type=integer(1, 65535), default=7860, help="port to serve on (default 7860)"),
    argument("--data", default=None, help=RUN_DATA_HELP + "; the map shows its test images"),
    argument("--n", type=integer(1, 10000), default=5000, help="test images on the map"),
    argument("--dims", type=integer(0), nargs=2, default=None,
             help="the two latent dims of the map (default: the two with the most KL)")])
def _app(args):
    from .app import serve

    serve(args.model, args.host, args.port, args.data, args.n, args.dims)


DESCRIPTION = """keras_vae: train Variational Autoencoders (Kingma & Welling 2013) on MNIST or your own images, draw
and score them, and export them for serving. Without --model, the commands use the shipped 2-D model."""
EPILOG = """examples:
  python -m keras_vae sample --n 64 --out samples.png        digits from the shipped 2-D model
  python -m keras_vae train --data mnist.npz                 the tutorial's model, 30 epochs
  python -m keras_vae train --data photos/ --image-size 32   your own images, resized to 32x32
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
    except (OSError, ValueError, ImportError, TrainingDivergedError) as error:
        print(f"error: {as_flags(str(error), flag_names())}", file=sys.stderr)
        sys.exit(2)


def option_names():
    """The training options and the registered architectures' options, which the training command's help names."""
    return {f.name for f in dataclasses.fields(TrainConfig)} | {o for a in ARCHITECTURES.values() for o in a.options}


def flag_names():
    """The argument names that library errors write as `name` and the command line shows as --name: every command's
    flags."""
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {action.dest for parser in sub.choices.values() for action in parser._actions if action.option_strings}
