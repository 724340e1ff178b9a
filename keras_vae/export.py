"""The SavedModel and ONNX formats of the encoder and decoder: writing both, and reading a SavedModel back as a
Keras model."""
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from .decoders import decoder_kind, encode, image_function, image_shape, latent_dim, num_classes, uniform_shape

# Each part's serving signature: input name -> output names. A conditional part also takes "y", int32 classes.
SIGNATURES = {"encoder": ("x", ["z_mean", "z_log_var"]), "decoder": ("z", ["x"])}


def _write_archive(model, function, input_shape, directory, part, conditional=False):
    """Export `function` of `model` as one `serve` endpoint over the part's named float32 tensors (and, for a
    `conditional` part, its int32 classes y); batch size free."""
    input_name, output_names = SIGNATURES[part]
    specs = [tf.TensorSpec((None, *input_shape), tf.float32, name=input_name)]
    outputs = lambda result: dict(zip(output_names, tf.nest.flatten(result)))
    archive = keras.export.ExportArchive()
    archive.track(model)
    if conditional:
        archive.add_endpoint("serve", lambda v, y: outputs(function([v, y])),
                             input_signature=[*specs, tf.TensorSpec((None,), tf.int32, name="y")])
    else:
        archive.add_endpoint("serve", lambda v: outputs(function(v)), input_signature=specs)
    archive.write_out(str(directory), verbose=False)


def _serving_image(decoder):
    """z -> the image the decoder's kind shows; a draw takes fresh uniforms on every call."""
    image = image_function(decoder)
    if not decoder_kind(decoder).draws:
        return image
    return lambda z: image(z, tf.random.uniform((tf.shape(z)[0], *uniform_shape(decoder))))


