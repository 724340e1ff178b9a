"""Which decoder learns colored MNIST in minutes: one variant a call, on the first 5,000 MNIST digits colored
(keras_vae.synthetic.colored_mnist, seed 0), 4,500 to train and 500 to score, 10 epochs, `--seed` for the weights, the
shuffling and the noise. Prints (and appends to --jsonl) the test negative ELBO in bits/dim, its KL, the seconds of
fit, the error of the mean stroke and background colors of the reconstructions (8-bit levels, over the true digit's
pixels: benchmarks/color_fidelity.py), how well the reconstruction's strokes follow the digit (the correlation of each
pixel's distance from the background color with the digit's mask), per channel the correlation of the shown stroke
color with the original's, and the KL of each epoch. `--figure` writes the first twelve test images over their
reconstructions (the mean, E[x|z_mean]) and, for a mixture, over each pixel's likeliest component's mean.

    python -m benchmarks.colored_ablation --data ../shared/data/mnist.npz --architecture resnet_modulated --batch-size 8
    python -m benchmarks.colored_ablation --data ../shared/data/mnist.npz --architecture conv_flat --components 5
    python -m benchmarks.colored_ablation --data ../shared/data/mnist.npz --likelihood gaussian_calibrated

`--architecture` takes a registered architecture or one of VARIANTS, made here and registered nowhere: `conv_flat`,
the tutorial's conv stack without its Dense 16 before z; `resnet_film`, resnet with a per-image gain on its per-pixel
parameters; `resnet_sparse`, resnet whose per-pixel part is exactly 0 on flat regions; `resnet_fullres`, resnet with a
residual block at full size; `resnet_image_weights`, resnet whose mixture weights come from z alone.
"""
import argparse
import json
import math
import time

import keras
import numpy as np
from keras import layers

from keras_vae import VAE, ARCHITECTURES, FusedAdam, build_decoder, build_encoder, load_mnist, losses
from keras_vae import architectures, plots
from keras_vae.architectures import make_architecture
from keras_vae.callbacks import KLWarmup, LinearDecay
from keras_vae.decoders import mixture_parameters_model
from keras_vae.synthetic import colored_mnist
from benchmarks.color_fidelity import color_errors, mean_colors, stroke_color_correlations


def _conv_flat_encoder_body(x):
    """The conv encoder with no Dense 16: its 8x8 feature map straight into z's heads."""
    for stage in range(architectures.halvings(x.shape[1:], "conv")):
        x = layers.Conv2D(architectures.filters(stage), 3, strides=2, padding="same", activation="relu")(x)
    return layers.Flatten()(x)


def _resnet_film_decoder_body(z, image_shape):
    """The resnet decoder whose per-pixel parameters are scaled per image from z before the shared ones are added:
    parameters = local * (1 + gain(z)) + shared(z), both Dense layers starting at zero."""
    channels = image_shape[-1]
    local = layers.Conv2D(channels, 3, padding="same")(architectures.resnet_decoder_features(z, image_shape))
    gain = layers.Dense(channels, kernel_initializer="zeros", bias_initializer="ones")(z)
    scaled = layers.Multiply()([local, layers.Reshape((1, 1, channels))(gain)])
    return layers.Add(name="logits")([scaled, architectures.shared_parameters(z, channels)])




def _resnet_sparse_decoder_body(z, image_shape):
    """The resnet decoder whose per-pixel part is relu(a) - relu(b) over the shared parameters from z: exactly zero
    wherever both are negative, so that a flat region takes z's parameters with no per-pixel noise."""
    channels = image_shape[-1]
    local = layers.Conv2D(2 * channels, 3, padding="same")(architectures.resnet_decoder_features(z, image_shape))
    up, down = layers.ReLU()(local[..., :channels]), layers.ReLU()(local[..., channels:])
    return layers.Add(name="logits")([layers.Subtract()([up, down]), architectures.shared_parameters(z, channels)])


