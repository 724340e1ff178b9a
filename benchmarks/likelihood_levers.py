"""Likelihood levers on a short schedule: the made VAE (latent 32, hidden 500, dynamic binarization, KL warm-up
10) trained for --epochs with one lever at a time, scored by the validation ELBO and the importance-weighted
NLL (k=500 on the first 2,000 test images). A lever that cannot move these numbers here will not move the
full run's either; one that does is worth a full run.

    python -m benchmarks.likelihood_levers --data ../shared/data/mnist.npz --json benchmarks/results/cpu_2core_levers_made.json

Levers: `ema` evaluates an exponential moving average of the weights (Keras' use_ema, momentum 0.999; swapped
in when fit ends); `output_bias` starts the output logits' bias at the logit of the mean training image;
`masked_layers_2` gives the MADE two masked hidden layers (`train --masked-layers 2`); `reversed_order` trains
and scores the images turned by 180 degrees, which makes the raster-order MADE model the pixels in reversed
order; `seed_1` is the base run with another seed. When `base` runs with either of those, their equal mixture
p(x) = (p_base(x) + p_other(x)) / 2 is scored too, image by image: what a second model adds, with another pixel
ordering or only other random draws.

--fitted-prior RUN scores a trained run instead under its N(0, I) prior and under a mixture of --components
diagonal Gaussians fitted by EM to its aggregate posterior q(z) (two draws of z per training image), without
retraining: what a richer prior could give that encoder and decoder.

--pixelcnn-cost measures instead what masked-convolution decoders (PixelCNN, the decoder class of published
numbers below 82 nats) cost here against the made decoder, one after another in one process: seconds per
training image and per scored importance sample, and the hours k=5000 on 10,000 test images would take; among
them made with local convolutions that read x alone (`train --local-channels 32`), which the NLL estimate
runs once per image.
"""
import argparse
import json
import math
import time
from pathlib import Path

import keras
import numpy as np
from keras import ops

from keras_vae import FusedAdam, VAE, build_decoder, build_encoder, loading, log_likelihoods, run_data
from keras_vae.options import Integer
from keras_vae.data import load_mnist, make_dataset
from keras_vae.autoregressive import MaskedConv2D, MaskedDense
from keras_vae.losses import kl_divergence
from keras_vae.prior_fit import with_fitted_prior
from keras_vae.priors import posterior_draws
from keras_vae.train import TrainConfig, build_model, hardware

LEVERS = ("base", "ema", "output_bias", "masked_layers_2", "reversed_order", "seed_1")
MIXED_WITH_BASE = ("reversed_order", "seed_1")
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
    x_train, x_val = run_data.split_validation(x_train, VALIDATION_IMAGES)
    return (x_train, run_data.scored_images(x_val, "dynamic", seed=run_data.VALIDATION_SEED),
            run_data.scored_images(x_test[:2000], "dynamic"))


def reverse_pixel_order(x):
    """The images turned by 180 degrees: their raster order is the originals' reversed (a one-to-one map, so a
    model's p of the turned image is a p of the original)."""
    return np.ascontiguousarray(x[:, ::-1, ::-1])


