"""Input checks that run before any training step, so that no run trains on wrong data."""
import numpy as np


def check_images(x, image_shape, name="x", unit_range=True):
    """Raise ValueError, naming the fix, unless x is a non-empty, finite float array of `image_shape` images.

    unit_range: also require pixels in [0, 1], as the Bernoulli likelihood does.
    """
    x = np.asarray(x)
    expected = f"(n, {', '.join(map(str, image_shape))})"
    if x.size == 0:
        raise ValueError(f"{name} is empty: give at least one image of shape {expected}.")
    if x.shape[1:] != tuple(image_shape):
        hint = f"; reshape with {name}.reshape(-1, {', '.join(map(str, image_shape))})" if x.size % np.prod(image_shape) == 0 else ""
        raise ValueError(f"{name} has shape {x.shape}, expected images of shape {expected}{hint}.")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{name} has dtype {x.dtype}: convert to float32 in [0, 1] (for 0..255 pixels, divide by 255).")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} holds {np.size(x) - np.isfinite(x).sum()} NaN or Inf pixels: remove or repair those images.")
    low, high = float(x.min()), float(x.max())
    if unit_range and (low < 0.0 or high > 1.0):
        fix = "divide by 255" if high > 1.0 and low >= 0.0 else "rescale to [0, 1]"
        raise ValueError(f"{name} has pixels in [{low:g}, {high:g}]; the Bernoulli likelihood needs [0, 1]: {fix}.")
