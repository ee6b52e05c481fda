"""The built-in procedural dataset: one flat coloured shape on a smooth grey background.

12 known discrete modes = 3 shapes (disc, square, triangle) × 4 colours (red, yellow, green,
blue); continuous variation in position, size, colour shade and the background's brightness and
gradient. Big, flat, saturated shapes on an unsaturated background make it learnable by a small
GAN in minutes on a CPU, and the modes stay distinguishable down to 16×16.

Deterministic by seed, and resolution-independent: the same (n, seed) gives the same scenes at
every resolution (edges are anti-aliased analytically, by the distance to the shape's border).

`classify` maps images back to their mode (-1 when an image fits none): a nearest-prototype
classifier that finds the saturated foreground, names its hue, re-renders the three shapes in the
foreground's bounding box and keeps the best overlap. It is what `metrics.mode_coverage` uses.
"""

import numpy as np

from pgan_tf.core.resolution import is_resolution, res_log2

SHAPES = ("disc", "square", "triangle")
COLOURS = ("red", "yellow", "green", "blue")
# Saturated colours with hues about 0°, 52°, 130° and 225° apart; chroma (max - min) >= 140.
_COLOUR_RGB = np.array([[215, 35, 35], [235, 205, 25], [35, 175, 55], [35, 80, 225]], np.float32)
NUM_MODES = len(SHAPES) * len(COLOURS)
MODE_NAMES = [f"{c}-{s}" for s in SHAPES for c in COLOURS]  # mode id = shape * 4 + colour


def mode_id(shape, colour):
    return np.asarray(shape) * len(COLOURS) + np.asarray(colour)


def sample_params(n, seed=0):
    """The scene parameters of n images, a dict of arrays (what `render` draws)."""
    rng = np.random.RandomState(seed)
    shape = rng.randint(len(SHAPES), size=n)
    colour = rng.randint(len(COLOURS), size=n)
    r = rng.uniform(0.2, 0.32, size=n)  # half the side of the shape's bounding box, in image units
    margin = r + 0.03
    cx = margin + rng.uniform(size=n) * (1 - 2 * margin)
    cy = margin + rng.uniform(size=n) * (1 - 2 * margin)
    shade = rng.uniform(0.85, 1.1, size=n)  # brightness of the shape's colour
    bg = rng.uniform(60, 190, size=n)  # background grey level at the centre
    angle = rng.uniform(0, 2 * np.pi, size=n)
    amp = rng.uniform(0, 50, size=n)  # grey-level change across the image
    return dict(
        shape=shape,
        colour=colour,
        cx=cx,
        cy=cy,
        r=r,
        shade=shade,
        bg=bg,
        gx=amp * np.cos(angle),
        gy=amp * np.sin(angle),
    )


def _coverage(shape, cx, cy, r, resolution):
    """Anti-aliased coverage [n, res, res] in [0, 1] of the shapes (arrays of n)."""
    t = (np.arange(resolution, dtype=np.float32) + 0.5) / resolution
    x = t[None, None, :] - np.asarray(cx, np.float32)[:, None, None]
    y = t[None, :, None] - np.asarray(cy, np.float32)[:, None, None]
    r = np.asarray(r, np.float32)[:, None, None]
    # Signed distance to the border (negative inside), in image units.
    disc = np.sqrt(x * x + y * y) - r
    square = np.maximum(np.abs(x), np.abs(y)) - r
    # Upward triangle: apex (0, -r), base y = +r from x = -r to +r. Edge normals (±2, -1)/√5.
    side = (2 * np.abs(x) - y - r) / np.sqrt(np.float32(5))
    triangle = np.maximum(side, y - r)
    shape = np.asarray(shape)[:, None, None]
    sd = np.where(shape == 0, disc, np.where(shape == 1, square, triangle))
    return np.clip(0.5 - sd * resolution, 0, 1)


def render(params, resolution):
    """uint8 NHWC images of the scenes in `params` (a dict from `sample_params`)."""
    res_log2(resolution)
    cov = _coverage(params["shape"], params["cx"], params["cy"], params["r"], resolution)[..., None]
    t = (np.arange(resolution, dtype=np.float32) + 0.5) / resolution - 0.5
    bg = (
        np.asarray(params["bg"], np.float32)[:, None, None]
        + np.asarray(params["gx"], np.float32)[:, None, None] * t[None, None, :]
        + np.asarray(params["gy"], np.float32)[:, None, None] * t[None, :, None]
    )[..., None]
    fg = _COLOUR_RGB[params["colour"]] * np.asarray(params["shade"], np.float32)[:, None]
    img = cov * fg[:, None, None, :] + (1 - cov) * bg
    return np.rint(img).clip(0, 255).astype(np.uint8)


