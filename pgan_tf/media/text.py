"""Text labels on video frames, drawn with Pillow: white letters on a soft dark glow.

The look of the original's `draw_text_label` (32-pixel text, 6 pixels of padding, a glow made by
blurring the letters with σ = 2 and shaping it as 1 − max(1 − 3·g, 0)², darkening what is under
it), without its moviepy/ImageMagick text rendering. The font is Pillow's own scalable default.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_SIZE = 32
PADDING = 6
GLOW_SIGMA = 2.0
GLOW_COEF = 3.0
GLOW_EXP = 2.0


@functools.lru_cache(maxsize=128)
def label_masks(text: str, size: int = FONT_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, glow): float32 [h, w] masks in [0, 1] of the text and of its glow, padded."""
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = font.getbbox(text)
    w, h = right - left + 2 * PADDING, bottom - top + 2 * PADDING
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).text((PADDING - left, PADDING - top), text, fill=255, font=font)
    alpha = np.asarray(mask, np.float32) / 255.0
    blurred = np.asarray(mask.filter(ImageFilter.GaussianBlur(GLOW_SIGMA)), np.float32) / 255.0
    glow = 1.0 - np.maximum(1.0 - blurred * GLOW_COEF, 0.0) ** GLOW_EXP
    return alpha, glow


def draw_label(
    image: np.ndarray, text: str, x: float, y: float, alignx: float = 0.5, aligny: float = 0.5
) -> np.ndarray:
    """A copy of HWC uint8 `image` with `text` placed so that the point (alignx, aligny) of its
    box (0 = left/top, 1 = right/bottom) is at pixel (x, y); clipped at the image's edges."""
    alpha, glow = label_masks(text)
    lh, lw = alpha.shape
    x0, y0 = int(np.rint(x - lw * alignx)), int(np.rint(y - lh * aligny))
    out = np.asarray(image, np.float32).copy()
    ys, xs = (
        slice(max(y0, 0), min(y0 + lh, out.shape[0])),
        slice(max(x0, 0), min(x0 + lw, out.shape[1])),
    )
    if ys.start >= ys.stop or xs.start >= xs.stop:
        return np.asarray(image).copy()
    a = alpha[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0, None]
    g = glow[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0, None]
    region = out[ys, xs]
    region *= (1.0 - a) * (1.0 - g)
    region += a * 255.0
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
