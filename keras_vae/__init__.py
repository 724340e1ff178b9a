"""keras_vae: the reference Variational Autoencoder in Keras 3 / TensorFlow."""
from .startup import import_tensorflow

import_tensorflow()  # before anything else loads TensorFlow: quietly under python -m keras_vae

from .architectures import ARCHITECTURES, build_decoder, build_encoder, register_architecture
from .autoencoder import Autoencoder
from .data import load_mnist
from .decoders import decode, reconstruct, sample_prior
from .evaluate import estimate_log_likelihood, evaluate_elbo, log_likelihoods
from .notebook_explorer import explorer
from .export import export_onnx, export_saved_model
from .images import load_images
from .layers import Sampling
from .losses import LIKELIHOODS, bernoulli_reconstruction_loss, kl_divergence, register_likelihood
from .model import VAE
from .optimizers import FusedAdam
from .priors import MixturePrior, StandardNormalPrior
from .loading import load_part, pretrained
from .sampling import sample
from . import autoregressive  # the made and pixelvae architectures and their decoder kind, registered as a user's would be

__all__ = [
    "ARCHITECTURES",
    "Autoencoder",
    "FusedAdam",
    "LIKELIHOODS",
    "MixturePrior",
    "Sampling",
    "StandardNormalPrior",
    "VAE",
    "bernoulli_reconstruction_loss",
    "build_decoder",
    "build_encoder",
    "decode",
    "estimate_log_likelihood",
    "evaluate_elbo",
    "explorer",
    "export_onnx",
    "export_saved_model",
    "kl_divergence",
    "load_images",
    "load_mnist",
    "log_likelihoods",
    "load_part",
    "pretrained",
    "reconstruct",
    "sample",
    "register_architecture",
    "register_likelihood",
    "sample_prior",
]
