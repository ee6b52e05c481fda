"""The decoding policy on single images: accepted modes and sizes, transforms, one-line errors."""

import io

import numpy as np
import PIL.Image
import pytest

from pgan_tf.data import decoding
from pgan_tf.data.tfrecord_format import DatasetError


def _png(array, path=None, mode=None):
    target = path or io.BytesIO()
    PIL.Image.fromarray(array, mode).save(target, "PNG")
    if path is None:
        target.seek(0)
    return target


def test_decode_a_file_and_bytes_unchanged_without_a_transform(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    path = str(tmp_path / "a.png")
    _png(rgb, path)
    np.testing.assert_array_equal(decoding.decode(path, path, decoding.Transform()), rgb)
    gray = rgb[..., 0]
    out = decoding.decode(_png(gray), "mem", decoding.Transform())
    assert out.shape == (8, 8, 1) and np.array_equal(out[..., 0], gray)
    assert decoding.read_header(path) == (8, 8, "RGB", "RGB")


def test_centre_crop_resize_and_convert():
    img = np.zeros((8, 12, 3), np.uint8)
    img[:, 2:10] = 255  # the centred 8x8 square is white, the side bands black
    crop = decoding.decode(_png(img), "x", decoding.Transform("center-crop"))
    assert crop.shape == (8, 8, 3) and crop.min() == 255
    to_gray_4 = decoding.Transform("center-crop", resolution=4, convert="gray")
    small = decoding.decode(_png(img), "x", to_gray_4)
    assert small.shape == (4, 4, 1) and small.min() == 255


def test_refusals_name_the_image():
    not_square = r"^x: image is 12x8, not square \(pass --transform center-crop\)$"
    with pytest.raises(DatasetError, match=not_square):
        decoding.decode(_png(np.zeros((8, 12, 3), np.uint8)), "x", decoding.Transform())
    rgba = np.zeros((8, 8, 4), np.uint8)
    with pytest.raises(DatasetError, match=r"^x: image has an alpha channel \(RGBA\); .*--convert"):
        decoding.decode(_png(rgba), "x", decoding.Transform())
    assert decoding.decode(_png(rgba), "x", decoding.Transform(convert="rgb")).shape == (8, 8, 3)
    deep = io.BytesIO()
    PIL.Image.fromarray(np.full((8, 8), 513, np.uint16)).save(deep, "PNG")
    deep.seek(0)
    with pytest.raises(DatasetError, match=r"^x: 16-bit image"):
        decoding.decode(deep, "x", decoding.Transform())
    deep.seek(0)
    assert decoding.decode(deep, "x", decoding.Transform(convert="gray")).max() == 513 >> 8
    with pytest.raises(DatasetError, match=r"^x: not an image file"):
        decoding.decode(io.BytesIO(b"not an image"), "x", decoding.Transform())
    with pytest.raises(DatasetError, match=r"^--resolution: must be a power of two >= 4, got 6$"):
        decoding.Transform(resolution=6)
