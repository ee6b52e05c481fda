"""pgan_tf.media.frames: image_shrink, the fit to 1080p and the zoom of small grids."""

import numpy as np
import pytest

from pgan_tf.media import frames


def test_shrink_box_averages_and_rounds():
    img = np.array([[10, 20, 0, 0], [30, 41, 255, 254]], np.uint8).reshape(1, 2, 4, 1)
    out = frames.shrink(img, 2)
    # (10 + 20 + 30 + 41) / 4 = 25.25 -> 25; (0 + 0 + 255 + 254) / 4 = 127.25 -> 127
    np.testing.assert_array_equal(out[0, :, :, 0], [[25, 127]])
    assert frames.shrink(img, 1) is img
    with pytest.raises(ValueError, match="--shrink 3 does not divide the 4x2 images"):
        frames.shrink(img, 3)


def test_halve_to_fit_1080p():
    img = np.full((2160, 4096, 3), 7, np.uint8)
    img[0, 0] = 11
    out = frames.halve_to_fit(img)
    assert out.shape == (540, 1024, 3)  # 4096 > 1920 -> 2048 > 1920 -> 1024
    assert out[0, 0, 0] == 7  # (11 + 15 * 7) / 16 = 7.25
    small = np.zeros((100, 60, 3), np.uint8)
    np.testing.assert_array_equal(frames.halve_to_fit(small), small)


def test_zoom_to_height():
    img = np.arange(6, dtype=np.uint8).reshape(2, 3, 1)
    out = frames.zoom_to_height(img, 5)  # factor ceil(5 / 2) = 3
    assert out.shape == (6, 9, 1) and out[5, 8, 0] == 5
    assert frames.zoom_to_height(img, 2) is img
