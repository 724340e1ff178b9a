"""The importance-weighted likelihood estimator's speed against this machine's compute cap.

Times `keras_vae.estimate_log_likelihood` on a MADE model (--model; pretrained:made unless given) and
the binarized test images it is scored on, interleaved with the matmul peak (compute_cap's timer), and gives the
importance samples per second against the cap: the FLOPs per sample of the decoder's layers that read z, at the
matmul peak (those that read x alone run once per image, decoders.py's scorer, and are left out).

    python -m benchmarks.likelihood --data ../shared/data/mnist.npz --json benchmarks/results/cpu_2core_likelihood.json
"""
import argparse
import json
import time
from pathlib import Path

from benchmarks.compute_cap import PEAK_SIZE, fastest, forward_flops, matmul_timer
from keras_vae import estimate_log_likelihood, loading, run_data, runs
from keras_vae.train import hardware


def reading_z(decoder):
    """The layers of `decoder` whose output depends on its first input, z: those the scorer runs once per draw."""
    z = decoder.inputs[0]
    memo = {}

    def depends(tensor):
        if id(tensor) not in memo:
            operation, node_index, _ = tensor._keras_history
            parents = operation._inbound_nodes[node_index].input_tensors
            memo[id(tensor)] = tensor is z or any(depends(parent) for parent in parents)
        return memo[id(tensor)]
    return [layer for layer in decoder.layers if depends(layer.output)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None)
    parser.add_argument("--model", default="pretrained:made", help="the run to score")
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args()
    model = runs.model_path(args.model)
    vae = loading.load_model(model)
    x, _ = run_data.test_set(model, args.data, args.images)
    samples = args.images * args.k

    def estimator():
        start = time.perf_counter()
        estimate_log_likelihood(vae, x, k=args.k, verbose=0)
        return (time.perf_counter() - start) / samples  # seconds per importance sample

    best = fastest({"peak": matmul_timer(), "estimator": estimator}, repeats=args.rounds)
    peak = 2 * PEAK_SIZE**3 / best["peak"]
    flops = sum(forward_flops(layer) for layer in reading_z(vae.decoder) if hasattr(layer, "kernel"))
    rate, cap = 1 / best["estimator"], peak / flops
    results = {"hardware": hardware(), "images": args.images, "k": args.k, "peak_gflops": peak / 1e9,
               "decoder_mflops_per_sample": flops / 1e6, "samples_per_second": rate, "cap_samples_per_second": cap,
               "fraction_of_cap": rate / cap}
    print(f"matmul peak {peak / 1e9:.0f} GFLOP/s; decoder layers reading z {flops / 1e6:.2f} MFLOP per importance sample: "
          f"cap {cap:,.0f} samples/s")
    print(f"estimator {rate:,.0f} samples/s ({args.images} images x k={args.k}, fastest of {args.rounds} rounds): "
          f"{rate / cap:.0%} of the cap; k=5000 on 10,000 images would take {5e7 / rate:,.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
