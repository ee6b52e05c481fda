"""Pixel operations of the original's video and image tools: `image_shrink` and the training
video's halving to 1080p."""

import numpy as np

MAX_WIDTH, MAX_HEIGHT = 1920, 1080


def shrink(images: np.ndarray, factor: int) -> np.ndarray:
    """NHWC uint8 images reduced `factor` times by box averaging (the original's `out_shrink`):
    rint of the mean of each factor × factor block. The original averaged before rounding to uint8;
    averaging the rounded pixels differs from it by at most one level."""
    if np.ndim(images) != 4:
        raise ValueError(f"shrink expects NHWC images, got shape {np.shape(images)}")
    if factor == 1:
        return images
    n, h, w, c = images.shape
    if factor < 1 or h % factor or w % factor:
        raise ValueError(f"--shrink {factor} does not divide the {w}x{h} images")
    blocks = images.reshape(n, h // factor, factor, w // factor, factor, c).astype(np.float32)
    return np.rint(blocks.mean(axis=(2, 4))).astype(np.uint8)


def halve_to_fit(image: np.ndarray, max_width: int = MAX_WIDTH, max_height: int = MAX_HEIGHT):
    """HWC uint8 image halved (2×2 means, in float) until it fits max_width × max_height, as the
    original's training video fits its fakes grids to 1080p (an odd last row or column dropped)."""
    out = np.asarray(image, np.float32)
    while out.shape[1] > max_width or out.shape[0] > max_height:
        h, w = out.shape[0] // 2 * 2, out.shape[1] // 2 * 2
        out = out[:h, :w].reshape(h // 2, 2, w // 2, 2, -1).mean(axis=(1, 3))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def zoom_to_height(image: np.ndarray, min_height: int) -> np.ndarray:
    """HWC image repeated (nearest neighbour) by the smallest integer factor that makes it at least
    `min_height` tall, so labels fit on the tiny grids of small runs; big images unchanged."""
    factor = -(-min_height // image.shape[0])
    return image if factor <= 1 else image.repeat(factor, axis=0).repeat(factor, axis=1)
