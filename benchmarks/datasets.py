"""Writes the image sets of keras_vae.synthetic as folders of PNGs for `train --data <folder>`: colored MNIST (the
MNIST digits, 32x32, each drawn in a random color on another) and synthetic shapes (32x32 grayscale ellipses,
rectangles and triangles of random gray levels on a gradient: no MNIST in them). Labels are subfolders.

    python -m benchmarks.datasets colored_mnist --n 12000 --out data/colored_mnist
    python -m benchmarks.datasets shapes --n 12000 --out data/shapes
"""
import argparse
from pathlib import Path

from keras_vae import load_mnist
from keras_vae.synthetic import SHAPES, colored_mnist, shapes, write_folder


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=("colored_mnist", "shapes"))
    parser.add_argument("--n", type=int, default=12000, help="images (colored MNIST: the first n training digits)")
    parser.add_argument("--data", default=None, help="mnist.npz (colored_mnist; default $KERAS_VAE_MNIST)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="the folder to write")
    args = parser.parse_args()
    if Path(args.out).exists():
        parser.error(f"{args.out} exists: give a new folder")
    if args.kind == "colored_mnist":
        (x, y), _ = load_mnist(args.data)
        write_folder(args.out, colored_mnist(x[:args.n], args.seed), y[:args.n])
    else:
        write_folder(args.out, *shapes(args.n, args.seed), names=SHAPES)
    print(f"Wrote {args.n} {args.kind} images in {args.out}")


if __name__ == "__main__":
    main()
