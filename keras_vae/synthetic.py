"""Image sets these machines can make for trying `--data` on something other than grayscale digits: colored MNIST
(the MNIST digits, 32x32, each drawn in a random color on another) and synthetic shapes (no MNIST in them), and a
writer of folders of PNGs, labels as subfolders, as `train --data <folder>` reads them."""
from pathlib import Path

import numpy as np

from .data import require_images

SHAPES = ("ellipse", "rectangle", "triangle")


def colored_mnist(x, seed=0):
    """MNIST digits (n, 28, 28, 1) in [0, 1] as 8-bit 32x32 color images: padded by 2, each digit's strokes in one
    random bright color over one random dark one, blended by the gray value."""
    require_images(x)
    rng = np.random.default_rng(seed)
    strokes = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
    foreground = rng.uniform(0.5, 1.0, (len(x), 1, 1, 3))
    background = rng.uniform(0.0, 0.4, (len(x), 1, 1, 3))
    return np.round(255 * (strokes * foreground + (1 - strokes) * background)).astype(np.uint8)


def shapes(n, seed=0, size=32):
    """n 8-bit (size, size, 1) grayscale images of one filled shape each on a linear gradient, and its class
    (SHAPES' index)."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    images, labels = np.empty((n, size, size, 1), np.uint8), rng.integers(0, len(SHAPES), n)
    ramp = np.linspace(0.0, 1.0, size)
    for i, label in enumerate(labels):
        low, high = sorted(rng.uniform(0, 255, 2))
        angle = rng.uniform(0, 2 * np.pi)
        gradient = np.cos(angle) * ramp[None, :] + np.sin(angle) * ramp[:, None]
        gradient = (gradient - gradient.min()) / (np.ptp(gradient) or 1.0)
        canvas = Image.fromarray(np.round(low + (high - low) * gradient * 0.6).astype(np.uint8))
        draw = ImageDraw.Draw(canvas)
        x0, y0 = rng.uniform(2, size / 2, 2)
        x1, y1 = x0 + rng.uniform(8, size / 2), y0 + rng.uniform(8, size / 2)
        fill = int(rng.uniform(0, 255))
        if SHAPES[label] == "ellipse":
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        elif SHAPES[label] == "rectangle":
            draw.rectangle((x0, y0, x1, y1), fill=fill)
        else:
            draw.polygon([(x0, y1), (x1, y1), (rng.uniform(x0, x1), y0)], fill=fill)
        images[i, ..., 0] = np.asarray(canvas)
    return images, labels


def write_folder(folder, images, labels=None, names=None):
    """Write 8-bit images (n, h, w, c) as PNG files, in one subfolder per label (named by `names`) where labels are
    given; returns the folder."""
    require_images(images, "images")
    from PIL import Image

    folder = Path(folder)
    for i, image in enumerate(images):
        sub = folder if labels is None else folder / (names[labels[i]] if names else str(labels[i]))
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(sub / f"{i:06d}.png")
    return folder
