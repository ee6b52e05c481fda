"""The compiled SWD loops equal their NumPy definitions: pyramid step, patch cutting, projection."""

import numpy as np
import pytest
from swd_reference import pyr_down, pyr_up

from pgan_tf.metrics.swd import compact_first_level
from pgan_tf.metrics.swd_kernels import cut_patches, project, pyramid_step


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("shape", [(3, 3, 32, 32), (2, 1, 16, 8), (1, 2, 4, 4)])
def test_pyramid_step_is_bit_identical_to_the_numpy_helpers(dtype, shape):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, shape).astype(dtype)
    band, down = pyramid_step(x)
    want_down = pyr_down(x.astype(np.float32))
    want_band = x.astype(np.float32) - pyr_up(want_down)
    assert band.dtype == down.dtype == np.float32
    np.testing.assert_array_equal(down, want_down)
    np.testing.assert_array_equal(band, want_band)


def test_first_level_of_uint8_images_is_exact_in_uint16():
    x = np.random.default_rng(0).integers(0, 256, (4, 3, 32, 32), dtype=np.uint8)
    x[0] = 255  # the largest value: 65280 / 256
    _, down = pyramid_step(x)
    compact = compact_first_level(down)
    assert compact.dtype == np.uint16 and compact.max() == 65280
    np.testing.assert_array_equal(compact.astype(np.float32) / 256, down)
    for got, want in zip(pyramid_step(compact, 1 / 256), pyramid_step(down)):
        np.testing.assert_array_equal(got, want)


def test_pyramid_step_rejects_odd_or_tiny_sizes():
    with pytest.raises(ValueError, match="even size"):
        pyramid_step(np.zeros((1, 1, 6, 5), np.float32))
    with pytest.raises(ValueError, match="even size"):
        pyramid_step(np.zeros((1, 1, 2, 2), np.float32))


def test_cut_patches_copies_patches_and_sums_each_channel():
    rng = np.random.default_rng(1)
    images = rng.normal(size=(3, 2, 12, 10)).astype(np.float32)
    corners = np.stack([rng.integers(0, 6, (3, 5)), rng.integers(0, 4, (3, 5))], axis=-1)
    out = np.empty((15, 2 * 49), np.float32)
    sums = cut_patches(images, corners, 7, out)
    want = np.stack(
        [images[i, :, y : y + 7, x : x + 7].ravel() for i in range(3) for y, x in corners[i]]
    )
    np.testing.assert_array_equal(out, want)
    per_channel = want.reshape(15, 2, 49).astype(np.float64)
    np.testing.assert_allclose(sums[:, 0], per_channel.sum(axis=(0, 2)), rtol=1e-12)
    np.testing.assert_allclose(sums[:, 1], (per_channel**2).sum(axis=(0, 2)), rtol=1e-12)


def test_project_lays_out_each_direction_contiguously():
    rng = np.random.default_rng(2)
    desc = rng.normal(size=(203, 147)).astype(np.float32)
    dirs = rng.normal(size=(147, 5)).astype(np.float32)
    out = np.empty((5, 203), np.float32)
    project(desc, dirs, out)
    np.testing.assert_allclose(out, (desc.astype(np.float64) @ dirs).T, rtol=1e-5, atol=1e-4)
    view = np.zeros((5, 300), np.float32)[:, 50:253]  # a strided destination
    project(desc, dirs, view)
    np.testing.assert_array_equal(view, out)
