"""Drawing digits from a made run (by default the shipped pretrained:made): the pixel-by-pixel loop
(one decoder pass per pixel) against keras_vae's incremental sampler, in interleaved rounds, checking in each
round that both draw the same images.

    python -m benchmarks.sampling --rounds 5 --json benchmarks/results/cpu_2core_sampling.json
    python -m benchmarks.sampling --model pretrained:made_latent32_local32 --rounds 5
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from benchmarks.throughput import interleaved_rounds, summarize
from keras_vae import loading, runs
from keras_vae.autoregressive import pixel_by_pixel
from keras_vae.decoders import decode, latent_dim
from keras_vae.train import hardware


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="pretrained:made", help="the run to draw from")
    parser.add_argument("--digits", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args()
    decoder = loading.load_model(runs.model_path(args.model)).decoder
    z = np.random.default_rng(0).standard_normal((args.digits, latent_dim(decoder))).astype("float32")
    uniform = np.random.default_rng(0).random((args.digits, 28, 28, 1), dtype="float32")  # as decode draws them
    loop = tf.function(pixel_by_pixel)
    drawn = {}

    def timed(name, draw):
        def run():
            start = time.perf_counter()
            drawn[name] = draw()
            return time.perf_counter() - start
        return run

    setups = {"pixel by pixel": timed("pixel by pixel", lambda: loop(decoder, z, uniform).numpy()),
              "keras_vae.decode": timed("keras_vae.decode", lambda: decode(decoder, z, seed=0))}
    measured = interleaved_rounds(setups, args.digits, args.rounds)  # after one warm-up call each (tracing, XLA)
    same = bool(np.array_equal(drawn["pixel by pixel"], drawn["keras_vae.decode"]))
    summary = summarize(measured, ["pixel by pixel"])
    ratios = [r["keras_vae.decode"] / r["pixel by pixel"] for r in measured]
    print(f"{args.digits} digits, {args.rounds} interleaved rounds; the same images: {same}")
    for setup, row in summary.items():
        print(f"{setup:<20} {row['samples_per_second']:>8.1f} digits/s  {row['vs pixel by pixel']:>6.1f}x")
    print(f"ratio per round: {', '.join(f'{r:.1f}x' for r in ratios)}")
    if args.json:
        Path(args.json).write_text(json.dumps({"hardware": hardware(), "model": args.model, "digits": args.digits,
                                               "same_images": same,
                                               "summary": summary, "rounds": measured}, indent=2))


if __name__ == "__main__":
    main()
