"""Image grids and PNG files for samples (`reals.png`, `fakes<kimg>.png`, generate)."""

import numpy as np
from PIL import Image

from pgan_tf.core.atomic import replace_via_temp


def grid(images, cols=None, rows=None):
    """Tiles NHWC images row-major into one HWC image, `cols` wide (default: square).

    `rows` defaults to as many as the images need; cells past the last image stay black, and
    images past rows × cols are left out.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"grid expects NHWC images, got shape {images.shape}")
    n, h, w, c = images.shape
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = rows or int(np.ceil(n / cols))
    out = np.zeros((rows * h, cols * w, c), images.dtype)
    for i in range(min(n, rows * cols)):
        r, q = divmod(i, cols)
        out[r * h : (r + 1) * h, q * w : (q + 1) * w] = images[i]
    return out


def upscale_to(images, size):
    """Nearest-neighbour upscale of NHWC images to `size` (a multiple of theirs)."""
    factor = size // images.shape[1]
    return images if factor <= 1 else images.repeat(factor, axis=1).repeat(factor, axis=2)


def to_pil(image):
    """HWC uint8 (C = 1 or 3) → PIL image."""
    image = np.asarray(image)
    return Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)


def save_png(path, image):
    """Writes an HWC uint8 image as PNG, atomically (a reader never sees half a file); a failed
    write (disk full, permissions) raises `atomic.WriteError` naming `path`."""
    pil = to_pil(image)
    replace_via_temp(path, lambda tmp: pil.save(tmp, format="PNG"))
