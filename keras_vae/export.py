"""The SavedModel format of the encoder and decoder: writing both, and reading one back as a Keras model."""
from pathlib import Path

import keras
import tensorflow as tf

from .decoders import decoder_kind, image_function, image_shape, latent_dim

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


def _serving_image(decoder):
    """z -> the image the decoder's kind shows; a draw takes fresh uniforms on every call."""
    image = image_function(decoder)
    if not decoder_kind(decoder).draws:
        return image
    return lambda z: image(z, tf.random.uniform((tf.shape(z)[0], *image_shape(decoder))))


def export_saved_model(model, directory):
    """Write `encoder/` (x -> z_mean, z_log_var; an autoencoder's x -> z_mean) and `decoder/` (z -> x) SavedModels
    with `serve` signatures, for a VAE or an Autoencoder."""
    directory = Path(directory)
    encoder = model.encoder
    posterior = keras.Model(encoder.input, encoder.outputs[:2], name="posterior")
    _write_archive(posterior, lambda x: posterior(x, training=False), encoder.input_shape[1:],
                   directory / "encoder", "encoder")
    _write_archive(model.decoder, _serving_image(model.decoder), (latent_dim(model.decoder),), directory / "decoder", "decoder")
    return directory


def is_saved_model(path):
    """Whether `path` is a SavedModel folder."""
    return (Path(path) / "saved_model.pb").is_file()


def load_saved_model_part(path, part):
    """The SavedModel at `path` as a Keras functional model of `part` (via TFSMLayer), or None if its `serve`
    signature is not that part's. A SavedModel encoder returns [z_mean, z_log_var], an autoencoder's z_mean."""
    input_name, output_names = SIGNATURES[part]
    try:
        signature = tf.saved_model.load(str(path)).signatures.get("serve")
    except Exception as error:  # protobuf, op and file errors: all mean the folder is no readable SavedModel
        raise ValueError(f"{path} is not a readable SavedModel: {error}".splitlines()[0]) from error
    if signature is None or input_name not in signature.structured_input_signature[1]:
        return None
    spec = signature.structured_input_signature[1][input_name]
    inputs = keras.Input(shape=spec.shape[1:], name=input_name)
    outputs = keras.layers.TFSMLayer(str(path), call_endpoint="serve")(inputs)
    outputs = [outputs[name] for name in output_names if name in outputs]
    return keras.Model(inputs, outputs if len(outputs) > 1 else outputs[0], name=part)
