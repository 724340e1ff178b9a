"""Whether a run's reconstructions keep each image's colors, as two numbers in 8-bit levels (0..255): the error of
the mean stroke color and of the mean background color, for images of one-colored strokes on a one-colored
background (colored MNIST). Per image, the background color is the median of its border pixels; the stroke is
where a pixel lies farther from it than half the farthest pixel; each region's mean color in the reconstruction
(decoder(z_mean)) is compared with the original's over the same pixels, the three channels' absolute errors
averaged; and the stroke's color where the reconstruction draws it (over its own stroke pixels, found the same
way), so that a stroke drawn in its color but off its place or blurred is told apart from one in the wrong color;
per channel, how the stroke color shown follows the original's over the images (a correlation, blind to paleness).
Beside them, the same errors of a model that knew no image: every image shown as the test set's mean
stroke and background colors. For a decoder of a discretized logistic mixture, where its bits go: -log2 p(x | z_mean)
per dimension over each region, and each region's share of the total.

    python -m benchmarks.color_fidelity --model saved_models/colored --n 1000
"""
import argparse
import json
from pathlib import Path

import numpy as np
from keras import ops

from keras_vae import loading, losses, run_data
from keras_vae.decoders import decode, draws_pixels, encode, mixture_parameters_model


def regions(x):
    """Boolean stroke masks (n, h, w) of images (n, h, w, c) in [0, 1]: farther from the border's median color than
    half the farthest pixel."""
    border = np.concatenate([x[:, 0], x[:, -1], x[:, :, 0], x[:, :, -1]], axis=1)
    distance = np.abs(x - np.median(border, axis=1)[:, None, None]).sum(-1)
    return distance > 0.5 * distance.max(axis=(1, 2), keepdims=True)


def mean_colors(x, stroke):
    """Each image's mean (stroke color, background color), each (n, c)."""
    def mean_over(mask):
        return (x * mask[..., None]).sum((1, 2)) / np.maximum(mask.sum((1, 2)), 1)[:, None]
    return mean_over(stroke), mean_over(~stroke)


def color_errors(x, shown):
    """{stroke, background}: the mean absolute error of each region's mean color, in 8-bit levels, of `shown`
    against the originals x (both (n, h, w, c) in [0, 1]), over the originals' regions; {stroke where drawn}: of the
    mean color over the stroke pixels of `shown` itself."""
    stroke = regions(x)
    originals, over_originals = mean_colors(x, stroke), mean_colors(shown, stroke)
    errors = {name: float(255 * np.abs(a - b).mean())
              for name, a, b in zip(("stroke", "background"), originals, over_originals)}
    drawn = mean_colors(shown, regions(shown))[0]
    return {**errors, "stroke where drawn": float(255 * np.abs(originals[0] - drawn).mean())}


def stroke_color_correlations(x, shown):
    """Per channel, the correlation over images of the mean stroke color of `shown` with the original's (both over
    the original's stroke): 1 where the shown color follows the original's, however pale; 0 where it is the same for
    every image."""
    stroke = regions(x)
    original, over_original = mean_colors(x, stroke)[0], mean_colors(shown, stroke)[0]
    return [float(np.corrcoef(a, b)[0, 1]) if np.ptp(b) > 0 else 0.0 for a, b in zip(original.T, over_original.T)]


def bits_by_region(decoder, z_mean, x):
    """{stroke, background}: (bits per dimension of p(x | z_mean), the region's share of all the bits) of a
    discretized logistic mixture decoder on images x in [0, 1], over the originals' regions."""
    parameters = mixture_parameters_model(decoder).predict(z_mean, verbose=0)
    log_weights, log_probs = losses.mixture_log_probs(losses.eight_bit(ops.convert_to_tensor(x)), parameters)
    bits = -np.asarray(ops.logsumexp(log_weights + ops.sum(log_probs, axis=-1), axis=-1)) / np.log(2)
    stroke = regions(x)
    return {name: (float(bits[mask].mean() / x.shape[-1]), float(bits[mask].sum() / bits.sum()))
            for name, mask in (("stroke", stroke), ("background", ~stroke))}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a run folder of color images")
    parser.add_argument("--data", default=None, help="the run's images, if not where it recorded them")
    parser.add_argument("--n", type=int, default=1000, help="the first n test images")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    x, _ = run_data.test_set(args.model, args.data, args.n)
    encoder, decoder = loading.load_part(args.model, "encoder"), loading.load_part(args.model, "decoder")
    stroke = regions(x)
    stroke_colors, background_colors = mean_colors(x, stroke)
    z_mean = encode(encoder, x)[0]
    shown = decode(decoder, z_mean)
    knew_nothing = np.where(stroke[..., None], stroke_colors.mean(0), background_colors.mean(0))
    result = {"model": args.model, "test_images": len(x),
              "color error (8-bit levels)": {"reconstructions": color_errors(x, shown),
                                             "the set's mean colors": color_errors(x, knew_nothing)},
              "stroke color correlation per channel": stroke_color_correlations(x, shown)}
    for name, errors in result["color error (8-bit levels)"].items():
        print(f"{name:<22} stroke {errors['stroke']:6.1f}   background {errors['background']:6.1f}   "
              f"stroke where drawn {errors['stroke where drawn']:6.1f}")
    print("the reconstructions' stroke color against the original's, correlation per channel: "
          + " ".join(f"{value:.2f}" for value in result["stroke color correlation per channel"]))
    if draws_pixels(decoder):
        result["bits per dim of p(x | z_mean), share of the bits"] = bits_by_region(decoder, z_mean, x)
        for name, (bits, share) in result["bits per dim of p(x | z_mean), share of the bits"].items():
            print(f"{name:<10} {bits:5.2f} bits/dim, {100 * share:3.0f}% of the bits")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
