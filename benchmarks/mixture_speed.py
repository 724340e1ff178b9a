"""What the discretized logistic mixture's loss costs: samples/s of fit on 32x32x3 8-bit images, the training
command's model (resnet, 32-D z, batch 32, FusedAdam, 32 steps per execution), with K = 1 (the default) and K = 5
logistics per pixel, and K = 1 on resnet_modulated (the own-images default), against
`discretized_logistic` (one logistic per pixel, one scale shared by all), in interleaved rounds
(benchmarks/throughput.py's), each round's ratios to the shared-scale logistic.

    python -m benchmarks.mixture_speed --images 512 --rounds 5 --json benchmarks/results/cpu_2core_mixture_speed_modulated.json
"""
import argparse
import json
import statistics
from pathlib import Path

import numpy as np

from keras_vae.train import TrainConfig, build_model, hardware
from benchmarks.throughput import fit_one_epoch, interleaved_rounds

SETUPS = {"discretized_logistic (one shared scale)": {"likelihood": "discretized_logistic"},
          "discretized_logistic_mixture, K = 1": {"likelihood": "discretized_logistic_mixture"},
          "discretized_logistic_mixture, K = 5": {"likelihood": "discretized_logistic_mixture", "mixture_components": 5},
          "discretized_logistic_mixture, K = 1, resnet_modulated": {"likelihood": "discretized_logistic_mixture",
                                                                    "architecture": "resnet_modulated"}}
BASELINE = "discretized_logistic (one shared scale)"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1024, help="random 8-bit 32x32x3 images per epoch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", default=None, help="write the measurements here")
    args = parser.parse_args()
    x = np.random.default_rng(0).integers(0, 256, (args.images, 32, 32, 3)).astype("float32") / 255
    epochs = {}
    for name, choice in SETUPS.items():
        config = TrainConfig(**{"architecture": "resnet", "latent_dim": 32, "batch_size": 32, **choice})
        model = build_model(config, image_shape=x.shape[1:])
        epochs[name] = lambda model=model: fit_one_epoch(model, x, batch_size=32)
    measured = interleaved_rounds(epochs, len(x), args.rounds)
    summary = {name: {"samples_per_second": statistics.median(r[name] for r in measured),
                      "vs shared scale": statistics.median(r[name] / r[BASELINE] for r in measured),
                      "vs shared scale, range": [min(r[name] / r[BASELINE] for r in measured),
                                                 max(r[name] / r[BASELINE] for r in measured)]}
               for name in SETUPS}
    for name, row in summary.items():
        low, high = row["vs shared scale, range"]
        print(f"{name:42s} {row['samples_per_second']:7.0f} samples/s  {row['vs shared scale']:.2f}x "
              f"({low:.2f}-{high:.2f})")
    if args.json:
        Path(args.json).write_text(json.dumps({"hardware": hardware(), "images": args.images, "rounds": measured,
                                               "summary": summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
