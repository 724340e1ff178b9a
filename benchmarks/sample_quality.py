"""How much a run's samples look like its images, by prior: real test images (the floor), N(0, I), the run's own
p(z) (a learned mixture, where trained with one), and mixtures of each `--components` count fitted to the training
codes (the run's sampling prior is one of them), the last drawn at each of `--temperatures` too; beside them the
decoder's images at z_mean of n training images (reconstructions, not samples: what the decoder draws where the codes
are). All judged by one judge trained on the run's labelled images (keras_vae.judge). For a conditional run
(`train --conditional`) each count is split among the classes (fit_to_codes' per-class priors) and its rows add each
label's samples with the share judged that label. Prints and writes (--json) the rows.

    python -m benchmarks.sample_quality --model run --components 10 50 200 --n 400 --json benchmarks/results/x.json
"""
import argparse
import json

import numpy as np

from keras_vae import decode, loading, run_data, runs, sampling
from keras_vae.decoders import encode
from keras_vae.judge import format_rows, run_judge
from keras_vae.priors import MixturePrior, fit_to_codes


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--components", type=int, nargs="*", default=[10, 50])
    parser.add_argument("--temperatures", type=float, nargs="*", default=[])
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    vae = loading.load_model(args.model)
    rows = prior_rows(vae, args)
    print(format_rows(rows))
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"model": args.model, "n": args.n, "seed": args.seed, "rows": rows}, file, indent=2)


def prior_rows(vae, args):
    """The rows: real images, N(0, I), the model's own p(z) where it is a mixture, mixtures fitted to the codes (a
    conditional run's per class, with each label's rows), reconstructions."""
    judged, real = run_judge(args.model, seed=args.seed)
    config = runs.read_config(runs.model_path(args.model))
    x_train = run_data.training_images(args.model)
    labels = None
    if vae.num_classes:  # the training images' classes, which the encoder takes and the per-class fits group by
        images = run_data.run_images(args.model)
        labels = run_data.split_validation(images.train, config.get("validation_images", 0))[0].labels
    rows = {"real test images": real}

    def add(name, prior):  # the prior's samples; for a conditional run, each label's too
        rows[name] = judged(sampling.draw(vae.decoder, prior, args.n, args.seed))
        for label in range(vae.num_classes or 0):
            rows[f"{name}, --label {label}"] = judged(sampling.draw(vae.decoder, prior, args.n, args.seed, label=label),
                                                      label)

    add("N(0, I)", None)
    if isinstance(vae.prior, MixturePrior):  # a mixture trained with the model (train's prior_components)
        rows[f"the model's p(z): {vae.prior.description}"] = judged(sampling.draw(vae.decoder, vae.prior, args.n,
                                                                                   args.seed))
    for components in args.components:
        prior, _ = fit_to_codes(vae, x_train, components, dynamic=config.get("binarize") == "dynamic", seed=args.seed,
                                labels=labels)
        add(f"{components} Gaussians fitted to the codes" + (" (shared among the classes)" if vae.num_classes else ""),
            prior)
    for temperature in args.temperatures:
        rows[f"{components} Gaussians, temperature {temperature:g}"] = judged(
            decode(vae.decoder, prior.sample(args.n, args.seed, temperature), args.seed))
    chosen = np.random.default_rng(args.seed).choice(len(x_train), args.n)
    given = None if labels is None else labels[chosen]
    rows["decoder(z_mean) of training images"] = judged(decode(vae.decoder, encode(vae.encoder, x_train[chosen], given)[0],
                                                               labels=given))
    return rows


if __name__ == "__main__":
    main()