def run_lever(lever, epochs, images):
    """Train the short schedule with `lever`: its validation ELBO, NLL and seconds, and each scored image's
    log-likelihood."""
    if lever == "reversed_order":
        images = tuple(reverse_pixel_order(x) for x in images)
    x_train, x_val, x_scored = images
    config = TrainConfig(architecture="made", latent_dim=32, binarize="dynamic", epochs=epochs, kl_warmup_epochs=10,
                         validation_images=VALIDATION_IMAGES, seed=1 if lever == "seed_1" else 0,
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
    scores = log_likelihoods(vae, x_scored, k=500, verbose=0)
    return {"lever": lever, "epochs": epochs, "seconds": round(seconds, 1), "train_loss": history["loss"][-1],
            "val_elbo": -validation["loss"], "nll_k500_2000": -float(np.mean(scores))}, scores


def fitted_prior_gain(run, images, components, draws=2):
    """ELBO and NLL (k=500) on the 2,000 scored images of the trained `run` under N(0, I) and under a mixture
    prior fitted to its aggregate posterior (keras_vae.prior_fit, as `fit-prior` fits it, from `draws`
    binarizations of each training image); and how much of the latent space its posterior uses there."""
    x_train, _, x_scored = images
    vae = loading.load_model(run)
    start = time.perf_counter()
    fitted, _ = with_fitted_prior(vae, posterior_draws(vae, x_train, draws), components)
    fit_seconds = time.perf_counter() - start
    z_mean, z_log_var, _ = vae.encoder.predict(x_scored, batch_size=1000, verbose=0)
    result = {"run": run, "components": components, "fit_seconds": round(fit_seconds, 1),
              # latent dimensions in use (Burda et al.'s activity: Var_x E_q[z_d] > 0.01) and the KL they carry
              "active_units": int(np.sum(z_mean.var(axis=0) > 0.01)),
              "kl": float(np.mean(ops.convert_to_numpy(kl_divergence(z_mean, z_log_var))))}
    for name, model in (("standard_normal", vae), ("fitted_mixture", fitted)):
        def estimate(k):
            return float(np.mean(log_likelihoods(model, x_scored, k=k, verbose=0)))
        result[f"elbo_{name}"] = estimate(1)  # one draw per image: an unbiased estimate of the ELBO under that prior
        result[f"nll_{name}"] = -estimate(500)
    return result


@keras.saving.register_keras_serializable(package="benchmarks")
def pixelcnn_decoder(latent_dim, channels, layers):
    """p(x|z) by masked convolutions: one 7x7 mask-A layer and `layers` 3x3 mask-B layers of `channels`, each
    added to a 28x28 map of z (a Dense to 7x7, upsampled), then a 1x1 convolution to each pixel's logit."""
    z, x = keras.Input((latent_dim,)), keras.Input((28, 28, 1))
    context = keras.layers.UpSampling2D(4)(keras.layers.Reshape((7, 7, channels))(
        keras.layers.Dense(7 * 7 * channels, activation="relu")(z)))
    hidden = keras.layers.ReLU()(keras.layers.Add()([MaskedConv2D(channels, 7, mask="A")(x), context]))
    for _ in range(layers):
        hidden = keras.layers.ReLU()(keras.layers.Add()([MaskedConv2D(channels, 3)(hidden),
                                                         keras.layers.Conv2D(channels, 1)(context)]))
    logits = keras.layers.Conv2D(1, 1)(hidden)
    return keras.Model([z, x], keras.layers.Activation("sigmoid", name="probabilities")(logits))


PIXELCNN_SIZES = ((16, 3), (32, 3), (64, 6))  # (channels, 3x3 layers); the last is the size of a small PixelCNN


def cost_decoders(latent_dim=32):
    """Builders of the decoders --pixelcnn-cost times: made, made with local convolutions that read x alone
    (`train --local-channels 32`), and masked-convolution decoders of PIXELCNN_SIZES whose every layer reads z."""
    decoders = {"made": lambda: build_decoder(latent_dim, "made", hidden_dim=500),
                "made_local32": lambda: build_decoder(latent_dim, "made", hidden_dim=500, local_channels=32)}
    decoders.update({f"pixelcnn_{c}x{n}": (lambda c=c, n=n: pixelcnn_decoder(latent_dim, c, n)) for c, n in PIXELCNN_SIZES})
    return decoders


def decoder_costs(images, names, latent_dim=32, batch_size=128, steps=10, score_samples=1000):
    """Seconds per training image (fit, the made encoder) and per importance sample of the NLL estimate
    (log_likelihoods, k=score_samples on 20 images) of the decoders `names` (cost_decoders), measured one after
    another in this process."""
    x = images[:batch_size * steps]
    decoders = cost_decoders(latent_dim)
    costs = {}
    for name in names:
        decoder = decoders[name]
        vae = VAE(build_encoder(latent_dim, "made", seed=0, hidden_dim=500), decoder())
        vae.compile(FusedAdam(1e-3), steps_per_execution=steps)
        vae.fit(x, batch_size=batch_size, epochs=1, verbose=0)  # traces
        start = time.perf_counter()
        vae.fit(x, batch_size=batch_size, epochs=2, verbose=0)
        train = (time.perf_counter() - start) / (2 * len(x))
        log_likelihoods(vae, x[:20], k=250, verbose=0)  # traces
        start = time.perf_counter()
        log_likelihoods(vae, x[:20], k=score_samples, verbose=0)
        costs[name] = {"train_seconds_per_image": train,
                       "score_seconds_per_sample": (time.perf_counter() - start) / (20 * score_samples)}
    return costs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None)
    parser.add_argument("--epochs", type=Integer(11), default=20, help="11 or more: the KL warm-up takes 10")
    parser.add_argument("--levers", nargs="+", choices=LEVERS, default=list(LEVERS))
    parser.add_argument("--pixelcnn-cost", action="store_true", help="time masked-convolution decoders against made instead")
    parser.add_argument("--decoders", nargs="+", choices=list(cost_decoders()), default=list(cost_decoders()),
                        help="the decoders --pixelcnn-cost times (made is always timed first)")
    parser.add_argument("--fitted-prior", metavar="RUN", default=None,
                        help="score RUN under N(0, I) and under a mixture prior fitted to its aggregate posterior instead")
    parser.add_argument("--components", type=Integer(1, 10000), default=200, help="the fitted mixture's components")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args()
    if args.pixelcnn_cost:
        x_train = lever_images(args.data)[0]
        costs = decoder_costs(run_data.scored_images(x_train[:1280], "dynamic"),
                              ["made", *(name for name in args.decoders if name != "made")])
        made = costs["made"]
        for name, cost in costs.items():
            print(f"{name:16s} train {cost['train_seconds_per_image'] * 1e3:6.2f} ms/image "
                  f"({cost['train_seconds_per_image'] / made['train_seconds_per_image']:5.1f}x made), score "
                  f"{cost['score_seconds_per_sample'] * 1e3:6.3f} ms/sample "
                  f"({cost['score_seconds_per_sample'] / made['score_seconds_per_sample']:5.1f}x made; k=5000 on "
                  f"10,000 images: {cost['score_seconds_per_sample'] * 5e7 / 3600:5.1f} h)")
        if args.json:
            Path(args.json).write_text(json.dumps({"hardware": hardware(), "decoder_costs": costs}, indent=2))
        return
    results = {"hardware": hardware(), "levers": []}
    images = lever_images(args.data)
    if args.fitted_prior:
        results["fitted_prior"] = row = fitted_prior_gain(args.fitted_prior, images, args.components)
        print(f"{args.fitted_prior}: {row['active_units']} active latent dimensions, KL {row['kl']:.2f} nats")
        for name, prior in (("standard_normal", "N(0, I)"), ("fitted_mixture", f"a fitted {args.components}-component mixture")):
            print(f"{args.fitted_prior} under {prior}: ELBO {row['elbo_' + name]:.2f}, NLL (k=500, 2,000 images) "
                  f"{row['nll_' + name]:.2f}")
    scores = {}
    for lever in ([] if args.fitted_prior else args.levers):
        row, scores[lever] = run_lever(lever, args.epochs, images)
        results["levers"].append(row)
        print(f"{lever:16s} {row['seconds']:6.0f} s  val ELBO {row['val_elbo']:.2f}  NLL (k=500, 2,000 images) "
              f"{row['nll_k500_2000']:.2f}", flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
    for other in (lever for lever in MIXED_WITH_BASE if {"base", lever} <= scores.keys()):
        mixture = np.logaddexp(scores["base"], scores[other]) - math.log(2.0)
        results.setdefault("mixtures", []).append({"of": ["base", other], "nll_k500_2000": -float(np.mean(mixture))})
        print(f"{'base + ' + other:16s} equal mixture: NLL (k=500, 2,000 images) {-np.mean(mixture):.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
