"""CelebA-HQ's image procedure (paper appendix C), one pure function per step, as the original
`dataset_tool.py create_celebahq` does it: an oriented crop rectangle from the five landmarks,
shrink, crop with a border, simulated super-resolution (upscale), reflect-pad with blur and
median blend, quad transform to 4096² and resize to 1024².

The original ran under NumPy 1.x, whose scalar promotion differs from NumPy 2's (NEP 50): a
float32 scalar times a Python number was float64, a float32 array times any scalar stayed
float32. Each step states its dtypes so the results are those of NumPy 1.x on either version.
An image travels as (PIL image, quad float32 [4, 2] in its pixels, zoom float64 = output pixels
per image pixel).
"""

import operator

import numpy as np

OUT_SIZE = 1024  # the final resolution
TRANSFORM_SIZE = 4096  # the quad is first sampled at 4x, then resized (antialiased)
F32 = np.float32


def _rot90(v):
    return np.array([-v[1], v[0]], dtype=F32)


def parse_landmarks(text, where="list_landmarks_celeba.txt"):
    """(names, float32 [n, 5, 2]) of CelebA's landmark file: a count line, a header line, then
    `<file> lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x ...` rows."""
    from pgan_tf.data.tfrecord_format import DatasetError

    names, values = [], []
    for number, line in enumerate(text.splitlines()[2:], start=3):
        parts = line.split()
        if not parts:
            continue
        try:
            if len(parts) != 11:
                raise ValueError
            values.append([float(v) for v in parts[1:]])
        except ValueError:
            raise DatasetError(
                f"{where}: line {number}: expected a file name and 10 numbers, got {line.strip()!r}"
            ) from None
        names.append(parts[0])
    return names, np.array(values, dtype=F32).reshape(-1, 5, 2)


def oriented_quad(landmarks):
    """(quad float32 [4, 2], zoom float64) of one face: the square around the eyes and mouth,
    oriented by them, as corners (top-left, bottom-left, bottom-right, top-right)."""
    lm = np.asarray(landmarks, dtype=F32)
    eye_avg = (lm[0] + lm[1]) * F32(0.5) + F32(0.5)
    mouth_avg = (lm[3] + lm[4]) * F32(0.5) + F32(0.5)
    eye_to_eye = lm[1] - lm[0]
    eye_to_mouth = mouth_avg - eye_avg
    x = eye_to_eye - _rot90(eye_to_mouth)
    x = x / np.hypot(x[0], x[1])
    # NumPy 1.x: float32 scalar * Python float is float64; float32 array * scalar is float32.
    scale = max(float(np.hypot(*eye_to_eye)) * 2.0, float(np.hypot(*eye_to_mouth)) * 1.8)
    x = x * F32(scale)
    y = _rot90(x)
    c = eye_avg + eye_to_mouth * F32(0.1)
    quad = np.stack([c - x - y, c - x + y, c + x + y, c + x - y])
    zoom = OUT_SIZE / (float(np.hypot(*x)) * 2)
    return quad, zoom


def shrink(img, quad, zoom):
    """Halves (or more) a much too large image with an antialiased resize: factor
    floor(0.5 / zoom) when it is at least 2."""
    import PIL.Image

    factor = int(np.floor(0.5 / zoom))
    if factor <= 1:
        return img, quad, zoom
    size = tuple(int(np.round(float(s) / factor)) for s in img.size)
    return img.resize(size, PIL.Image.LANCZOS), quad / F32(factor), zoom * factor


def border_of(zoom):
    """The margin kept around the quad: 10% of the output in image pixels, at least 3."""
    return max(int(np.round(OUT_SIZE * 0.1 / zoom)), 3)


def _bounds(quad):
    return (
        int(np.floor(min(quad[:, 0]))),
        int(np.floor(min(quad[:, 1]))),
        int(np.ceil(max(quad[:, 0]))),
        int(np.ceil(max(quad[:, 1]))),
    )


def crop(img, quad, border):
    """Crops to the quad's bounding box plus the border, clipped to the image (if smaller)."""
    left, top, right, bottom = _bounds(quad)
    box = (
        max(left - border, 0),
        max(top - border, 0),
        min(right + border, img.size[0]),
        min(bottom + border, img.size[1]),
    )
    if box[2] - box[0] < img.size[0] or box[3] - box[1] < img.size[1]:
        img = img.crop(box)
        quad = quad - np.array(box[:2], dtype=F32)  # exact: the same as NumPy's float64 sum
    return img, quad


def upscale(img, quad, zoom):
    """The simulated super-resolution: an antialiased resize by 2**ceil(log2(zoom)) if > 1."""
    import PIL.Image

    factor = int(np.exp2(np.ceil(np.log2(zoom))))
    if factor <= 1:
        return img, quad, zoom
    size = (img.size[0] * factor, img.size[1] * factor)
    return img.resize(size, PIL.Image.LANCZOS), quad * F32(factor), zoom / factor


