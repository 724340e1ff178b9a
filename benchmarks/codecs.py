"""A run's likelihood beside general-purpose lossless codecs on the same test images, in bits per dimension (pixel
and channel): the model's importance-weighted NLL and negative ELBO, PNG (Pillow, optimize=True) and lossless WebP
(Pillow, lossless=True, quality=100, method=6), each image its own file as a codec would store it, and the raw
bytes (8 bits/dim; 1 for binarized images). A likelihood model that codes images worse than PNG has not learned
them.

    python -m benchmarks.codecs --model saved_models/colored --n 1000 --k 100 --json benchmarks/results/codecs_colored.json
    python -m benchmarks.codecs --model pretrained:made --data ../shared/data/mnist.npz --n 1000 --k 100
"""
import argparse
import io
import json
from pathlib import Path

import numpy as np

from keras_vae import estimate_log_likelihood, evaluate_elbo, loading, run_data, runs
from keras_vae.losses import bits_per_dim
from keras_vae.train import hardware

CODECS = {"PNG": {"format": "PNG", "optimize": True},
          "WebP (lossless)": {"format": "WEBP", "lossless": True, "quality": 100, "method": 6}}


def codec_bits_per_dim(images, binary=False):
    """{codec: mean bits/dim} of `images` (n, h, w, c) in [0, 1], each written as one file: 8-bit pixels, or 1-bit
    ones for binarized images (PNG only: WebP has no 1-bit mode, so it gets them as 8-bit gray)."""
    from PIL import Image

    pixels = np.round(np.asarray(images) * 255).astype(np.uint8)
    sizes = {name: [] for name in CODECS}
    for image in pixels:
        picture = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
        for name, options in CODECS.items():
            buffer = io.BytesIO()
            (picture.convert("1") if binary and name == "PNG" else picture).save(buffer, **options)
            sizes[name].append(8 * buffer.tell())
    dims = np.prod(pixels.shape[1:])
    return {name: float(np.mean(bits)) / dims for name, bits in sizes.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a run folder or pretrained:<name> with a discrete likelihood")
    parser.add_argument("--data", default=None, help="the run's images, if not where it recorded them")
    parser.add_argument("--n", type=int, default=1000, help="the first n test images")
    parser.add_argument("--k", type=int, default=100, help="importance samples per image for the NLL")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    run = runs.model_path(args.model)
    vae = loading.load_model(run)
    if not (vae.likelihood_kind.discrete or vae.likelihood_kind.binary):
        parser.error(f"{args.model} models pixels with a density ({vae.likelihood}): it has no bits/dim to compare")
    binary = runs.read_config(run).get("binarize", "none") != "none"
    x, _ = run_data.test_set(run, args.data, args.n)
    nll, elbo = -estimate_log_likelihood(vae, x, k=args.k), -evaluate_elbo(vae, x)
    result = {"model": args.model, "test_images": len(x), "k": args.k, "image_shape": list(x.shape[1:]),
              "bits_per_dim": {"model NLL": bits_per_dim(nll, x.shape[1:]), "model negative ELBO": bits_per_dim(elbo, x.shape[1:]),
                               **codec_bits_per_dim(x, binary), "raw bytes": 1.0 if binary else 8.0},
              "hardware": hardware()}
    print(f"{args.model}: the first {len(x)} test images, {'x'.join(map(str, x.shape[1:]))}, bits per dimension")
    for name, value in result["bits_per_dim"].items():
        print(f"  {name:<22} {value:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
