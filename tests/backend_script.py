"""Run by tests/test_backends.py in a process whose KERAS_BACKEND is JAX or PyTorch: `python tests/backend_script.py
<check> <args...>` prints one JSON line of what the check measured."""
import json
import sys

import keras
import numpy as np

from keras_vae import VAE, Autoencoder, MixturePrior, build_decoder, build_encoder, decode, load_mnist
from keras_vae.losses import LIKELIHOODS


def api_path(data, saved):
    """The README's API block: conv, 2-D z, compile(Adam()), fit on MNIST images; saved; its z_mean of test images."""
    (x, _), (x_test, _) = load_mnist(data)
    vae = VAE(build_encoder(2, "conv", seed=0), build_decoder(2, "conv"))
    vae.compile(keras.optimizers.Adam())
    history = vae.fit(x, epochs=3, batch_size=64, verbose=0).history
    vae.save(saved)
    return {"loss": history["loss"], "z_mean": vae.encoder.predict(x_test[:8], verbose=0)[0].tolist(),
            "predict": list(vae.predict(x_test[:2], verbose=0).shape)}


def same_numbers(saved, data):
    """The loaded model's deterministic numbers: -log p(x|z_mean), the KL, decoder(z_mean), on the first test images."""
    vae = keras.models.load_model(saved)
    x = load_mnist(data)[1][0][:16]
    z_mean, z_log_var, _ = vae.encoder.predict(x, verbose=0)
    reconstruction = keras.ops.convert_to_numpy(vae.reconstruction_loss(x, z_mean))
    kl = keras.ops.convert_to_numpy(vae.prior.kl_divergence(z_mean, z_mean, z_log_var))
    return {"reconstruction_loss": reconstruction.tolist(), "kl_loss": kl.tolist(),
            "decoded": decode(vae.decoder, z_mean).tolist(), "z_mean": z_mean.tolist()}


def every_part(data):
    """One epoch of every registered likelihood, both priors, the IWAE bound, each architecture, the plain
    autoencoder and a conditional VAE on 64 images: their losses, each finite or not; for the MADE decoders, also
    whether their pixel-by-pixel draws are binary (1.0)."""
    (x, y), _ = load_mnist(data)
    x, y = x[:64], y[:64]
    pixels = np.round(x * 255) / 255
    small = {"hidden_dim": 16}
    variants = {f"likelihood {name}": ({"likelihood": name}, "mlp", small) for name in LIKELIHOODS}
    variants.update({"mixture prior": ({"prior": MixturePrior(2, 3)}, "mlp", small),
                     "IWAE k=3": ({"importance_samples": 3}, "mlp", small),
                     "conv": ({}, "conv", {}), "deepconv": ({}, "deepconv", {}),
                     "resnet_modulated": ({"likelihood": "discretized_logistic_mixture"}, "resnet_modulated", {})})
    losses = {}
    for name, (options, architecture, body) in variants.items():
        likelihood = options.get("likelihood", "bernoulli")
        vae = VAE(build_encoder(2, architecture, seed=0, **body),
                  build_decoder(2, architecture, likelihood=likelihood, **body), **options)
        vae.compile(keras.optimizers.Adam())
        losses[name] = vae.fit(pixels, epochs=1, batch_size=32, verbose=0).history["loss"][-1]
    autoencoder = Autoencoder(build_encoder(2, "mlp", **small), build_decoder(2, "mlp", **small))
    autoencoder.compile(keras.optimizers.Adam())
    losses["autoencoder"] = autoencoder.fit(x, epochs=1, batch_size=32, verbose=0).history["loss"][-1]
    for name, options in (("made", {"local_channels": 0}), ("made, local layers", {"local_channels": 4, "local_layers": 1})):
        made = {"hidden_dim": 16, "masked_layers": 1, **options}
        vae = VAE(build_encoder(2, "made", seed=0, **made), build_decoder(2, "made", **made))
        vae.compile(keras.optimizers.Adam())
        losses[name] = vae.fit(np.round(x), epochs=1, batch_size=32, verbose=0).history["loss"][-1]
        drawn = decode(vae.decoder, np.zeros((2, 2), "float32"))  # pixel by pixel, the samplers being TensorFlow's
        losses[f"{name}: drawn pixels in (0, 1)"] = float(set(np.unique(drawn)) <= {0.0, 1.0})
    conditional = VAE(build_encoder(2, "mlp", num_classes=10, **small), build_decoder(2, "mlp", num_classes=10, **small))
    conditional.compile(keras.optimizers.Adam())
    losses["conditional"] = conditional.fit({"x": x, "y": y}, epochs=1, batch_size=32, verbose=0).history["loss"][-1]
    losses["conditional evaluate"] = conditional.evaluate([x, y], verbose=0, return_dict=True)["loss"]
    return {name: float(value) for name, value in losses.items()}


if __name__ == "__main__":
    check, *args = sys.argv[1:]
    print(json.dumps({"backend": keras.backend.backend(), **globals()[check](*args)}))
