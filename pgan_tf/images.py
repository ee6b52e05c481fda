"""Image grids and PNG files for samples (`reals.png`, `fakes<kimg>.png`, generate)."""
import os

import numpy as np
from PIL import Image


def grid(images, cols=None):
    """Tiles uint8 NHWC images into one HWC image, row-major, `cols` wide (default: square)."""
    images = np.asarray(images)
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(f"grid expects uint8 NHWC images, got {images.dtype} {images.shape}")
    n, h, w, c = images.shape
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    out = np.zeros((rows * h, cols * w, c), np.uint8)
    for i, img in enumerate(images):
        r, q = divmod(i, cols)
        out[r * h : (r + 1) * h, q * w : (q + 1) * w] = img
    return out


def upscale_to(images, size):
    """Nearest-neighbour upscale of uint8 NHWC images to `size` (a multiple of theirs)."""
    factor = size // images.shape[1]
    return images if factor <= 1 else images.repeat(factor, axis=1).repeat(factor, axis=2)


def save_png(path, image):
    """Writes an HWC uint8 image (C = 1 or 3) as PNG, atomically."""
    image = np.asarray(image)
    tmp = f"{path}.tmp-{os.getpid()}.png"
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(tmp)
    os.replace(tmp, path)