def make_images(n, resolution, seed=0):
    """(uint8 NHWC images [n, res, res, 3], int64 mode ids [n]), deterministic by seed."""
    params = sample_params(n, seed)
    chunk = max(1, (1 << 22) // (resolution * resolution))
    images = np.empty((n, resolution, resolution, 3), np.uint8)
    for i in range(0, n, chunk):
        images[i : i + chunk] = render({k: v[i : i + chunk] for k, v in params.items()}, resolution)
    return images, mode_id(params["shape"], params["colour"]).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Classifier.


def _hue(rgb):
    """Hue angle in degrees [0, 360) of float RGB (…, 3)."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return np.degrees(np.arctan2(np.sqrt(3) * (g - b), 2 * r - g - b)) % 360


def _hue_dist(a, b):
    d = np.abs(a - b) % 360
    return np.minimum(d, 360 - d)


def classify(images, *, max_hue_error=25.0, min_iou=0.6):
    """int64 mode id of each uint8 NHWC RGB image, -1 where it fits no mode.

    Foreground = saturated pixels (chroma = max − min channel, relative to the foreground's own
    chroma); colour = the nearest prototype hue of the confident foreground (refused if farther
    than `max_hue_error` degrees or if the foreground's hues disagree); shape = the prototype with
    the best soft intersection-over-union when drawn in the foreground's bounding box (refused
    below `min_iou`).
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected NHWC RGB images, got shape {images.shape}")
    if images.shape[1] != images.shape[2] or not is_resolution(images.shape[1]):
        raise ValueError(
            f"expected square power-of-two images, got {images.shape[1]}x{images.shape[2]}"
        )
    out = np.full(len(images), -1, np.int64)
    for i in range(0, len(images), 1024):
        x = images[i : i + 1024].astype(np.float32)
        while x.shape[1] > 32:  # 32×32 is plenty to tell the modes apart, and much faster
            x = (x[:, 0::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 0::2] + x[:, 1::2, 1::2]) * 0.25
        out[i : i + 1024] = _classify_chunk(x, max_hue_error, min_iou)
    return out


def _classify_chunk(x, max_hue_error, min_iou):
    n, h, w, _ = x.shape
    chroma = x.max(-1) - x.min(-1)  # [n, h, w]
    flat = chroma.reshape(n, -1)
    # The foreground's chroma: a high percentile (the shape covers well over 5% of the image).
    fg_chroma = np.percentile(flat, 95, axis=1)
    # The background's chroma: the median (the shape covers less than half of the image).
    bg_chroma = np.median(flat, axis=1)
    ok = fg_chroma - bg_chroma >= 60
    soft = np.clip(
        (chroma - bg_chroma[:, None, None]) / np.maximum(fg_chroma - bg_chroma, 1)[:, None, None],
        0,
        1,
    )
    mask = soft > 0.5
    area = mask.reshape(n, -1).mean(1)
    ok &= (area > 0.04) & (area < 0.5)

    # Colour: hue of the confident foreground pixels.
    conf = soft > 0.8
    hue = _hue(x)
    hues = _hue(_COLOUR_RGB)
    # Circular mean of hue over the confident pixels, and its spread.
    rad = np.radians(hue)
    wsum = np.maximum(conf.reshape(n, -1).sum(1), 1)
    c = (np.cos(rad) * conf).reshape(n, -1).sum(1) / wsum
    s = (np.sin(rad) * conf).reshape(n, -1).sum(1) / wsum
    mean_hue = np.degrees(np.arctan2(s, c)) % 360
    concentration = np.sqrt(c * c + s * s)  # 1 = all the same hue
    d = _hue_dist(mean_hue[:, None], hues[None, :])
    colour = d.argmin(1)
    ok &= (d.min(1) <= max_hue_error) & (concentration > 0.9)

    # Shape: fit each prototype to the foreground's area and centroid; keep the best overlap.
    ok &= area > 0
    mass = np.maximum(soft.reshape(n, -1).sum(1), 1e-6)
    t = (np.arange(h, dtype=np.float32) + 0.5) / h
    mx = (soft * t[None, None, :]).reshape(n, -1).sum(1) / mass
    my = (soft * t[None, :, None]).reshape(n, -1).sum(1) / mass
    a = mass / (h * w)  # area in image units
    ious = []
    for k, (r, dy) in enumerate(
        ((np.sqrt(a / np.pi), 0.0), (np.sqrt(a / 4), 0.0), (np.sqrt(a / 2), -1 / 3))
    ):
        proto = _coverage(np.full(n, k), mx, my + dy * r, r, h)
        inter = np.minimum(proto, soft).reshape(n, -1).sum(1)
        union = np.maximum(proto, soft).reshape(n, -1).sum(1)
        ious.append(inter / np.maximum(union, 1e-6))
    ious = np.stack(ious, 1)
    shape = ious.argmax(1)
    ok &= ious.max(1) >= min_iou
    return np.where(ok, mode_id(shape, colour), -1)
