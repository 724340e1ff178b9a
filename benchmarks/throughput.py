"""Training throughput (samples/s, median epoch after a warm-up) of keras_vae against two baselines.

Baselines, timed in the same process on the same data and architecture:
- the Keras example's way (keras-io examples/generative/vae.py): numpy arrays into fit, a GradientTape
  train_step with BCE on probabilities, no tuning;
- the PyTorch example (pytorch/examples vae/main.py): 784-400-20 MLP and its loss, if torch imports.

    python -m benchmarks.throughput --data ../shared/data/mnist.npz --json benchmarks/results/cpu.json
    python -m benchmarks.throughput --data ../shared/data/mnist.npz --levers   # each lever on its own
"""
import argparse
import json
import statistics
import time
from pathlib import Path

import keras
import tensorflow as tf
from keras import ops

from keras_vae import build_decoder, build_encoder, load_mnist
from keras_vae.data import make_dataset
from keras_vae.train import TrainConfig, build_vae, hardware

BATCH_SIZE = 128
MODELS = {
    "mlp": {"latent_dim": 20, "architecture": "mlp", "hidden_dim": 400},
    "conv": {"latent_dim": 2, "architecture": "conv"},
}
DEFAULTS = TrainConfig()
# Variants of keras_vae's own setup, one lever changed at a time from the plain path (Keras' Adam).
PLAIN = {"tf_data": False, "steps_per_execution": 1, "jit_compile": False, "fused_adam": False}
SPE32 = {**PLAIN, "tf_data": True, "steps_per_execution": 32}
LEVERS = {
    "plain: numpy into fit": PLAIN,
    "tf.data pipeline": {**PLAIN, "tf_data": True},
    "tf.data + steps_per_execution=8": {**PLAIN, "tf_data": True, "steps_per_execution": 8},
    "tf.data + steps_per_execution=32": SPE32,
    "tf.data + jit_compile": {**PLAIN, "tf_data": True, "jit_compile": True},
    "tf.data + steps_per_execution=32 + jit_compile": {**SPE32, "jit_compile": True},
    "tf.data + steps_per_execution=32 + mixed_bfloat16": {**SPE32, "precision": "mixed_bfloat16"},
    "tf.data + steps_per_execution=32 + FusedAdam": {**SPE32, "fused_adam": True},
}
# float16 has no fast path on a CPU (measured here: ~100 samples/s for the MLP): timed only where a GPU is visible.
GPU_LEVERS = {
    "tf.data + steps_per_execution=32 + mixed_float16": {**SPE32, "precision": "mixed_float16"},
    "tf.data + steps_per_execution=32 + mixed_float16 + jit_compile": {**SPE32, "precision": "mixed_float16", "jit_compile": True},
}


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds of each epoch."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def median_rate(seconds, n):
    """Samples per second of the median epoch, the first (warm-up, tracing) epoch left out."""
    return n / statistics.median(seconds[1:])


class KerasExampleVAE(keras.Model):
    """The Keras example's model: its train_step and loss, as people copy it."""

    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.total_loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker]

    def train_step(self, data):
        with tf.GradientTape() as tape:
            z_mean, z_log_var, z = self.encoder(data)
            reconstruction = self.decoder(z)
            reconstruction_loss = ops.mean(ops.sum(keras.losses.binary_crossentropy(data, reconstruction), axis=(1, 2)))
            kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
            total_loss = reconstruction_loss + ops.mean(ops.sum(kl_loss, axis=1))
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(total_loss)
        return {"loss": self.total_loss_tracker.result()}


def time_keras_example(spec, x, epochs):
    model = KerasExampleVAE(build_encoder(**spec), build_decoder(**spec))
    model.compile(optimizer=keras.optimizers.Adam())
    timer = EpochTimer()
    model.fit(x, epochs=epochs, batch_size=BATCH_SIZE, callbacks=[timer], verbose=0)
    return median_rate(timer.seconds, len(x))


