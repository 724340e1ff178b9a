"""How fast training could be on this machine: the matmul peak, each layer's FLOPs and measured speed.

For each benchmark model it times every weight layer's forward and backward pass alone (batch 128)
and the FusedAdam update of all weights, and gives three caps in samples/s: FLOPs per image at the
matmul peak; the sum of the layers' measured times (a step before any loss, update or input); that
sum plus the update. It also times the training command's whole step, stage by stage (forward and
loss, + gradients, + update, + metrics) on one batch, which is what fit costs without its own loop
and input pipeline, and fit itself (an epoch of MNIST per call). All but fit run many steps per graph
call, so Python's dispatch is not counted; all the timings of a model are interleaved and the fastest
of several repeats kept, as this machine's speed drifts.

    python -m benchmarks.compute_cap --data ../shared/data/mnist.npz --json benchmarks/results/cpu_2core_cap.json
"""
import argparse
import json
import math
import time
from pathlib import Path

import keras
import tensorflow as tf

from benchmarks.throughput import BATCH_SIZE, MODELS, interleaved_rounds, keras_vae, parts
from keras_vae import FusedAdam, load_mnist
from keras_vae.architectures import IMAGE_SHAPE
from keras_vae.train import TrainConfig, build_model, hardware

PEAK_SIZE = 2048
TRAIN_STEP = "+ loss metrics (VAE.train_step)"


def timer(step, *args, calls=20):
    """A function that runs `calls` steps in one graph call and returns the seconds per step."""

    @tf.function
    def steps(*args):
        total = tf.constant(0.0)
        for _ in tf.range(calls):
            total += tf.add_n([tf.reduce_sum(t) for t in tf.nest.flatten(step(*args))])
        return total

    def seconds():
        start = time.perf_counter()
        steps(*args).numpy()
        return (time.perf_counter() - start) / calls

    return seconds


def fastest(timers, repeats=5):
    """The fastest seconds per step of each timer over `repeats` interleaved rounds, after a warm-up round."""
    rounds = interleaved_rounds(timers, num_samples=1, rounds=repeats)  # steps per second
    return {name: 1 / max(r[name] for r in rounds) for name in timers}


def matmul_timer():
    """Timer of a large float32 matmul: the most this machine's cores compute."""
    a, b = tf.random.normal([PEAK_SIZE, PEAK_SIZE]), tf.random.normal([PEAK_SIZE, PEAK_SIZE])
    return timer(tf.matmul, a, b)


def forward_flops(layer):
    """Multiply-adds x 2 per image of a Dense, Conv2D or Conv2DTranspose layer's forward pass."""
    positions = math.prod(layer.input.shape[1:-1] if isinstance(layer, keras.layers.Conv2DTranspose)
                          else layer.output.shape[1:-1])
    return 2 * positions * math.prod(layer.kernel.shape)


