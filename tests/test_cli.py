import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from matplotlib.image import imread

from keras_vae import cli, runs
from keras_vae.data import IDX_FILES
from keras_vae.train import OWN_IMAGES, TUTORIAL, TrainConfig, describe_defaults, train
from keras_vae.synthetic import colored_mnist, write_folder
from conftest import SMALL_MNIST, run_command, tensorboard_events

SHIPPED_COMPARISON = runs.SHIPPED_MODELS / "ae_vs_vae_conv_latent2"


run_cli = run_command


def test_train_writes_a_complete_self_describing_run_folder(tiny_runs):
    out = tiny_runs / "vae"
    for name in ["vae.keras", "encoder.keras", "decoder.keras", "history.json", "config.json", "metrics.json",
                 "manifold.png", "latent_scatter.png", "reconstructions.png", "samples.png", "history.png"]:
        assert (out / name).is_file(), name
    history = json.loads((out / "history.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(history["val_loss"]) == 2 and metrics["epochs"] == 2
    assert history["loss"][1] < history["loss"][0] < 560
    assert metrics["final"]["val_loss"] == history["val_loss"][-1]
    assert metrics["samples_per_second"] > 0 and "cpu_count" in metrics["hardware"]
    assert json.loads((out / "config.json").read_text())["latent_dim"] == 2
    assert imread(out / "manifold.png").shape[:2] == (824, 800)
    decoder = keras.models.load_model(out / "decoder.keras", safe_mode=True)
    assert decoder.predict(np.zeros((1, 2)), verbose=0).shape == (1, 28, 28, 1)


def test_a_two_epoch_run_leaves_tensorboard_logs_of_the_loss_terms_schedules_and_images(tmp_path):
    out = tmp_path / "run"
    result = run_cli("train", "--data", SMALL_MNIST, "--architecture", "mlp", "--hidden-dim", 16, "--epochs", 2,
                     "--kl-warmup-epochs", 1, "--lr-patience", 1, "--out", out)
    assert result.returncode == 0, result.stderr
    history = json.loads((out / "history.json").read_text())
    train, validation = tensorboard_events(out / "tensorboard" / "train"), tensorboard_events(out / "tensorboard" / "validation")
    for term in ("loss", "reconstruction_loss", "kl_loss"):
        assert [v for _, v in train[f"epoch_{term}"]] == pytest.approx(history[term], rel=1e-6)
        assert [v for _, v in validation[f"epoch_{term}"]] == pytest.approx(history[f"val_{term}"], rel=1e-6)
    assert [v for _, v in train["epoch_beta"]] == [0.0, 1.0]  # the warm-up's beta, epoch by epoch
    assert [v for _, v in train["epoch_learning_rate"]] == pytest.approx([1e-3, 1e-3])
    images = tensorboard_events(out / "tensorboard" / "images")
    assert [step for step, _ in images["prior samples"]] == [0, 1] and len(images["manifold"]) == 2


@pytest.mark.slow  # end-to-end: the slow lane
def test_autoregressive_binarized_training_with_held_out_validation_then_evaluate_sample_and_fit_its_prior(tmp_path, capsys):
    out = tmp_path / "run"
    result = run_cli("train", "--data", SMALL_MNIST, "--architecture", "made", "--hidden-dim", 32, "--latent-dim", 4,
                     "--epochs", 3, "--binarize", "dynamic", "--kl-warmup-epochs", 2, "--early-stopping-patience", 5,
                     "--lr-patience", 2, "--validation-images", 128, "--no-figures", "--out", out)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    # Validation is the last 128 training images; the test set is scored apart, on the weights kept.
    assert metrics["test"]["loss"] != metrics["final"]["val_loss"] and 0 < metrics["test"]["loss"] < 560
    result = run_cli("sample", "--model", out, "--n", 16, "--out", tmp_path / "samples.png")
    assert result.returncode == 0, result.stderr
    samples = imread(tmp_path / "samples.png")
    # Drawn pixel by pixel from Bernoulli conditionals: every pixel below the title is black or white.
    assert samples.shape[1] == 448 and samples.shape[0] >= 40 + 448  # a long title takes more lines, above the grid
    assert set(np.unique(samples[-448:, :, 0])) == {0.0, 1.0}
    result = run_cli("evaluate", "--model", out, "--k", 50, "--n", 16)
    assert result.returncode == 0, result.stderr
    evaluation = json.loads((out / "metrics.json").read_text())["evaluation"]
    assert evaluation["k"] == 50 and evaluation["test_images"] == 16
    assert evaluation["test_elbo"] < evaluation["test_log_likelihood"] < 0
    assert "NLL =" in result.stdout
    # Its prior fitted to its codes: a new run beside it, sampled from and scored under the mixture.
    cli.main(["fit-prior", "--model", str(out), "--components", "4", "--out", str(tmp_path / "fitted")])
    fitted = json.loads((tmp_path / "fitted" / "metrics.json").read_text())["prior_fit"]
    assert fitted["codes"] == 2 * (512 - 128) and fitted["mean_log_prior"]["fitted"] > fitted["mean_log_prior"]["before"]
    assert fitted["prior_before"] == "N(0, I)" and "nats against the run's prior, N(0, I)" in capsys.readouterr().out
    assert json.loads((tmp_path / "fitted" / "config.json").read_text())["prior"]["fitted_to"] == "../run"  # from it
    assert "evaluation" in json.loads((out / "metrics.json").read_text())  # the source run is left as it was
    cli.main(["sample", "--model", str(tmp_path / "fitted"), "--n", "16", "--out", str(tmp_path / "fitted.png")])
    assert "4-component Gaussian mixture" in capsys.readouterr().out
    cli.main(["evaluate", "--model", str(tmp_path / "fitted"), "--k", "50", "--n", "16"])
    under_mixture = json.loads((tmp_path / "fitted" / "metrics.json").read_text())["evaluation"]
    assert under_mixture["test_elbo"] < under_mixture["test_log_likelihood"] < 0
    assert under_mixture["test_log_likelihood"] != evaluation["test_log_likelihood"]


def test_fine_tuning_sees_the_data_as_the_run_it_continues_did_unless_told_otherwise():
    made = runs.read_config(runs.model_path("pretrained:made"))  # trained on dynamically binarized digits
    inherited = TrainConfig(init_from="pretrained:made").inherit(made)
    assert [inherited.architecture, inherited.latent_dim, inherited.binarize, inherited.likelihood] == [
        "made", 32, "dynamic", "bernoulli"]
    assert [inherited.image_size, inherited.channels, inherited.mixture_components] == [None, None, None]
    assert TrainConfig(init_from="pretrained:made", binarize="none").inherit(made).binarize == "none"
    assert TrainConfig(latent_dim=4).inherit({}).latent_dim == 4  # a bare model file records no data options


def test_images_other_than_mnist_train_with_the_own_images_defaults_unless_told_and_the_record_says_why():
    config, record = TrainConfig(data="pictures/").with_defaults(mnist_like=False)
    assert {name: getattr(config, name) for name in OWN_IMAGES} == OWN_IMAGES and config.binarize == "none"
    assert record["chosen"] == "own images" and record["values"] == OWN_IMAGES
    assert describe_defaults(record).startswith("Images not MNIST as its loader reads it: training with likelihood "
                                                "discretized_logistic_mixture, architecture resnet_modulated, ")
    config, record = TrainConfig(data="pictures/", architecture="conv").with_defaults(mnist_like=False)
    assert config.architecture == "conv" and "architecture" not in record["values"]
    config, record = TrainConfig(data="pictures/", lr_patience=2).with_defaults(mnist_like=False)
    assert config.lr_decay == 0.0 and "lr_decay" not in record["values"]  # the schedule asked for replaces the decay
    for config in (TrainConfig(), TrainConfig(data="mnist"), TrainConfig(data="pictures/", binarize="dynamic"),
                   TrainConfig(data="pictures/", init_from="pretrained:conv_latent2")):
        chosen, record = config.with_defaults(mnist_like=config.data != "pictures/")
        assert {name: getattr(chosen, name) for name in TUTORIAL} == TUTORIAL and record["chosen"] == "tutorial"


@pytest.mark.slow  # end-to-end: two trainings, from Python and from the command
def test_train_takes_the_same_options_from_python_and_the_command_line_for_a_color_folder_named_mnist(
        tmp_path, mnist_small, capsys):
    (x, y), _ = mnist_small
    folder = write_folder(tmp_path / "mnist_colored", colored_mnist(x[:24]), y[:24])
    quick = {"epochs": 1, "figures": False, "steps_per_execution": 1}  # one step per call: no multi-step loop to trace
    train(TrainConfig(data=str(folder), out=str(tmp_path / "python"), **quick))
    said = capsys.readouterr().out.splitlines()[:2]
    result = run_command("train", "--data", folder, "--epochs", 1, "--out", tmp_path / "command", "--no-figures",
                         "--steps-per-execution", 1)
    assert result.returncode == 0, result.stderr
    said_too = result.stdout.splitlines()[:2]
    python, command = runs.read_config(tmp_path / "python"), runs.read_config(tmp_path / "command")
    keys = ("likelihood", "architecture", "latent_dim", "batch_size", "lr_decay", "defaults")
    assert {k: python[k] for k in keys} == {k: command[k] for k in keys} and said == said_too
    assert python["likelihood"] == "discretized_logistic_mixture" and python["defaults"]["chosen"] == "own images"
    assert python["images"]["mnist_like"] is False and said[1].startswith("Images not MNIST")


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    """Files and folders a user can point a command at by mistake."""
    root = tmp_path_factory.mktemp("bad")
    (root / "notes.txt").write_text("not a model, not MNIST\n")
    (root / "truncated.keras").write_bytes((runs.DEFAULT_MODEL / "decoder.keras").read_bytes()[:4000])
    x, y = np.zeros((4, 28, 28), "uint8"), np.zeros(4, "uint8")
    np.savez(root / "shapes.npz", x_train=np.zeros((4, 28, 27), "uint8"), y_train=y, x_test=x, y_test=y)
    np.savez(root / "dtype.npz", x_train=x.astype("float32") + 255.0, y_train=y, x_test=x, y_test=y)
    np.savez(root / "missing.npz", images=x)
    write_folder(root / "sizes" / "a", np.zeros((2, 20, 20, 1), "uint8"))
    write_folder(root / "sizes" / "b", np.zeros((2, 24, 24, 1), "uint8"))
    (root / "notes").mkdir()
    (root / "notes" / "a.txt").write_text("no image")
    (root / "notes" / "b.csv").write_text("1,2")
    write_folder(root / "colors", np.random.default_rng(0).integers(0, 256, (8, 16, 16, 3), dtype=np.uint8))
    (root / "idx").mkdir()
    for name in IDX_FILES.values():
        (root / "idx" / name).write_bytes(b"\x12\x34\x08\x01" + bytes(8))
    (root / "empty").mkdir()
    (root / "finished").mkdir()
    (root / "finished" / "metrics.json").write_text("{}")
    return root


# Command lines a user can get wrong, each with a piece of the one error line it must give.
BAD_COMMAND_LINES = [
    ("", "the following arguments are required: command"),
    ("trian", "invalid choice: 'trian'"),
    ("train --epochs 0", "--epochs: must be an integer 1 or more, got 0"),
    ("train --epochs -3", "--epochs: must be an integer 1 or more, got -3"),
    ("train --epochs two", "--epochs: expected an integer, got 'two'"),
    ("train --latent-dim 0", "--latent-dim: must be an integer from 1 to 1024"),
    ("train --batch-size 0", "--batch-size: must be an integer from 1 to 60000"),
    ("train --learning-rate 0", "--learning-rate: must be a finite number > 0"),
    ("train --learning-rate nan", "--learning-rate: must be a finite number > 0"),
    ("train --beta -1", "--beta: must be a finite number ≥ 0"),
    ("train --ema-momentum 1", "--ema-momentum: must be a finite number ≥ 0 and < 1, got 1"),
    ("train --seed -1", "--seed: must be an integer from 0 to"),
    ("train --kl-warmup-epochs -1", "--kl-warmup-epochs: must be an integer 0 or more"),
    ("train --lr-patience -2", "--lr-patience: must be an integer 0 or more"),
    ("train --early-stopping-patience -1", "--early-stopping-patience: must be an integer 0 or more"),
    ("train --validation-images -5", "--validation-images: must be an integer 0 or more"),
    ("train --steps-per-execution 0", "--steps-per-execution: must be an integer 1 or more"),
    ("train --hidden-dim 0", "--hidden-dim: must be an integer 1 or more"),
    ("train --architecture vgg", "--architecture: invalid choice: 'vgg'"),
    ("train --likelihood poisson", "--likelihood: invalid choice: 'poisson'"),
    ("train --binarize sometimes", "--binarize: invalid choice: 'sometimes'"),
    ("train --architecture conv --hidden-dim 64", "--hidden-dim does not apply to --architecture conv"),
    ("train --kl-warmup-epochs 5 --epochs 5", "--kl-warmup-epochs 5 must be below --epochs 5"),
    ("train --lr-decay 1", "--lr-decay: must be a finite number ≥ 0 and < 1, got 1"),
    ("train --lr-decay 0.3 --lr-patience 2", "--lr-decay 0.3 and --lr-patience 2 both set the learning rate"),
    ("train --ema-momentum 0.999 --early-stopping-patience 3",
     "early stopping would put back its best epoch's weights over the averaged ones"),
    ("train --data {data} --architecture made --likelihood gaussian --out {tmp}/r1",
     "--architecture made takes the bernoulli likelihood, not gaussian"),
    ("train --data {data} --validation-images 512 --out {tmp}/r2", "--validation-images must be in [0, 512)"),
    ("train --out {bad}/notes.txt", "--out: {bad}/notes.txt is a file: give a folder"),
    ("train --out {bad}/notes.txt/run", "{bad}/notes.txt is a file, so {bad}/notes.txt/run cannot be made a folder"),
    ("train --out {bad}/finished", "{bad}/finished already holds a run: give another --out, or pass --force"),
    ("train --out {shipped}", "is in the shipped model"),
    ("train --data {data} --out {tmp}/r3 --resume", "No checkpoint to resume from"),
    ("train --data {bad}/notes.txt --out {tmp}/r4", "{bad}/notes.txt is not an .npz archive"),
    ("train --data {bad}/shapes.npz --out {tmp}/r5", "x_train's images are (28, 27, 1) and x_test's (28, 28, 1)"),
    ("train --data {bad}/dtype.npz --out {tmp}/r6", "x_train has dtype float32; give uint8 pixels 0..255 or floats in [0, 1]"),
    ("train --data {bad}/missing.npz --out {tmp}/r7", "has no array x_train (it holds images)"),
    ("train --data {bad}/idx --out {tmp}/r8", "train-images-idx3-ubyte is not an IDX file of unsigned bytes"),
    ("train --data {bad}/empty --out {tmp}/r9", "{bad}/empty holds no image files"),
    ("train --data /no/such/mnist.npz --out {tmp}/r10", "No data at /no/such/mnist.npz"),
    ("sample --n 0", "--n: must be an integer from 1 to 10000, got 0"),
    ("sample --n -4", "--n: must be an integer from 1 to 10000, got -4"),
    ("sample --seed -1", "--seed: must be an integer from 0 to"),
    ("sample --model /no/such/run", "--model: no file or folder at /no/such/run"),
    ("sample --model {bad}/notes.txt --out {tmp}/s.png", "notes.txt is not a model"),
    ("sample --model {bad}/truncated.keras --out {tmp}/s.png", "truncated.keras is not a Keras model archive"),
    ("sample --model {bad}/empty --out {tmp}/s.png", "{bad}/empty holds no decoder"),
    ("sample --out {bad}/notes.txt/samples", "--out: {bad}/notes.txt is a file, so"),
    ("sample --out {tmp}/s.jpg", "figures are written as PNG"),
    ("sample --prior fitted --out {tmp}/s.png", "--prior fitted: "),
    ("train --kind ae --sampling-prior fitted", "--kind ae draws from N(0, I), the tutorials' contrast"),
    ("sample --prior uniform --out {tmp}/s.png", "argument --prior: invalid choice: 'uniform'"),
    ("sample --out /proc/s.png", "--out: cannot write in /proc"),
    ("manifold --n 0", "--n: must be an integer from 1 to 100"),
    ("manifold --dims 0 0 --out {tmp}/m.png", "dims (0, 0) must be two different axes"),
    ("manifold --dims 0 5 --out {tmp}/m.png", "dims (0, 5) must be two different axes of the 2-D latent space"),
    ("manifold --dims -1 0", "--dims: must be an integer 0 or more, got -1"),
    ("reconstruct --n 0", "--n: must be an integer from 1 to 100"),
    ("reconstruct --n 1000", "--n: must be an integer from 1 to 100, got 1000"),
    ("reconstruct --model {shipped}/saved_model/decoder --data {data} --out {tmp}/r.png", "holds no encoder"),
    ("reconstruct --data {bad}/notes.txt --out {tmp}/r.png", "is not an .npz archive"),
    ("export", "the following arguments are required: --model"),
    ("export --model {bad}/notes.txt --out {tmp}/e", "notes.txt is not a model"),
    ("export --model {shipped}", "is in the shipped model"),
    ("export --model {shipped} --out {bad}/notes.txt", "--out: {bad}/notes.txt is a file"),
    ("evaluate --model {shipped} --k 0", "--k: must be an integer from 1 to 100000, got 0"),
    ("evaluate --model {shipped} --n 0", "--n: must be an integer 1 or more, got 0"),
    ("evaluate --model {shipped} --k 10 --n 10", "No NLL for"),
    ("evaluate --model {bad}/empty", "holds no encoder"),
    ("evaluate --model pretrained:ae_conv_latent2 --k 10 --n 10", "is an autoencoder: it defines no p(x)"),
    ("train --kind vea", "--kind: invalid choice: 'vea'"),
    ("train --model ae", "train takes --kind ae for the kind of model: --model names a trained run"),
    ("train --kind ae --beta 2",
     "--kind ae has no KL term: --beta, --kl-warmup-epochs, --importance-samples, --free-bits and --prior-components apply"),
    ("train --kind ae --prior-components 10", "--kind ae has no KL term"),
    ("train --prior-components -1", "--prior-components: must be an integer from 0 to 10000, got -1"),
    ("train --kind ae --kl-warmup-epochs 2", "--kind ae has no KL term"),
    ("train --kind ae --importance-samples 5", "--kind ae has no KL term"),
    ("train --init-from /no/such/run", "--init-from: no file or folder at /no/such/run"),
    ("train --data {data} --architecture mlp --latent-dim 32 --init-from pretrained:made --out {tmp}/r11",
     "--init-from: its encoder does not fit this run's (weight 2"),
    ("train --data {data} --kind ae --init-from pretrained:conv_latent2 --out {tmp}/r12",
     "--init-from: it holds a VAE, not the Autoencoder this run trains"),
    ("train --importance-samples 0", "--importance-samples: must be an integer from 1 to 1000, got 0"),
    ("train --mixture-components 0", "--mixture-components: must be an integer from 1 to 100, got 0"),
    ("train --free-bits -1", "--free-bits: must be a finite number ≥ 0, got -1"),
    ("train --data {data} --mixture-components 3", "--mixture-components applies to a mixture likelihood"),
    ("train --binarize dynamic --likelihood discretized_logistic_mixture",
     "--binarize dynamic makes 0/1 pixels, and --likelihood discretized_logistic_mixture models 8-bit values"),
    ("compare", "the following arguments are required: --ae, --vae"),
    ("compare --ae pretrained:conv_latent2 --vae pretrained:conv_latent2 --out {tmp}/c1",
     "holds a VAE, not an autoencoder: train one with --kind ae"),
    ("compare --ae pretrained:ae_conv_latent2 --vae pretrained:made --out {tmp}/c2",
     "The models differ in latent size: 2 (AE) and 32 (VAE)"),
    ("compare --ae pretrained:ae_conv_latent2 --vae pretrained:conv_latent2 --classifier {bad}/empty --out {tmp}/c3",
     "No digit classifier at {bad}/empty/classifier.keras"),
    ("compare --ae pretrained:ae_conv_latent2 --vae pretrained:conv_latent2 --samples 0",
     "--samples: must be an integer from 1 to 100000, got 0"),
    ("compare --ae pretrained:ae_conv_latent2 --vae pretrained:conv_latent2 --out {bad}/notes.txt", "--out: {bad}/notes.txt is a file"),
    ("compare --ae pretrained:ae_conv_latent2 --vae pretrained:conv_latent2 --out {comparison}", "holds a comparison"),
    ("fit-prior --model pretrained:made", "the following arguments are required: --out"),
    ("fit-prior --model pretrained:made --components 0 --out {tmp}/f1",
     "--components: must be an integer from 1 to 10000, got 0"),
    ("fit-prior --model pretrained:ae_conv_latent2 --out {tmp}/f2", "is an autoencoder: it has no prior p(z) to fit"),
    ("fit-prior --model pretrained:made --out {shipped}", "is in the shipped model"),
    ("fit-prior --model pretrained:made --out {bad}/finished", "{bad}/finished already holds a run"),
    ("train-classifier --epochs 0", "--epochs: must be an integer 1 or more, got 0"),
    ("train-classifier", "is in the shipped model"),
    ("sample --model pretrained:made_latent32", "No pretrained model 'made_latent32': the shipped ones are"),
    ("train --data {bad}/sizes --out {tmp}/r13", "holds images of 2 sizes (20x20 ... 24x24): give --image-size (such as 24x24)"),
    ("train --data {bad}/notes --out {tmp}/r14", "{bad}/notes holds no image files (.png, .jpg, .jpeg, .bmp, .gif; 2 other file(s) skipped)"),
    ("train --data {bad}/colors --architecture made --likelihood bernoulli --out {tmp}/r15",
     "--architecture made models grayscale images (one channel"),
    ("train --data {bad}/colors --image-size 30 --out {tmp}/r16", "--architecture resnet halves each side until it is at most 8: 30x30 takes 2 halvings"),
    ("train --data {bad}/colors --image-size 32x --out {tmp}/r17", "--image-size must be H or HxW in pixels (1 to 1024)"),
    ("train --channels 4", "--channels: must be an integer from 1 to 3, got 4"),
    ("train --channels 2", "--channels: invalid choice: 2"),
    ("train --test-split 1", "--test-split: must be a finite number > 0 and < 1, got 1"),
    ("app --model pretrained:nope", "No pretrained model 'nope': the shipped ones are"),
    ("app --port 0", "--port: must be an integer from 1 to 65535, got 0"),
    ("app --dims 0 5", "the map shows two different dims of z, each in 0..1 for this 2-D model; got [0, 5]"),
    ("app --dims 0", "--dims: expected 2 arguments"),
    ("export --model pretrained:conv_latent2 --format tflite --out {tmp}/e", "--format: invalid choice: 'tflite'"),
]


@pytest.mark.parametrize("command_line,message", BAD_COMMAND_LINES, ids=[c for c, _ in BAD_COMMAND_LINES])
def test_every_bad_command_line_gives_one_error_line_and_exit_code_2(bad_files, tmp_path, capsys, command_line, message):
    places = {"bad": bad_files, "tmp": tmp_path, "data": SMALL_MNIST, "shipped": runs.DEFAULT_MODEL,
              "comparison": SHIPPED_COMPARISON}
    with pytest.raises(SystemExit) as exit_info:
        cli.main(command_line.format(**places).split())
    stderr = capsys.readouterr().err
    assert exit_info.value.code == 2
    errors = [line for line in stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and message.format(**places) in errors[0], stderr
    assert "Traceback" not in stderr


def test_the_bad_command_line_table_is_the_robustness_record():
    record = (Path(__file__).parent.parent / "docs" / "robustness.md").read_text()
    assert len(BAD_COMMAND_LINES) >= 30
    for command_line, _ in BAD_COMMAND_LINES:
        assert f"| `{command_line}`" in record, command_line


@pytest.mark.slow
def test_commands_start_quietly_unless_verbose(tmp_path):
    quiet = subprocess.run([sys.executable, "-m", "keras_vae", "sample", "--n", "4", "--out", str(tmp_path / "s.png")],
                           capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert quiet.stdout.startswith(f"Wrote {tmp_path / 's.png'}")


def test_help_at_every_level_says_what_the_tool_and_each_command_do_with_an_example(capsys):
    def help_text(*argv):
        with pytest.raises(SystemExit) as exit_info:
            cli.main([*argv, "--help"])
        assert exit_info.value.code == 0
        return capsys.readouterr().out

    top = help_text()
    assert top.splitlines()[2].startswith("keras_vae: train Variational Autoencoders")
    assert "argparse" not in top and "python -m keras_vae <command> --help" in top
    for name, command in cli.COMMANDS.items():
        text = help_text(name)
        assert command.help[1:] in " ".join(text.split()), name  # its sentence, as argparse wraps it
        assert text.split("example:\n", 1)[1].strip().startswith(f"python -m keras_vae {name} "), name
