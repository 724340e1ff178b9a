"""keras_vae: the reference Variational Autoencoder in Keras 3 / TensorFlow."""
from .architectures import ARCHITECTURES, build_decoder, build_encoder
from .data import load_mnist
from .evaluate import estimate_log_likelihood, evaluate_elbo
from .export import export_saved_model, load_part
from .inference import decode, sample_prior
from .layers import Sampling
from .losses import bernoulli_reconstruction_loss, kl_divergence
from .model import VAE
from .optimizers import FusedAdam

__all__ = [
    "ARCHITECTURES",
    "FusedAdam",
    "Sampling",
    "VAE",
    "bernoulli_reconstruction_loss",
    "decode",
    "estimate_log_likelihood",
    "evaluate_elbo",
    "export_saved_model",
    "build_decoder",
    "build_encoder",
    "kl_divergence",
    "load_mnist",
    "load_part",
    "sample_prior",
]