def layer_timer(layer, needs_input_gradient):
    """Timer of one layer's forward and backward pass on a batch."""
    x = tf.random.uniform([BATCH_SIZE, *layer.input.shape[1:]])

    def forward_backward(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(y * y)
        return tape.gradient(loss, [x] + layer.trainable_weights if needs_input_gradient else layer.trainable_weights)

    return timer(forward_backward, x)


def layer_timers(parts):
    """Each weight layer of the encoder and decoder: name -> (FLOPs per image, timer)."""
    timers = {}
    for part in parts:
        for i, layer in enumerate(l for l in part.layers if hasattr(l, "kernel")):
            # The image needs no gradient: the encoder's first weight layer skips it.
            needs_input_gradient = not (part.name == "encoder" and i == 0)
            passes = 3 if needs_input_gradient else 2  # forward, gradient of the weights, gradient of the input
            timers[f"{part.name}/{layer.name}"] = (passes * forward_flops(layer), layer_timer(layer, needs_input_gradient))
    return timers


def update_timer(parts):
    """Timer of one FusedAdam update of all the weights, as the training command applies each step."""
    weights = [w for part in parts for w in part.trainable_weights]
    gradients = [tf.random.normal(w.shape) for w in weights]
    optimizer = FusedAdam()
    optimizer.build(weights)

    def update():
        optimizer.apply(gradients, weights)
        return tf.cast(optimizer.iterations, "float32")

    return timer(update)


def stage_timers(spec):
    """Timers of the training command's step on one batch, built up stage by stage."""
    vae = build_model(TrainConfig(**spec))
    x = tf.random.uniform([BATCH_SIZE, *IMAGE_SHAPE])
    vae.fit(x, epochs=1, verbose=0)  # builds the weights and the optimizer

    def loss(x):  # the training step's negative ELBO (VAE.train_step), without its metrics
        z_mean, z_log_var, z = vae.encoder(x, training=True)
        kl_loss = vae.prior.kl_divergence(z, z_mean, z_log_var)
        return keras.ops.mean(vae.reconstruction_loss(x, z, training=True)) + vae.beta * keras.ops.mean(kl_loss)

    def gradients(x):
        with tf.GradientTape() as tape:
            value = loss(x)
        return value, tape.gradient(value, vae.trainable_weights)

    def update(x):
        value, grads = gradients(x)
        vae.optimizer.apply(grads, vae.trainable_weights)
        return value

    stages = {"forward and loss": loss, "+ gradients": gradients, "+ FusedAdam update": update,
              TRAIN_STEP: lambda x: vae.train_step(x)["loss"]}
    return {stage: timer(step, x) for stage, step in stages.items()}


def fit_timer(spec, x):
    """Timer of the training command's fit per batch: one epoch over x per call."""
    epoch = keras_vae(spec, x)
    batches = math.ceil(len(x) / BATCH_SIZE)
    return lambda: epoch() / batches


def measure(spec, x):
    """One model's layers, update, step stages and fit on x, all timed interleaved with the matmul peak."""
    model_parts = parts(spec)
    layers = layer_timers(model_parts)
    stages = stage_timers(spec)
    best = fastest({"peak": matmul_timer(), "update": update_timer(model_parts), "fit": fit_timer(spec, x),
                    **{name: time_layer for name, (_, time_layer) in layers.items()}, **stages})
    peak = 2 * PEAK_SIZE**3 / best["peak"] / 1e9
    flops = sum(f for f, _ in layers.values())
    seconds = sum(best[name] for name in layers)
    return {
        "matmul_peak_gflops": peak,
        "layers": [{"layer": name, "mflop_per_image": f / 1e6, "ms_per_batch": best[name] * 1e3,
                    "gflops": f * BATCH_SIZE / best[name] / 1e9} for name, (f, _) in layers.items()],
        "mflop_per_image": flops / 1e6, "layers_ms_per_batch": seconds * 1e3, "update_ms_per_batch": best["update"] * 1e3,
        "cap_at_peak": peak * 1e9 / flops, "cap_at_layer_speeds": BATCH_SIZE / seconds,
        "cap_with_update": BATCH_SIZE / (seconds + best["update"]),
        "step_ms_per_batch": {stage: best[stage] * 1e3 for stage in stages}, "fit_ms_per_batch": best["fit"] * 1e3,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args()
    tf.get_logger().setLevel("ERROR")  # one traced graph per timer is the design, not a retracing problem
    (x_train, _), _ = load_mnist(args.data)
    results = {"hardware": hardware(), "batch_size": BATCH_SIZE, "models": {}}
    for name in args.models:
        r = results["models"][name] = measure(MODELS[name], x_train)
        print(f"\n{name}, batch {BATCH_SIZE}; matmul peak ({PEAK_SIZE}x{PEAK_SIZE}, float32) {r['matmul_peak_gflops']:.0f} GFLOP/s")
        print(f"{'forward and backward of each weight layer':<42} {'MFLOP/image':>11} {'ms/batch':>9} {'GFLOP/s':>8}")
        for row in r["layers"]:
            print(f"{row['layer']:<42} {row['mflop_per_image']:>11.2f} {row['ms_per_batch']:>9.2f} {row['gflops']:>8.0f}")
        print(f"{'all layers':<42} {r['mflop_per_image']:>11.2f} {r['layers_ms_per_batch']:>9.2f} "
              f"{r['mflop_per_image'] * BATCH_SIZE / r['layers_ms_per_batch']:>8.0f}")
        print(f"{'FusedAdam update of all weights':<42} {'':>11} {r['update_ms_per_batch']:>9.2f}")
        print(f"cap, samples/s: {r['cap_at_peak']:,.0f} at the matmul peak; {r['cap_at_layer_speeds']:,.0f} at the "
              f"layers' measured speeds; {r['cap_with_update']:,.0f} with the update too")
        stages = r["step_ms_per_batch"]
        print("the training step, ms/batch: " + "; ".join(f"{stage} {ms:.2f}" for stage, ms in stages.items())
              + f" ({BATCH_SIZE * 1e3 / stages[TRAIN_STEP]:,.0f} samples/s)")
        print(f"fit as the training command runs it: {r['fit_ms_per_batch']:.2f} ms/batch "
              f"({BATCH_SIZE * 1e3 / r['fit_ms_per_batch']:,.0f} samples/s)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
