"""The README's API path on each Keras backend against the PyTorch example, in interleaved processes.

One process per setup and round (a backend is chosen when Keras is imported), the order rotated each round, so that
the setups share this machine's drifting speed. Each process trains the tutorial's MLP (784-400-20, batch 128) on
MNIST for `--epochs` epochs, as the README's API writes it: VAE(build_encoder(...), build_decoder(...)),
compile(Adam()), fit(numpy), Keras' defaults; the PyTorch example (pytorch/examples vae/main.py) is
benchmarks.throughput's. The first epoch (tracing, compiling) is left out. Prints samples/s per setup (median and
range over rounds) and each backend's ratio to the PyTorch example within its round.

    python -m benchmarks.backends --data ../shared/data/mnist.npz --rounds 3 --json benchmarks/results/cpu_2core_backends.json
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

SETUPS = ("jax", "tensorflow", "torch", "pytorch example")
BATCH_SIZE = 128


def keras_epochs(x, epochs):
    """Seconds of each epoch of the README's API path on the backend this process imported Keras with."""
    import keras

    from benchmarks.throughput import fit_one_epoch
    from keras_vae import VAE, build_decoder, build_encoder

    vae = VAE(build_encoder(20, "mlp", hidden_dim=400, seed=0), build_decoder(20, "mlp", hidden_dim=400))
    vae.compile(optimizer=keras.optimizers.Adam())
    return [fit_one_epoch(vae, x, batch_size=BATCH_SIZE) for _ in range(epochs)]


def worker(setup, data, epochs):
    """One setup's epochs in this process: samples/s of each epoch after the first."""
    from keras_vae import load_mnist

    x = load_mnist(data)[0][0]
    if setup == "pytorch example":
        from benchmarks.throughput import pytorch_example

        epoch = pytorch_example(x)
        seconds = [epoch() for _ in range(epochs)]
    else:
        seconds = keras_epochs(x, epochs)
    return [len(x) / s for s in seconds[1:]]


def run_setup(setup, data, epochs):
    """A fresh process for `setup`; its samples/s per timed epoch."""
    backend = "torch" if setup == "pytorch example" else setup
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-m", "benchmarks.backends", "--worker", setup, "--data", data,
                          "--epochs", str(epochs)], env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per process, the first untimed")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--setups", nargs="*", default=list(SETUPS), choices=SETUPS)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.data, args.epochs)))
        return
    rounds = []
    for r in range(args.rounds):
        order = args.setups[r % len(args.setups):] + args.setups[:r % len(args.setups)]
        rates = {setup: statistics.median(run_setup(setup, args.data, args.epochs)) for setup in order}
        rounds.append(rates)
        print(f"round {r + 1}: " + ", ".join(f"{s} {rates[s]:,.0f}" for s in args.setups), flush=True)
    summary = {}
    for setup in args.setups:
        values = [r[setup] for r in rounds]
        ratios = [r[setup] / r["pytorch example"] for r in rounds] if "pytorch example" in args.setups else []
        summary[setup] = {"samples_per_second": {"median": statistics.median(values), "min": min(values),
                                                 "max": max(values)},
                          **({"vs_pytorch_example": {"median": statistics.median(ratios), "min": min(ratios),
                                                     "max": max(ratios)}} if ratios else {})}
        ratio = (f"; {statistics.median(ratios):.2f}x the PyTorch example ({min(ratios):.2f} to {max(ratios):.2f})"
                 if ratios else "")
        print(f"{setup}: {statistics.median(values):,.0f} samples/s ({min(values):,.0f} to {max(values):,.0f}){ratio}")
    if args.json:
        from keras_vae.train import hardware

        with open(args.json, "w") as file:
            json.dump({"command": "python -m benchmarks.backends " + " ".join(sys.argv[1:]), "batch_size": BATCH_SIZE,
                       "epochs": args.epochs, "rounds": rounds, "summary": summary, "hardware": hardware()}, file,
                      indent=2)


if __name__ == "__main__":
    main()
