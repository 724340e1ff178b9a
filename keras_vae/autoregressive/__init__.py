"""Autoregressive decoders, in one place: the masked layers, the made and pixelvae architectures and the
autoregressive decoder kind with their fast samplers. Importing it registers them through the public registries a user's own architecture
uses (register_decoder_kind, register_architecture); the core modules know nothing of it."""
from .decoder import AutoregressiveDecoder, LocalLogits, MadeSampler, pixel_by_pixel
from .layers import MaskedConv2D, MaskedDense
from . import made, pixelvae  # register the made and pixelvae architectures
from .pixelvae import NeighbourSampler

__all__ = ["AutoregressiveDecoder", "LocalLogits", "MadeSampler", "MaskedConv2D", "MaskedDense", "NeighbourSampler", "made",
           "pixel_by_pixel", "pixelvae"]
