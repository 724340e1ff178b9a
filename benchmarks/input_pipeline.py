"""Is reading images from files ever the bottleneck? The conv VAE trained from an image folder (tf.data: files read
and decoded in parallel, cached after the first pass, prefetched) against the same model trained from the same images
held in memory as an array, in interleaved rounds. Each timed call builds its pipeline afresh, so the folder's
rounds include decoding every file once (the first of `--epochs` epochs) and the cached epochs after it.

    python -m benchmarks.datasets colored_mnist --out data/colored_mnist
    python -m benchmarks.input_pipeline --data data/colored_mnist --json benchmarks/results/cpu_2core_input_32.json
    python -m benchmarks.input_pipeline --data data/colored_mnist --image-size 64 --images 3000 --rounds 2 \\
        --json benchmarks/results/cpu_2core_input_64.json
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks.throughput import interleaved_rounds, summarize
from keras_vae.data import make_dataset
from keras_vae.images import load_images, pixels_of
from keras_vae.train import TrainConfig, build_model, hardware

IN_MEMORY = "in-memory array"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a folder of images")
    parser.add_argument("--image-size", default=None, help="resize to H or HxW (default: the images' own)")
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per timed call: the first decodes the files")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--images", type=int, default=None, help="train on the first n training images only")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    images = load_images(args.data, args.image_size)
    train = images.train[:args.images]
    array = pixels_of(train, images.image_shape)
    start = time.perf_counter()
    array = np.concatenate(list(array.batch(1024).as_numpy_iterator()))  # the same 8-bit images, in memory
    decode_seconds = time.perf_counter() - start
    config = TrainConfig(latent_dim=args.latent_dim)
    model = build_model(config, image_shape=images.image_shape)

    def fitted(source):
        def run():
            data = make_dataset(source(), config.batch_size, shuffle=True, seed=0)
            start = time.perf_counter()
            model.fit(data, epochs=args.epochs, verbose=0)
            return time.perf_counter() - start
        return run

    setups = {"image folder": fitted(lambda: pixels_of(train, images.image_shape)),
              IN_MEMORY: fitted(lambda: array)}
    measured = interleaved_rounds(setups, len(array) * args.epochs, args.rounds)
    summary = summarize(measured, [IN_MEMORY])
    ratios = [r["image folder"] / r[IN_MEMORY] for r in measured]
    shape = "x".join(map(str, images.image_shape))
    print(f"{len(array)} training images {shape}, {args.epochs} epoch(s) per call, {args.rounds} interleaved rounds; "
          f"decoding them all once: {decode_seconds:.1f} s")
    for setup, row in summary.items():
        print(f"{setup:<16} {row['samples_per_second']:>8.1f} samples/s  {row[f'vs {IN_MEMORY}']:.3f}x")
    print(f"folder / in memory per round: {', '.join(f'{r:.3f}' for r in ratios)}; an epoch of {len(array)} images "
          f"takes {len(array) / summary[IN_MEMORY]['samples_per_second']:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "hardware": hardware(), "data": Path(args.data).name, "image_shape": list(images.image_shape),
            "train_images": len(array), "epochs_per_call": args.epochs, "latent_dim": args.latent_dim,
            "batch_size": config.batch_size, "decode_all_seconds": round(decode_seconds, 2), "summary": summary,
            "ratios": ratios, "rounds": measured}, indent=2))


if __name__ == "__main__":
    main()
