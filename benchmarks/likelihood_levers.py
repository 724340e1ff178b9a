"""Likelihood levers on a short schedule: the made VAE (latent 32, hidden 500, dynamic binarization, KL warm-up
10) trained for --epochs with one lever at a time, scored by the validation ELBO and the importance-weighted
NLL (k=500 on the first 2,000 test images). A lever that cannot move these numbers here will not move the
full run's either; one that does is worth a full run.

    python -m benchmarks.likelihood_levers --data ../shared/data/mnist.npz --json benchmarks/results/cpu_2core_levers_made.json

Levers: `ema` evaluates an exponential moving average of the weights (Keras' use_ema, momentum 0.999; swapped
in when fit ends); `output_bias` starts the output logits' bias at the logit of the mean training image;
`masked_layers_2` gives the MADE two masked hidden layers (`train --masked-layers 2`).

--pixelcnn-cost times instead the forward pass of a convolution stack the size of a small PixelCNN (one 7x7
and six 3x3 layers of 64 channels at 28x28; masks cost nothing extra), the decoder class that published
numbers below 82 nats use, and what it would cost here to train one epoch and to score k=5000 on 10,000 images.
"""
import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np

from keras_vae import FusedAdam, estimate_log_likelihood, runs
from keras_vae.data import load_mnist, make_dataset
from keras_vae.layers import MaskedDense
from keras_vae.train import TrainConfig, build_model, hardware, split_validation

LEVERS = ("base", "ema", "output_bias", "masked_layers_2")
VALIDATION_IMAGES = 10000


def set_output_bias(decoder, x_train):
    """The bias of the layer that gives each pixel's logit := logit of that pixel's mean over the training images."""
    output = next(l for l in decoder.layers if isinstance(l, MaskedDense) and l.outputs_kind == "pixels" and l.use_bias)
    mean = np.clip(x_train.reshape(len(x_train), -1).mean(axis=0), 1e-3, 1 - 1e-3)
    output.bias.assign(np.log(mean / (1 - mean)).astype("float32"))


def lever_images(data):
    """The training images, the held-out validation images and the 2,000 scored test images, each binarized as
    the training command binarizes them; loaded once for all levers."""
    (x_train, _), (x_test, _) = load_mnist(data)
    x_train, x_val = split_validation(x_train, VALIDATION_IMAGES)
    return (x_train, runs.scored_images(x_val, "dynamic", seed=runs.VALIDATION_SEED),
            runs.scored_images(x_test[:2000], "dynamic"))


def run_lever(lever, epochs, images):
    """Train the short schedule with `lever`; its validation ELBO, NLL and seconds."""
    x_train, x_val, x_scored = images
    config = TrainConfig(architecture="made", latent_dim=32, binarize="dynamic", epochs=epochs, kl_warmup_epochs=10,
                         validation_images=VALIDATION_IMAGES,
                         options={"hidden_dim": 500, "masked_layers": 2 if lever == "masked_layers_2" else 1})
    keras.utils.set_random_seed(config.seed)
    optimizer = FusedAdam(config.learning_rate, use_ema=lever == "ema", ema_momentum=0.999)
    vae = build_model(config, optimizer=optimizer)
    if lever == "output_bias":
        set_output_bias(vae.decoder, x_train)
    start = time.perf_counter()
    history = vae.fit(make_dataset(x_train, config.batch_size, shuffle=True, seed=config.seed, binarize="dynamic"),
                      epochs=epochs, callbacks=config.callbacks(), verbose=0).history
    seconds = time.perf_counter() - start
    validation = vae.evaluate(make_dataset(x_val, 500), return_dict=True, verbose=0)
    nll = -float(estimate_log_likelihood(vae, x_scored, k=500, verbose=0))
    return {"lever": lever, "epochs": epochs, "seconds": round(seconds, 1), "train_loss": history["loss"][-1],
            "val_elbo": -validation["loss"], "nll_k500_2000": nll}


def pixelcnn_cost(channels=64, layers=6, batch_size=250, repeats=5):
    """Seconds per image of a PixelCNN-sized convolution stack's forward pass (fastest of `repeats`)."""
    x = keras.Input((28, 28, 1))
    h = keras.layers.Conv2D(channels, 7, padding="same", activation="relu")(x)
    for _ in range(layers):
        h = keras.layers.Conv2D(channels, 3, padding="same", activation="relu")(h)
    stack = keras.Model(x, keras.layers.Conv2D(1, 1)(h))
    images = np.zeros((batch_size, 28, 28, 1), "float32")
    stack.predict_on_batch(images)  # traces
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        stack.predict_on_batch(images)
        times.append(time.perf_counter() - start)
    return min(times) / batch_size


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--levers", nargs="+", choices=LEVERS, default=list(LEVERS))
    parser.add_argument("--pixelcnn-cost", action="store_true", help="time a PixelCNN-sized decoder instead")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args()
    if args.pixelcnn_cost:
        seconds = pixelcnn_cost()
        print(f"PixelCNN-sized stack: {seconds * 1e3:.2f} ms per image forward (measured); extrapolated from it, one "
              f"training epoch (60,000 images, forward + backward ~3 forwards) ~{seconds * 3 * 60000:,.0f} s, "
              f"k=5000 on 10,000 images {seconds * 5e7 / 3600:,.0f} h")
        return
    results = {"hardware": hardware(), "levers": []}
    images = lever_images(args.data)
    for lever in args.levers:
        results["levers"].append(run_lever(lever, args.epochs, images))
        row = results["levers"][-1]
        print(f"{lever:16s} {row['seconds']:6.0f} s  val ELBO {row['val_elbo']:.2f}  NLL (k=500, 2,000 images) "
              f"{row['nll_k500_2000']:.2f}", flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