def padding_of(img_size, quad, zoom, border):
    """(left, top, right, bottom) reflect padding, or None when the quad leaves the image by at
    most border - 4 pixels. `border` is the crop's: in the original it is not recomputed after
    the upscale, so an upscaled image is padded only where the quad leaves it by more than the
    old border - 4 (image pixels after the upscale)."""
    left, top, right, bottom = _bounds(quad)
    pad = (
        max(-left + border, 0),
        max(-top + border, 0),
        max(right - img_size[0] + border, 0),
        max(bottom - img_size[1] + border, 0),
    )
    if max(pad) <= border - 4:
        return None
    return tuple(int(p) for p in np.maximum(pad, int(np.round(OUT_SIZE * 0.3 / zoom))))


def pad_mask(height, width, pad):
    """float32 [h, w, 1]: 1 at the padded image's edge, falling linearly to <= 0 at the original
    image's edge (distance over each side's padding)."""
    left, top, right, bottom = pad
    y, x = np.mgrid[:height, :width]
    x, y = x.astype(F32), y.astype(F32)
    near = np.minimum(
        np.minimum(x / F32(left), y / F32(top)),
        np.minimum((F32(width - 1) - x) / F32(right), (F32(height - 1) - y) / F32(bottom)),
    )
    return (F32(1) - near)[:, :, None]


def reflect_pad(img, quad, zoom, border):
    """Reflect-pads where the quad leaves the image, then blurs the padding (Gaussian, sigma 2%
    of the output in image pixels, fully 2/3 of the way out) and blends it towards the image's
    per-channel median (linearly to the edge)."""
    import PIL.Image
    import scipy.ndimage

    pad = padding_of(img.size, quad, zoom, border)
    if pad is None:
        return img, quad
    left, top, right, bottom = pad
    x = np.pad(np.asarray(img, dtype=F32), ((top, bottom), (left, right), (0, 0)), "reflect")
    mask = pad_mask(x.shape[0], x.shape[1], pad)
    blur = OUT_SIZE * 0.02 / zoom
    x += (scipy.ndimage.gaussian_filter(x, [blur, blur, 0]) - x) * np.clip(
        mask * F32(3) + F32(1), F32(0), F32(1)
    )
    x += (np.median(x, axis=(0, 1)) - x) * np.clip(mask, F32(0), F32(1))
    img = PIL.Image.fromarray(np.clip(np.round(x), 0, 255).astype(np.uint8))
    return img, quad + np.array([left, top], dtype=F32)


class Float32Scalar(float):
    """A float32 value doing arithmetic as a NumPy 1.x float32 scalar: with another one the result
    is float32, with a Python number a float64 (plain float). The original handed Pillow's QUAD
    transform a float32 array, and Pillow computes the warp's coefficients from its corners with
    `+ - * /`: so they are computed here as they were then, on any NumPy."""

    def _apply(self, other, op, reverse=False):
        a, b = (other, self) if reverse else (self, other)
        if isinstance(other, Float32Scalar):
            return Float32Scalar(op(F32(a), F32(b)))
        return op(float(a), float(b))

    def __add__(self, other):
        return self._apply(other, operator.add)

    def __radd__(self, other):
        return self._apply(other, operator.add, True)

    def __sub__(self, other):
        return self._apply(other, operator.sub)

    def __rsub__(self, other):
        return self._apply(other, operator.sub, True)

    def __mul__(self, other):
        return self._apply(other, operator.mul)

    def __rmul__(self, other):
        return self._apply(other, operator.mul, True)

    def __truediv__(self, other):
        return self._apply(other, operator.truediv)

    def __rtruediv__(self, other):
        return self._apply(other, operator.truediv, True)

    def __neg__(self):
        return Float32Scalar(-float(self))


def quad_transform(img, quad):
    """uint8 CHW [3, 1024, 1024]: the quad sampled bilinearly to 4096², resized antialiased."""
    import PIL.Image

    corners = tuple(Float32Scalar(v) for v in (quad + F32(0.5)).flatten())
    img = img.transform(
        (TRANSFORM_SIZE, TRANSFORM_SIZE), PIL.Image.QUAD, corners, PIL.Image.BILINEAR
    )
    img = img.resize((OUT_SIZE, OUT_SIZE), PIL.Image.LANCZOS)
    return np.ascontiguousarray(np.asarray(img).transpose(2, 0, 1))


def process(img, landmarks, steps_taken=None):
    """uint8 CHW [3, 1024, 1024] of one CelebA photo (an RGB PIL image) and its five landmarks:
    the image before its delta is added (its md5 is image_list.txt's proc_md5).

    steps_taken, a list, receives the names of the steps that changed the image."""

    log = [] if steps_taken is None else steps_taken
    quad, zoom = oriented_quad(landmarks)
    before, (img, quad, zoom) = img, shrink(img, quad, zoom)
    _note(log, "shrink", before, img)
    border = border_of(zoom)  # once, as the original: the padding uses it after the upscale too
    before, (img, quad) = img, crop(img, quad, border)
    _note(log, "crop", before, img)
    before, (img, quad, zoom) = img, upscale(img, quad, zoom)
    _note(log, "upscale", before, img)
    before, (img, quad) = img, reflect_pad(img, quad, zoom, border)
    _note(log, "reflect_pad", before, img)
    return quad_transform(img, quad)


def _note(log, name, before, after):
    if after is not before:
        log.append(name)
