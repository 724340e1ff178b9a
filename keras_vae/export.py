"""SavedModel export of the encoder and decoder, and loading either model back by path."""
from pathlib import Path

import keras
import tensorflow as tf

from .inference import latent_dim, sample_pixels
from .model import VAE, is_autoregressive

SHIPPED_MODEL = Path(__file__).resolve().parent.parent / "saved_models" / "pretrained_conv_latent2"


class ModelNotFoundError(FileNotFoundError):
    """A path holds no model of the kind asked for."""


# Each part's serving signature: input name -> output names.
SIGNATURES = {"encoder": ("x", ["z_mean", "z_log_var"]), "decoder": ("z", ["x"])}


def _write_archive(model, function, input_shape, directory, part):
    """Export `function` of `model` as one `serve` endpoint over the part's named float32 tensors; batch size free."""
    input_name, output_names = SIGNATURES[part]
    spec = tf.TensorSpec((None, *input_shape), tf.float32, name=input_name)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serve", lambda x: dict(zip(output_names, tf.nest.flatten(function(x)))), input_signature=[spec]
    )
    archive.write_out(str(directory), verbose=False)


def _decode_function(decoder):
    """z -> x: decoder(z), or for an autoregressive decoder a fresh draw x ~ p(x|z), one pixel at a time."""
    if not is_autoregressive(decoder):
        return lambda z: decoder(z, training=False)
    image_shape = tuple(decoder.inputs[1].shape[1:])
    sample = tf.function(sample_pixels)  # autograph turns the pixel loop into a tf.while_loop
    return lambda z: sample(decoder, z, tf.random.uniform((tf.shape(z)[0], *image_shape)))


def export_saved_model(vae, directory):
    """Write `encoder/` (x -> z_mean, z_log_var) and `decoder/` (z -> x) SavedModels with `serve` signatures."""
    directory = Path(directory)
    encoder = vae.encoder
    posterior = keras.Model(encoder.input, encoder.outputs[:2], name="posterior")
    _write_archive(posterior, lambda x: posterior(x, training=False), encoder.input_shape[1:],
                   directory / "encoder", "encoder")
    _write_archive(vae.decoder, _decode_function(vae.decoder), (latent_dim(vae.decoder),), directory / "decoder", "decoder")
    return directory


def load_keras_model(path):
    """keras.models.load_model with safe_mode=True (no Lambda, no pickled code); one clear error otherwise."""
    try:
        return keras.models.load_model(path, safe_mode=True)
    except Exception as error:
        raise ValueError(f"{path} could not be loaded as a Keras model: {error}".splitlines()[0]) from error


def _is_saved_model(path):
    return (path / "saved_model.pb").is_file()


def _saved_model_as_keras(path, signature, part):
    """A SavedModel's `serve` signature wrapped as a Keras functional model (via TFSMLayer)."""
    input_name, output_names = SIGNATURES[part]
    spec = signature.structured_input_signature[1][input_name]
    inputs = keras.Input(shape=spec.shape[1:], name=input_name)
    outputs = keras.layers.TFSMLayer(str(path), call_endpoint="serve")(inputs)
    outputs = [outputs[name] for name in output_names]
    return keras.Model(inputs, outputs if len(outputs) > 1 else outputs[0], name=part)


def load_part(path, part):
    """The `encoder` or `decoder` at `path`: a run folder, a <part>.keras or vae.keras file, or a SavedModel folder.

    A SavedModel encoder returns [z_mean, z_log_var]; a .keras encoder [z_mean, z_log_var, z].
    """
    path = Path(path)
    input_name = SIGNATURES[part][0]
    if path.is_file() and path.suffix == ".keras":
        candidates = [path] if part in path.stem else [path.with_name(f"{part}.keras"), path]
    elif path.is_dir():
        candidates = [path / f"{part}.keras", path / "vae.keras", path / "saved_model" / part, path / part, path]
    else:
        raise ModelNotFoundError(f"No model at {path}: give a run folder, a {part}.keras file or a SavedModel folder.")
    for candidate in candidates:
        if candidate.suffix == ".keras" and candidate.is_file():
            model = load_keras_model(candidate)
            return getattr(model, part) if isinstance(model, VAE) else model
        if candidate.is_dir() and _is_saved_model(candidate):
            signature = tf.saved_model.load(str(candidate)).signatures.get("serve")
            if signature is not None and input_name in signature.structured_input_signature[1]:
                return _saved_model_as_keras(candidate, signature, part)
    raise ModelNotFoundError(f"{path} holds no {part}: expected {part}.keras or a {part} SavedModel there.")