def on_tensorflow(model, directory, format):
    """Export `model` from another Keras backend, whose own export is not at hand here (JAX's SavedModel needs
    jax2tf, PyTorch's torch-xla): saved as a .keras file, which a TensorFlow process loads and exports."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        command = [sys.executable, "-m", "keras_vae", "export", "--model", str(path), "--out", str(directory),
                   "--format", format, "--force"]
        done = subprocess.run(command, env={**os.environ, "KERAS_BACKEND": "tensorflow"}, capture_output=True, text=True)
    if done.returncode:
        raise ValueError(f"Exporting on TensorFlow failed: {(done.stderr.strip().splitlines() or ['no output'])[-1]}")
    return Path(directory)


def export_saved_model(model, directory):
    """Write `encoder/` (x -> z_mean, z_log_var; an autoencoder's x -> z_mean) and `decoder/` (z -> x) SavedModels
    with `serve` signatures, for a VAE or an Autoencoder; a conditional model's parts also take y, integer classes.
    On another Keras backend, a TensorFlow process writes them (on_tensorflow)."""
    if keras.backend.backend() != "tensorflow":
        return on_tensorflow(model, directory, "saved_model")
    directory = Path(directory)
    encoder, conditional = model.encoder, num_classes(model.decoder) is not None
    posterior = keras.Model(encoder.inputs, encoder.outputs[:2], name="posterior")
    _write_archive(posterior, lambda x: posterior(x, training=False), encoder.inputs[0].shape[1:],
                   directory / "encoder", "encoder", conditional)
    _write_archive(model.decoder, _serving_image(model.decoder), (latent_dim(model.decoder),), directory / "decoder",
                   "decoder", conditional)
    return directory


ONNX_OPSET = 17
ONNX_EXTRA = "ONNX export needs tf2onnx and onnxruntime: pip install 'keras_vae[onnx]' (or pip install tf2onnx onnxruntime)"


def _tf2onnx():
    """tf2onnx, quiet, or one error saying how to install it."""
    try:
        import tf2onnx
    except ImportError:
        raise ImportError(ONNX_EXTRA) from None
    tf2onnx.logging.set_level(logging.ERROR)
    return tf2onnx


def _saved_model_to_onnx(saved_model, path):
    """The `serve` signature of a SavedModel folder converted by tf2onnx to an ONNX file, as its command line
    `--saved-model` does; input and output names kept."""
    tf2onnx = _tf2onnx()
    graph_def, inputs, outputs, renamed = tf2onnx.tf_loader.from_saved_model(
        str(saved_model), None, None, tag="serve", signatures=["serve"], return_tensors_to_rename=True)
    tf2onnx.convert.from_graph_def(graph_def, input_names=inputs, output_names=outputs, opset=ONNX_OPSET,
                                   tensors_to_rename=renamed, output_path=str(path))


def onnx_refusal(decoder):
    """Why decoder.onnx is not the image the decoder shows, or None: a kind that draws pixel by pixel feeds each
    drawn pixel back through a loop, which ONNX gets as its one-pass scorer instead."""
    if not decoder_kind(decoder).draws:
        return None
    return ("the decoder draws x ~ p(x|z) pixel by pixel (a loop feeding each drawn pixel back), which is not "
            "exported to ONNX: decoder.onnx is its one-pass scorer [z, x] -> each pixel's p(x_i | x_<i, z) as the "
            "decoder shows it (Bernoulli: p(x_i = 1 | x_<i, z)); draw with the "
            "SavedModel decoder")


def export_onnx(model, directory):
    """Write `encoder.onnx` and `decoder.onnx` beside the SavedModels that export_saved_model writes in `directory`
    (written first), converted by tf2onnx: x -> z_mean, z_log_var and z -> x, with the SavedModels' names. A
    decoder that draws pixel by pixel is written as its one-pass scorer [z, x] -> probabilities (onnx_refusal). On
    another Keras backend, a TensorFlow process writes them (on_tensorflow)."""
    _tf2onnx()
    if keras.backend.backend() != "tensorflow":
        return on_tensorflow(model, directory, "onnx")
    directory = export_saved_model(model, directory)
    _saved_model_to_onnx(directory / "encoder", directory / "encoder.onnx")
    decoder = model.decoder
    if onnx_refusal(decoder) is None:
        _saved_model_to_onnx(directory / "decoder", directory / "decoder.onnx")
    else:
        with tempfile.TemporaryDirectory() as scorer:  # a SavedModel of [z, x] -> probabilities, then ONNX
            archive = keras.export.ExportArchive()
            archive.track(decoder)
            archive.add_endpoint("serve", lambda z, x: {"probabilities": decoder([z, x], training=False)},
                                 input_signature=[tf.TensorSpec((None, *i.shape[1:]), tf.float32, name)
                                                  for i, name in zip(decoder.inputs, ("z", "x"))])
            archive.write_out(scorer, verbose=False)
            _saved_model_to_onnx(scorer, directory / "decoder.onnx")
    return directory


def onnx_differences(model, directory, n=8, seed=0):
    """The largest |ONNX - Keras| of each part on the same n seeded inputs, run by onnxruntime: the encoder's
    z_mean and z_log_var, the decoder's image (or, for a decoder that draws, its scorer's probabilities)."""
    try:
        import onnxruntime
    except ImportError:
        raise ImportError(ONNX_EXTRA) from None
    rng = np.random.default_rng(seed)
    decoder, classes = model.decoder, num_classes(model.decoder)
    x = rng.random((n, *model.encoder.inputs[0].shape[1:]), dtype="float32")
    z = rng.normal(size=(n, latent_dim(decoder))).astype("float32")
    y = None if classes is None else rng.integers(classes, size=n).astype("int32")
    with_y = lambda feeds: feeds if y is None else {**feeds, "y": y}
    z_mean, z_log_var = encode(model.encoder, x, y)
    expected = {"encoder": {"z_mean": z_mean, "z_log_var": z_log_var}}
    if onnx_refusal(decoder) is None:
        feeds, expected["decoder"] = {"z": z}, {"x": decoder.predict(z if y is None else [z, y], verbose=0)}
    else:
        pixels = (rng.random((n, *image_shape(decoder))) < 0.5).astype("float32")
        feeds = {"z": z, "x": pixels}
        expected["decoder"] = {"probabilities": decoder.predict([z, pixels], verbose=0)}
    feeds = {"encoder": with_y({"x": x}), "decoder": with_y(feeds)}
    differences = {}
    for part in ("encoder", "decoder"):
        session = onnxruntime.InferenceSession(str(Path(directory) / f"{part}.onnx"), providers=["CPUExecutionProvider"])
        names = [output.name for output in session.get_outputs()]
        got = dict(zip(names, session.run(names, feeds[part])))
        differences[part] = max(float(np.abs(got[name] - value).max()) for name, value in expected[part].items()
                                if value is not None)
    return differences


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
    if "y" in signature.structured_input_signature[1]:
        raise ValueError(f"{path} is a conditional model's {part} (it takes y): serve it with TensorFlow "
                         "(tf.saved_model.load), or load the run's .keras files in keras_vae.")
    spec = signature.structured_input_signature[1][input_name]
    inputs = keras.Input(shape=spec.shape[1:], name=input_name)
    outputs = keras.layers.TFSMLayer(str(path), call_endpoint="serve")(inputs)
    outputs = [outputs[name] for name in output_names if name in outputs]
    return keras.Model(inputs, outputs if len(outputs) > 1 else outputs[0], name=part)