def _resnet_fullres_decoder_body(z, image_shape):
    """The resnet decoder with one more residual block at full size before its per-pixel parameters."""
    features = architectures.residual_block(architectures.resnet_decoder_features(z, image_shape),
                                             architectures.filters(0))
    local = layers.Conv2D(image_shape[-1], 3, padding="same")(features)
    return layers.Add(name="logits")([local, architectures.shared_parameters(z, image_shape[-1])])


def _resnet_image_weights_decoder_body(z, image_shape):
    """The resnet decoder whose mixture weights are the image's, from z alone (every pixel the same), so that they
    cannot say where the strokes are; the components' means, scales and couplings stay per pixel. K is the
    parameters' count over 10 (color images)."""
    channels = image_shape[-1]
    per_pixel = keras.ops.convert_to_tensor([0.0] * (channels // 10) + [1.0] * (channels - channels // 10))
    local = layers.Conv2D(channels, 3, padding="same")(architectures.resnet_decoder_features(z, image_shape))
    return layers.Add(name="logits")([local * per_pixel, architectures.shared_parameters(z, channels)])


VARIANTS = {variant.name: variant for variant in (
    make_architecture("conv_flat", _conv_flat_encoder_body, ARCHITECTURES["conv"].decoder_body),
    make_architecture("resnet_film", architectures.resnet_encoder_body, _resnet_film_decoder_body),
    make_architecture("resnet_sparse", architectures.resnet_encoder_body, _resnet_sparse_decoder_body),
    make_architecture("resnet_fullres", architectures.resnet_encoder_body, _resnet_fullres_decoder_body),
    make_architecture("resnet_image_weights", architectures.resnet_encoder_body, _resnet_image_weights_decoder_body))}


def likeliest_component_mean(parameters, channels):
    """Per pixel, the mean of the mixture component with the largest weight (its channels coupled as in the mean),
    clipped to [0, 1]: what a component, not the blend of all of them, draws."""
    logits, means, _, coefficients = losses.split_mixture(parameters, channels)
    chosen = np.asarray(keras.ops.argmax(logits, axis=-1))[..., None, None]
    means, coefficients = (np.take_along_axis(np.asarray(v), chosen, axis=-2)[..., 0, :]
                           for v in (means, coefficients))
    shown = []
    for c in range(channels):
        shown.append(np.asarray(losses.coupled_mean(means, coefficients, np.stack(shown, -1) if shown else None, c)))
    return np.clip(np.stack(shown, -1), 0.0, 1.0)


def save_figure(path, x, shown, decoder, z_mean, by_component):
    """The first twelve images x over `shown` and, `by_component` (a mixture of K > 1), over their likeliest
    components' means."""
    rows = [x[:12], shown[:12]]
    if by_component:
        parameters = mixture_parameters_model(decoder).predict(z_mean[:12], verbose=0)
        rows.append(likeliest_component_mean(parameters, x.shape[-1]))
    title = "test images; E[x|z_mean]" + ("; each pixel's likeliest component's mean" if by_component else "")
    plots.save_grid(path, plots.tile_images(np.concatenate(rows), len(rows), 12), title, zoom=3)


def shape_correlation(x, shown, digit):
    """Mean over images of corr(|shown - its background color| summed over channels, the digit's mask)."""
    values = []
    for image, mask in zip(shown, digit):
        background = np.median(image[~mask], axis=0)
        values.append(np.corrcoef(np.abs(image - background).sum(-1).ravel(), mask.ravel())[0, 1])
    return float(np.nanmean(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="mnist.npz (default $KERAS_VAE_MNIST)")
    parser.add_argument("--architecture", default="conv", help="a registered architecture, or one of "
                        f"{', '.join(VARIANTS)}")
    parser.add_argument("--likelihood", default="discretized_logistic_mixture")
    parser.add_argument("--components", type=int, default=1, help="K of the mixture")
    parser.add_argument("--latent-dim", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--lr-decay", type=float, default=0.0, help="the last fraction of steps that lowers the "
                        "learning rate linearly to 0 (callbacks.LinearDecay)")
    parser.add_argument("--beta-2", type=float, default=0.999, help="Adam's beta_2")
    parser.add_argument("--beta", type=float, default=1.0, help="the KL term's weight in training (the bits/dim "
                        "printed are the true negative ELBO, beta 1)")
    parser.add_argument("--ema", type=float, default=0.0, help="keep an exponential moving average of the weights "
                        "with this momentum, and score it (Adam's use_ema)")
    parser.add_argument("--kl-warmup-epochs", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0, help="the weights', the shuffling's and the noise's seed")
    parser.add_argument("--gray", action="store_true", help="the digits as they are (8-bit gray, padded to 32)")
    parser.add_argument("--jsonl", default=None, help="append the result here")
    parser.add_argument("--figure", default=None, help="write the reconstructions figure here (PNG)")
    args = parser.parse_args()

    keras.utils.set_random_seed(args.seed)  # the weights, the shuffling and the noise: a rerun draws the same numbers
    (x, _), _ = load_mnist(args.data)
    digits = x[:5000].astype("float32")
    digit = np.pad(digits, ((0, 0), (2, 2), (2, 2), (0, 0)))[..., 0] > 0.5
    images = np.pad(digits, ((0, 0), (2, 2), (2, 2), (0, 0))) if args.gray else colored_mnist(digits, 0) / 255.0
    images = (np.round(images * 255) / 255).astype("float32")
    x_train, x_test, digit_test = images[:4500], images[4500:], digit[4500:]
    mixture = args.likelihood == "discretized_logistic_mixture"
    architecture = VARIANTS.get(args.architecture, args.architecture)
    encoder = build_encoder(args.latent_dim, architecture, images.shape[1:], seed=args.seed)
    decoder = build_decoder(args.latent_dim, architecture, images.shape[1:], likelihood=args.likelihood,
                            mixture_components=args.components if mixture else None)
    vae = VAE(encoder, decoder, likelihood=args.likelihood, beta=0.0 if args.kl_warmup_epochs else args.beta)
    ema = {"use_ema": True, "ema_momentum": args.ema} if args.ema else {}
    vae.compile(FusedAdam(args.learning_rate, beta_2=args.beta_2, **ema),
                steps_per_execution=32)
    start = time.perf_counter()
    schedules = ([KLWarmup(args.kl_warmup_epochs, args.beta)] if args.kl_warmup_epochs else []) + (
        [LinearDecay(args.lr_decay, args.learning_rate)] if args.lr_decay else [])
    history = vae.fit(x_train, epochs=args.epochs, batch_size=args.batch_size, verbose=0, callbacks=schedules)
    seconds = time.perf_counter() - start
    scores = vae.evaluate(x_test, batch_size=250, verbose=0, return_dict=True)
    z_mean = encoder.predict(x_test, verbose=0)[0]
    shown = decoder.predict(z_mean, verbose=0)
    errors = [255 * np.abs(a - b).mean() for a, b in zip(mean_colors(x_test, digit_test), mean_colors(shown, digit_test))]
    elbo = scores["reconstruction_loss"] + scores["kl_loss"]
    result = {**{k: v for k, v in vars(args).items() if k not in ("data", "jsonl", "figure")}, "seconds": round(seconds),
              "bits_per_dim": round(float(elbo / (np.prod(images.shape[1:]) * math.log(2))), 3),
              "kl": round(float(scores["kl_loss"]), 1), "stroke_color_error": round(float(errors[0]), 1),
              "background_color_error": round(float(errors[1]), 1),
              "stroke_where_drawn": round(color_errors(x_test, shown)["stroke where drawn"], 1),
              "shape_correlation": round(shape_correlation(x_test, shown, digit_test), 3),
              "stroke_correlation": [round(c, 2) for c in stroke_color_correlations(x_test, shown)],
              "kl_per_epoch": [round(float(v), 1) for v in history.history["kl_loss"]]}
    print(json.dumps(result))
    if args.figure:
        save_figure(args.figure, x_test, shown, decoder, z_mean, mixture and args.components > 1)
    if args.jsonl:
        with open(args.jsonl, "a") as file:
            file.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
