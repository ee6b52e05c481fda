"""pgan_tf.media.text: white labels with a dark glow, placed by their alignment point."""

import numpy as np

from pgan_tf.media import text


def test_label_is_white_on_dark_glow_and_aligned():
    img = np.full((120, 300, 3), 128, np.uint8)
    out = text.draw_label(img, "lod 1.00", 16, 116, alignx=0.0, aligny=1.0)
    changed = np.argwhere(np.any(out != img, axis=-1))
    alpha, glow = text.label_masks("lod 1.00")
    h, w = alpha.shape
    assert changed[:, 0].max() < 116 and changed[:, 0].min() >= 116 - h
    assert changed[:, 1].min() >= 16 and changed[:, 1].max() < 16 + w
    assert out.max() == 255 and out.min() < 40  # letters white, glow darkens the grey
    assert 0 < alpha.max() <= 1 and np.all((glow >= 0) & (glow <= 1))
    np.testing.assert_array_equal(img, 128)  # the input is not drawn on


def test_label_is_clipped_at_the_edges():
    img = np.zeros((20, 20, 3), np.uint8)
    out = text.draw_label(img, "12 kimg", 20, 20, alignx=0.5, aligny=0.5)
    assert out.shape == img.shape and out.max() > 0
    np.testing.assert_array_equal(text.draw_label(img, "x", 500, 500), img)
