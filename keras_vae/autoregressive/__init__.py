"""Autoregressive decoders, in one place: the masked layers, the made architecture and the autoregressive decoder
kind with its fast sampler. Importing it registers them through the public registries a user's own architecture
uses (register_decoder_kind, register_architecture); the core modules know nothing of it."""
from .decoder import AutoregressiveDecoder, LocalLogits, MadeSampler, pixel_by_pixel
from .layers import MaskedConv2D, MaskedDense
from . import made  # registers the made architecture

__all__ = ["AutoregressiveDecoder", "LocalLogits", "MadeSampler", "MaskedConv2D", "MaskedDense", "made", "pixel_by_pixel"]