def time_keras_vae(spec, x, epochs, tf_data=True, steps_per_execution=DEFAULTS.steps_per_execution,
                   jit_compile=DEFAULTS.jit_compile, precision=DEFAULTS.precision, fused_adam=True):
    config = TrainConfig(**spec, steps_per_execution=steps_per_execution, jit_compile=jit_compile, precision=precision)
    vae = build_vae(config, optimizer=None if fused_adam else keras.optimizers.Adam(config.learning_rate))
    timer = EpochTimer()
    data = make_dataset(x, BATCH_SIZE, shuffle=True, seed=0) if tf_data else x
    vae.fit(data, epochs=epochs, batch_size=None if tf_data else BATCH_SIZE, shuffle=not tf_data, callbacks=[timer], verbose=0)
    return median_rate(timer.seconds, len(x))


def time_pytorch(x, epochs, data_loader=False):
    """The PyTorch example's VAE and loss (784-400-20, BCE summed + KLD).

    Batches come from a DataLoader over the images, as in the example (data_loader=True), or, faster,
    from slices of one shuffled tensor.
    """
    try:
        import torch
        from torch import nn
        from torch.nn import functional as F
    except ImportError:
        return None

    class TorchVAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 20), nn.Linear(400, 20)
            self.fc3, self.fc4 = nn.Linear(20, 400), nn.Linear(400, 784)

        def forward(self, x):
            h1 = F.relu(self.fc1(x.view(-1, 784)))
            mu, logvar = self.fc21(h1), self.fc22(h1)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar

    torch.manual_seed(0)
    model = TorchVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = torch.from_numpy(x.reshape(len(x), 784))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data), batch_size=BATCH_SIZE, shuffle=True)
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        batches = (b for (b,) in loader) if data_loader else (data[i] for i in torch.randperm(len(data)).split(BATCH_SIZE))
        for batch in batches:
            recon, mu, logvar = model(batch)
            loss = F.binary_cross_entropy(recon, batch, reduction="sum")
            loss = loss - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    return median_rate(seconds, len(x))


def _setups(spec, x, epochs, levers, with_torch):
    """Each setup to time, as a name -> zero-argument function returning samples/s."""
    if levers:
        levers = {**LEVERS, **(GPU_LEVERS if tf.config.list_physical_devices("GPU") else {})}
        return {lever: (lambda o=options: time_keras_vae(spec, x, epochs, **o)) for lever, options in levers.items()}
    setups = {"keras_vae": lambda: time_keras_vae(spec, x, epochs),
              "Keras example": lambda: time_keras_example(spec, x, epochs)}
    if with_torch:
        setups["PyTorch example"] = lambda: time_pytorch(x, epochs)
        setups["PyTorch example, its DataLoader"] = lambda: time_pytorch(x, epochs, data_loader=True)
    return setups


def _median(values):
    return None if None in values else statistics.median(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None)
    parser.add_argument("--epochs", type=int, default=4, help="epochs per measurement, the first one a warm-up")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--levers", action="store_true", help="time each lever of keras_vae's setup instead")
    parser.add_argument("--repeats", type=int, default=2, help="rounds over all setups, interleaved; the median "
                        "round is reported (this machine's speed drifts by tens of percent between minutes)")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args()
    (x_train, _), _ = load_mnist(args.data)

    results = {"hardware": hardware(), "batch_size": BATCH_SIZE, "epochs": args.epochs, "repeats": args.repeats,
               "samples_per_second": {}, "rounds": {}}
    for name in args.models:
        setups = _setups(MODELS[name], x_train, args.epochs, args.levers, with_torch=name == "mlp")
        rounds = [{setup: measure() for setup, measure in setups.items()} for _ in range(args.repeats)]
        rates = {setup: _median([r[setup] for r in rounds]) for setup in setups}
        results["samples_per_second"][name] = rates
        results["rounds"][name] = rounds
        base = rates.get("Keras example") or rates["plain: numpy into fit"]
        print(f"\n{name} (batch {BATCH_SIZE}; per run the median of {args.epochs - 1} epochs after a warm-up; "
              f"median of {args.repeats} interleaved rounds)")
        print(f"{'setup':<48} {'samples/s':>10} {'vs Keras ex.':>12} {'vs PyTorch':>11}")
        for setup, rate in rates.items():
            if rate is None:
                continue
            torch_rate = rates.get("PyTorch example")
            versus_torch = f"{rate / torch_rate:.2f}x" if torch_rate else "-"
            print(f"{setup:<48} {rate:>10.0f} {rate / base:>11.2f}x {versus_torch:>11}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
