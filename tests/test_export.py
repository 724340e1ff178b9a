import subprocess
import sys

import keras
import numpy as np
import pytest
from matplotlib.image import imread

from keras_vae import VAE, build_decoder, build_encoder
from keras_vae.export import export_saved_model
from keras_vae.loading import load_model, load_part
from conftest import SMALL_MNIST, run_command


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, mnist_small):
    """A briefly trained 2-D model saved as a run folder, with its SavedModels exported."""
    x = mnist_small[0][0][:128]
    vae = VAE(build_encoder(2, seed=0), build_decoder(2))
    vae.compile(optimizer=keras.optimizers.Adam())
    vae.fit(x, epochs=1, batch_size=32, verbose=0)
    path = tmp_path_factory.mktemp("run")
    vae.encoder.save(path / "encoder.keras")
    vae.decoder.save(path / "decoder.keras")
    (path / "vae_only").mkdir()
    vae.save(path / "vae_only" / "vae.keras")
    export_saved_model(vae, path / "saved_model")
    z = np.random.default_rng(0).normal(size=(7, 2)).astype("float32")
    np.savez(path / "expected.npz", x=x[:7], z=z, decoded=vae.decoder.predict(z, verbose=0),
             z_mean=vae.encoder.predict(x[:7], verbose=0)[0], z_log_var=vae.encoder.predict(x[:7], verbose=0)[1])
    return path


WITHOUT_KERAS_VAE = """
import sys, json, numpy as np, tensorflow as tf
assert "keras_vae" not in sys.modules
run = sys.argv[1]
data = np.load(run + "/expected.npz")
decoder = tf.saved_model.load(run + "/saved_model/decoder")
encoder = tf.saved_model.load(run + "/saved_model/encoder")
x = decoder.signatures["serve"](z=tf.constant(data["z"]))["x"].numpy()
posterior = encoder.signatures["serve"](x=tf.constant(data["x"]))
np.savez(run + "/from_saved_model.npz", x=x, z_mean=posterior["z_mean"].numpy(), z_log_var=posterior["z_log_var"].numpy())
assert "keras_vae" not in sys.modules
"""


@pytest.mark.slow
def test_saved_models_load_without_keras_vae_and_match_the_keras_models(run_dir):
    subprocess.run([sys.executable, "-c", WITHOUT_KERAS_VAE, str(run_dir)], check=True, cwd="/")
    expected, got = np.load(run_dir / "expected.npz"), np.load(run_dir / "from_saved_model.npz")
    np.testing.assert_allclose(got["x"], expected["decoded"], atol=1e-6)
    np.testing.assert_allclose(got["z_mean"], expected["z_mean"], atol=1e-6)
    np.testing.assert_allclose(got["z_log_var"], expected["z_log_var"], atol=1e-6)


def test_saved_models_load_through_tfsmlayer_with_free_batch_size(run_dir):
    expected = np.load(run_dir / "expected.npz")
    layer = keras.layers.TFSMLayer(str(run_dir / "saved_model" / "decoder"), call_endpoint="serve")
    for n in (1, 7):
        out = layer(expected["z"][:n])["x"]
        np.testing.assert_allclose(keras.ops.convert_to_numpy(out), expected["decoded"][:n], atol=1e-6)


