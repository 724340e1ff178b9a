"""Training throughput (samples/s of fit) of keras_vae against two baselines, in interleaved rounds.

Every setup is built first, then each round trains one epoch of every setup in turn, so setups are
compared over the same minutes. Baselines, on the same data and architecture:
- the Keras example's way (keras-io examples/generative/vae.py): numpy arrays into fit, a GradientTape
  train_step with BCE on probabilities, no tuning;
- the PyTorch example (pytorch/examples vae/main.py): 784-400-20 MLP and its loss, if torch imports.
keras_vae is timed as the training command builds it ("keras_vae": tf.data pipeline, FusedAdam, 32 steps per
execution) and as the README's API writes it: "README API" compile(Adam()), fit(numpy), Keras' defaults; "README API,
fast" compile(FusedAdam(), steps_per_execution=32), the levers a user chooses by name.

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

from keras_vae import VAE, FusedAdam, build_decoder, build_encoder, load_mnist
from keras_vae.data import make_dataset
from keras_vae.train import TrainConfig, build_model, hardware

BATCH_SIZE = 128
MODELS = {
    "mlp": {"latent_dim": 20, "architecture": "mlp", "options": {"hidden_dim": 400}},
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
    "tf.data + steps_per_execution=32 + FusedAdam + jit_compile": {**SPE32, "fused_adam": True, "jit_compile": True},
}
# float16 has no fast path on a CPU (measured here: ~100 samples/s for the MLP): timed only where a GPU is visible.
GPU_LEVERS = {
    "tf.data + steps_per_execution=32 + mixed_float16": {**SPE32, "precision": "mixed_float16"},
    "tf.data + steps_per_execution=32 + mixed_float16 + jit_compile": {**SPE32, "precision": "mixed_float16", "jit_compile": True},
}


def fit_one_epoch(model, data, **fit_args):
    """Seconds of one epoch of model.fit, timed from the epoch's start to its end (no set-up)."""
    seconds = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    model.fit(data, epochs=1, callbacks=[EpochTimer()], verbose=0, **fit_args)
    return seconds[0]


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


def parts(spec):
    """The encoder and decoder of a MODELS entry, as keras_vae's builders make them."""
    args = (spec["latent_dim"], spec["architecture"])
    return build_encoder(*args, **spec.get("options", {})), build_decoder(*args, **spec.get("options", {}))


def keras_example(spec, x):
    """The Keras example's way, ready to train: a function that runs one epoch and returns its seconds."""
    model = KerasExampleVAE(*parts(spec))
    model.compile(optimizer=keras.optimizers.Adam())
    return lambda: fit_one_epoch(model, x, batch_size=BATCH_SIZE)


def readme_api(spec, x, fast=False):
    """keras_vae's API exactly as the README writes it: compile(optimizer=keras.optimizers.Adam()), Keras' defaults,
    or with fast=True compile(optimizer=FusedAdam(), steps_per_execution=32); then fit on the numpy array with
    batch_size=128."""
    vae = VAE(*parts(spec))
    vae.compile(**({"optimizer": FusedAdam(), "steps_per_execution": 32} if fast else {"optimizer": keras.optimizers.Adam()}))
    return lambda: fit_one_epoch(vae, x, batch_size=BATCH_SIZE)


def keras_vae(spec, x, tf_data=True, steps_per_execution=DEFAULTS.steps_per_execution,
              jit_compile=DEFAULTS.jit_compile, precision=DEFAULTS.precision, fused_adam=True):
    """keras_vae as the training command builds it (or with one lever changed), ready to train one epoch."""
    config = TrainConfig(**spec, steps_per_execution=steps_per_execution, jit_compile=jit_compile, precision=precision)
    vae = build_model(config, optimizer=None if fused_adam else keras.optimizers.Adam(config.learning_rate))
    if tf_data:
        dataset = make_dataset(x, BATCH_SIZE, shuffle=True, seed=0)  # one pipeline, cached on the first pass
        return lambda: fit_one_epoch(vae, dataset, shuffle=False)
    return lambda: fit_one_epoch(vae, x, batch_size=BATCH_SIZE)


def pytorch_example(x, data_loader=False):
    """The PyTorch example's VAE and loss (784-400-20, BCE summed + KLD), ready to train one epoch; None
    without torch.

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

    def epoch():
        start = time.perf_counter()
        batches = (b for (b,) in loader) if data_loader else (data[i] for i in torch.randperm(len(data)).split(BATCH_SIZE))
        for batch in batches:
            recon, mu, logvar = model(batch)
            loss = F.binary_cross_entropy(recon, batch, reduction="sum")
            loss = loss - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return time.perf_counter() - start

    return epoch


def setups(spec, x, levers, with_torch):
    """Each setup to time, built and ready: name -> function that trains one epoch and returns its seconds."""
    if levers:
        levers = {**LEVERS, **(GPU_LEVERS if tf.config.list_physical_devices("GPU") else {})}
        return {lever: keras_vae(spec, x, **options) for lever, options in levers.items()}
    built = {"keras_vae": keras_vae(spec, x), "README API": readme_api(spec, x), "README API, fast": readme_api(spec, x, True),
             "Keras example": keras_example(spec, x)}
    if with_torch and (torch_epoch := pytorch_example(x)):
        built["PyTorch example"] = torch_epoch
        built["PyTorch example, its DataLoader"] = pytorch_example(x, data_loader=True)
    return built


def interleaved_rounds(epochs, num_samples, rounds):
    """Samples/s of every setup's epoch, round by round: one epoch of each setup per round, the order rotated
    each round, after one warm-up epoch each (tracing). Setups compared within a round saw the same minute of
    this machine, whose speed drifts."""
    for epoch in epochs.values():
        epoch()
    names = list(epochs)
    measured = []
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        rates = {name: num_samples / epochs[name]() for name in order}
        measured.append({name: rates[name] for name in names})
    return measured


def summarize(measured, baselines):
    """Median samples/s of each setup, and the median over rounds of its ratio to each baseline in that round."""
    return {name: {"samples_per_second": statistics.median(r[name] for r in measured),
                   **{f"vs {b}": statistics.median(r[name] / r[b] for r in measured) for b in baselines}}
            for name in measured[0]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--levers", action="store_true", help="time each lever of keras_vae's setup instead")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of one epoch per setup, interleaved, after "
                        "a warm-up round; medians are reported (this machine's speed drifts between minutes)")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args()
    (x_train, _), _ = load_mnist(args.data)

    results = {"hardware": hardware(), "batch_size": BATCH_SIZE, "rounds": args.rounds, "models": {}}
    for name in args.models:
        epochs = setups(MODELS[name], x_train, args.levers, with_torch=name == "mlp")
        measured = interleaved_rounds(epochs, len(x_train), args.rounds)
        baselines = [b for b in ("plain: numpy into fit", "keras_vae", "Keras example", "PyTorch example") if b in epochs]
        summary = summarize(measured, baselines)
        results["models"][name] = {"summary": summary, "rounds": measured}
        print(f"\n{name} (batch {BATCH_SIZE}; medians over {args.rounds} interleaved rounds of one epoch per setup; "
              f"a ratio is the median of the ratios within each round)")
        print(f"{'setup':<60} {'samples/s':>10}" + "".join(f" {'vs ' + b.split(':')[0]:>19}" for b in baselines))
        for setup, row in summary.items():
            print(f"{setup:<60} {row['samples_per_second']:>10.0f}" + "".join(f" {row['vs ' + b]:>18.2f}x" for b in baselines))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
