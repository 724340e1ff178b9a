"""The package uses public Keras and TensorFlow API only, and leaves the objects a user passes as they were."""
import re
from pathlib import Path

import keras

PACKAGE = Path(__file__).resolve().parent.parent / "keras_vae"
PRIVATE = re.compile(r"keras\.src|\b(?:keras|tf|layer|model|optimizer|decoder|encoder|vae|variable|tape)\._[a-z]"
                     r"|super\(\)\._[a-z]|__class__\s*=")


def test_no_module_reaches_into_private_keras_or_tensorflow_api():
    found = [f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
             for path in sorted(PACKAGE.rglob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), 1) if PRIVATE.search(line)]
    assert found == []
    assert PRIVATE.search("decoder._image_function") and PRIVATE.search("from keras.src.models import x")


def test_compile_keeps_the_optimizer_it_is_given():
    from keras_vae import VAE, build_decoder, build_encoder

    for optimizer in (keras.optimizers.Adam(), keras.optimizers.SGD(), keras.optimizers.Adam(amsgrad=True)):
        vae = VAE(build_encoder(2, "mlp", hidden_dim=4), build_decoder(2, "mlp", hidden_dim=4))
        vae.compile(optimizer)
        assert vae.optimizer is optimizer


def package_imports():
    """{module: the keras_vae modules it imports, anywhere in it}, for the package's top-level modules."""
    import ast

    package = Path(__file__).resolve().parent.parent / "keras_vae"
    graph = {}
    for path in package.glob("*.py"):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                imported.update([node.module.split(".")[0]] if node.module else [a.name for a in node.names])
        graph[path.stem] = {m for m in imported if m != path.stem and (package / f"{m}.py").is_file()}
    return graph


def test_modules_only_look_down_with_no_import_circle():
    graph = package_imports()
    below = {}

    def reach(module, path=()):
        assert module not in path, f"import circle: {' -> '.join([*path, module])}"
        if module not in below:
            below[module] = set().union(*[{m, *reach(m, (*path, module))} for m in graph[module]])
        return below[module]

    for module in graph:
        reach(module)
    upper = {"plots", "callbacks", "runs", "loading", "run_data", "train", "cli", "checkpoint"}
    for model_module in ("model", "autoencoder", "layers", "losses", "priors", "decoders", "architectures"):
        assert not below[model_module] & upper, model_module  # the model knows no figures, callbacks or run folders
    assert not below["plots"] & {"runs", "loading", "run_data", "latent"}  # figures know nothing of run loading
    assert "runs" in below["loading"] and "loading" not in below["runs"]


def test_importing_every_benchmark_leaves_the_registries_and_the_likelihoods_constants_as_they_were():
    import importlib
    import numbers

    from keras_vae import ARCHITECTURES, LIKELIHOODS, cli, losses
    from keras_vae.decoders import DECODER_KINDS

    def state():
        constants = {name: value for name, value in vars(losses).items()
                     if name.isupper() and isinstance(value, (numbers.Number, str))}
        return constants, *(dict(r) for r in (ARCHITECTURES, LIKELIHOODS, DECODER_KINDS, cli.COMMANDS))

    before = state()
    lab = Path(__file__).resolve().parent.parent / "benchmarks"
    names = sorted(path.stem for path in lab.glob("*.py") if path.stem != "__init__")
    for name in names:
        importlib.import_module(f"benchmarks.{name}")
    assert "colored_ablation" in names and len(names) >= 10
    assert state() == before