@pytest.mark.slow
def test_saved_model_cli_lists_the_named_serve_signature(run_dir):
    cli = subprocess.run([sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "show", "--all",
                          "--dir", str(run_dir / "saved_model" / "encoder")], capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    assert "signature_def['serve']" in cli.stdout
    assert "inputs['x']" in cli.stdout and "(-1, 28, 28, 1)" in cli.stdout
    assert "outputs['z_mean']" in cli.stdout and "outputs['z_log_var']" in cli.stdout


@pytest.mark.parametrize("where", ["run", "keras_file", "saved_model", "vae_file", "run_with_only_vae"])
def test_load_part_finds_the_decoder_by_any_path(run_dir, where):
    path = {"run": run_dir, "keras_file": run_dir / "decoder.keras", "saved_model": run_dir / "saved_model" / "decoder",
            "vae_file": run_dir / "vae_only" / "vae.keras", "run_with_only_vae": run_dir / "vae_only"}[where]
    expected = np.load(run_dir / "expected.npz")
    decoder = load_part(path, "decoder")
    assert decoder.input_shape == (None, 2)
    np.testing.assert_allclose(decoder.predict(expected["z"], verbose=0), expected["decoded"], atol=1e-6)


cli = run_command


def test_sample_manifold_and_reconstruct_write_titled_pngs_at_least_400_pixels_on_the_short_side(run_dir, tmp_path):
    result = cli("sample", "--model", run_dir / "saved_model" / "decoder", "--n", 64, "--seed", 0, "--out", tmp_path / "s.png")
    assert result.returncode == 0, result.stderr
    title = 40  # pixels of title above the tiles, each image pixel a zoom x zoom block
    assert imread(tmp_path / "s.png").shape[:2] == (title + 2 * 8 * 28, 2 * 8 * 28)
    assert cli("manifold", "--model", run_dir, "--n", 5, "--out", tmp_path / "m.png").returncode == 0
    assert imread(tmp_path / "m.png").shape[:2] == (title + 3 * 5 * 28, 3 * 5 * 28)
    result = cli("reconstruct", "--model", run_dir / "decoder.keras", "--data", SMALL_MNIST, "--n", 6, "--out", tmp_path / "r.png")
    assert result.returncode == 0, result.stderr
    assert imread(tmp_path / "r.png").shape[:2] == (title + 8 * 2 * 28, 8 * 6 * 28)
    assert cli("sample", "--model", run_dir, "--n", 4, "--zoom", 1, "--out", tmp_path / "z.png").returncode == 0
    zoomed = imread(tmp_path / "z.png").shape[:2]  # 56 pixels wide: its title takes three lines above the tiles
    assert zoomed == (6 + 3 * 17 + 2 * 28, 2 * 28)


def test_samples_with_the_same_seed_are_the_same_image(run_dir, tmp_path):
    for name in ("a", "b"):
        assert cli("sample", "--model", run_dir, "--n", 16, "--out", tmp_path / f"{name}.png").returncode == 0
    np.testing.assert_array_equal(imread(tmp_path / "a.png"), imread(tmp_path / "b.png"))


def test_export_command_writes_both_saved_models(run_dir, tmp_path):
    result = cli("export", "--model", run_dir, "--out", tmp_path / "sm")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sm" / "encoder" / "saved_model.pb").is_file()
    assert load_part(tmp_path / "sm", "decoder").input_shape == (None, 2)


def test_without_model_the_commands_use_the_shipped_2d_model(tmp_path):
    result = cli("manifold", "--n", 4, "--out", tmp_path / "m.png")
    assert result.returncode == 0, result.stderr
    grid = imread(tmp_path / "m.png")
    assert grid.shape[:2] == (40 + 4 * 4 * 28, 4 * 4 * 28)  # a title, then the tiles zoomed to 400+ pixels
    assert grid[40:, :, 0].std() > 0.1  # a trained decoder draws strokes, not a flat grey field


def onnx_run(path, **inputs):
    """The ONNX file at `path` run by onnxruntime: {output name: array}."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(names, inputs)))


def test_export_format_onnx_writes_files_that_onnxruntime_runs_within_1e5_of_keras(run_dir, tmp_path):
    result = cli("export", "--model", run_dir, "--format", "onnx", "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "max |difference|" in result.stdout
    assert (tmp_path / "out" / "decoder" / "saved_model.pb").is_file()  # the SavedModels stay beside
    expected = np.load(run_dir / "expected.npz")
    decoded = onnx_run(tmp_path / "out" / "decoder.onnx", z=expected["z"])
    posterior = onnx_run(tmp_path / "out" / "encoder.onnx", x=expected["x"])
    assert np.abs(decoded["x"] - expected["decoded"]).max() <= 1e-5
    assert np.abs(posterior["z_mean"] - expected["z_mean"]).max() <= 1e-5
    assert np.abs(posterior["z_log_var"] - expected["z_log_var"]).max() <= 1e-5


def test_a_made_decoder_goes_to_onnx_as_its_one_pass_scorer_with_the_reason_said(tmp_path):
    from test_autoregressive import tiny_vae
    from keras_vae.export import export_onnx, onnx_refusal

    vae = tiny_vae(local_channels=4, local_layers=1)
    export_onnx(vae, tmp_path)
    rng = np.random.default_rng(0)
    z = rng.normal(size=(16, 2)).astype("float32")
    x = (rng.random((16, 2, 2, 1)) < 0.5).astype("float32")
    got = onnx_run(tmp_path / "decoder.onnx", z=z, x=x)["probabilities"]
    assert np.abs(got - vae.decoder.predict([z, x], verbose=0)).max() <= 1e-5
    assert "pixel by pixel" in onnx_refusal(vae.decoder) and onnx_refusal(build_decoder(2)) is None
    z_mean = vae.encoder.predict(x, verbose=0)[0]
    assert np.abs(onnx_run(tmp_path / "encoder.onnx", x=x)["z_mean"] - z_mean).max() <= 1e-5


def test_onnx_export_without_tf2onnx_says_what_to_install(run_dir, tmp_path, monkeypatch):
    from keras_vae.export import export_onnx

    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # import tf2onnx now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'keras_vae\[onnx\]'"):
        export_onnx(load_model(run_dir), tmp_path)
    assert not any(tmp_path.iterdir())  # nothing half-written
