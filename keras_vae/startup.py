"""A quiet start for the commands: TensorFlow's C++ start-up lines (on a CPU-only machine, a CUDA error
among them, which reads as a failure) are silenced unless --verbose or KERAS_VAE_VERBOSE=1.

Imported first by the package, before TensorFlow loads; it acts only under `python -m keras_vae`.
"""
import contextlib
import os
import sys

VERBOSE_ENV = "KERAS_VAE_VERBOSE"


def command_starts_quietly():
    """Whether this process is `python -m keras_vae ...` (while -m locates the module, sys.argv[0] is "-m")
    without --verbose or KERAS_VAE_VERBOSE=1."""
    return sys.argv[:1] == ["-m"] and "--verbose" not in sys.argv and os.environ.get(VERBOSE_ENV) != "1"


@contextlib.contextmanager
def stderr_silenced():
    """File descriptor 2 points to /dev/null: C++ code writes there directly, below Python's sys.stderr."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():
    """Import TensorFlow, quietly for a command: its log level set to hide all but fatal lines, and the lines
    that absl prints before its logging starts (which ignore the level) sent to /dev/null."""
    quiet = command_starts_quietly()
    if quiet:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    with stderr_silenced() if quiet else contextlib.nullcontext():
        import tensorflow  # noqa: F401
