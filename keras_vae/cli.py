"""python -m keras_vae <command>: argparse front end; the work lives in the other modules."""
import argparse

from .train import TrainConfig, train


def _train_parser(sub):
    defaults = TrainConfig()
    p = sub.add_parser("train", help="train a VAE on MNIST and write a run folder")
    p.add_argument("--architecture", default=defaults.architecture, help="conv (default) or mlp")
    p.add_argument("--latent-dim", type=int, default=defaults.latent_dim)
    p.add_argument("--hidden-dim", type=int, default=defaults.hidden_dim, help="mlp hidden units")
    p.add_argument("--epochs", type=int, default=defaults.epochs)
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    p.add_argument("--beta", type=float, default=defaults.beta, help="weight of the KL term")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--data", default=None, help="mnist.npz or IDX folder (else $KERAS_VAE_MNIST, else download)")
    p.add_argument("--out", default=None, help="run folder (default saved_models/<architecture>_latent<d>)")


def _run_train(args):
    config = TrainConfig(**{f.name: getattr(args, f.name) for f in TrainConfig.__dataclass_fields__.values()})
    run_dir, metrics = train(config)
    final = metrics["final"]
    print(
        f"Wrote {run_dir}: loss {final['loss']:.2f}, val_loss {final['val_loss']:.2f} nats/image, "
        f"{metrics['samples_per_second']:.0f} samples/s"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m keras_vae", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    args = parser.parse_args(argv)
    {"train": _run_train}[args.command](args)


if __name__ == "__main__":
    main()
