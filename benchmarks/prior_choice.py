"""Which fitted prior: components and draws of z per image, chosen on training images the fit does not see.

Fits `fit-prior`'s mixture (keras_vae.prior_fit) to the codes of the first --fit-images training images of a VAE
(--model) for each COMPONENTSxDRAWS variant, and scores the next --images training images under each (k = 500,
binarized once with seed 0; the VAE trained on them, the prior fit did not), paired against the first variant.

    python -m benchmarks.prior_choice --model pretrained:made_latent32_local32x3_60k_iwae50 \\
        --data ../shared/data/mnist.npz 500x2 1000x2 500x8 1000x8 500x32 1000x32 2000x32
"""
import argparse
import json
import time

import numpy as np

from keras_vae import loading, run_data, runs
from keras_vae.evaluate import log_likelihoods
from keras_vae.prior_fit import with_fitted_prior
from keras_vae.priors import posterior_draws


def variant(text):
    components, draws = (int(part) for part in text.split("x"))
    return components, draws


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="+", type=variant, help="COMPONENTSxDRAWS, e.g. 500x8")
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", default=None)
    parser.add_argument("--fit-images", type=int, default=50000)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--k", type=int, default=500)
    parser.add_argument("--json", default=None, help="write the table here too")
    args = parser.parse_args()
    source = runs.model_path(args.model)
    vae = loading.load_model(source)
    x_train = run_data.training_images(source, args.data)
    x_scored = run_data.scored_images(x_train[args.fit_images:args.fit_images + args.images], "dynamic")
    codes, table, first = {}, [], None
    for components, draws in args.variants:
        start = time.perf_counter()
        if draws not in codes:
            codes[draws] = posterior_draws(vae, x_train[:args.fit_images], draws)
        fitted, _ = with_fitted_prior(vae, codes[draws], components)
        scores = log_likelihoods(fitted, x_scored, k=args.k, verbose=0)
        first = scores if first is None else first
        gain = scores - first
        row = {"components": components, "draws": draws, "nll": float(-scores.mean()),
               "vs_first": float(-gain.mean()), "vs_first_se": float(gain.std() / np.sqrt(len(gain))),
               "seconds": round(time.perf_counter() - start, 1)}
        table.append(row)
        print(f"{components} x {draws}: NLL {row['nll']:.3f}, {row['vs_first']:+.3f} +- {row['vs_first_se']:.3f} "
              f"against the first ({row['seconds']:.0f} s)", flush=True)
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"model": args.model, "k": args.k, "images": args.images, "rows": table}, file, indent=1)


if __name__ == "__main__":
    main()
