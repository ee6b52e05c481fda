"""pgan_tf.media.walk: the looping random walk of the interpolation video."""

import math
import os

import numpy as np
import pytest

from pgan_tf.media import walk

FIXTURE = os.path.join(
    os.path.dirname(__file__), "..", "fixtures", "media", "random_walk_scipy.npz"
)


def test_kernel_radius_and_weights_by_hand():
    k = walk.gaussian_kernel(1.0)  # radius int(4 * 1 + 0.5) = 4
    raw = [math.exp(-0.5 * j * j) for j in range(-4, 5)]
    np.testing.assert_allclose(k, np.array(raw) / sum(raw), rtol=1e-15)
    assert len(walk.gaussian_kernel(15.0)) == 2 * 60 + 1
    np.testing.assert_array_equal(walk.gaussian_kernel(0.0), [1.0])


def test_impulse_wraps_around_by_hand():
    x = np.zeros(5, np.float32)
    x[0] = 1
    raw = {j: math.exp(-0.5 * j * j) for j in range(-4, 5)}
    total = sum(raw.values())
    # out[i] = sum_k w[k] x[(i + k) mod 5]: only i + k = 0 (mod 5) hits the impulse.
    expected = [sum(w for j, w in raw.items() if (i + j) % 5 == 0) / total for i in range(5)]
    got = walk.periodic_gaussian_filter(x, 1.0)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert expected[0] == pytest.approx(raw[0] / total)
    assert expected[1] == pytest.approx((raw[-1] + raw[4]) / total)


def test_kernel_longer_than_the_signal_keeps_wrapping():
    folded = walk.periodic_kernel(3.0, 4)  # 25 taps on a circle of 4
    k = walk.gaussian_kernel(3.0)
    assert folded[0] == pytest.approx(sum(k[j + 12] for j in range(-12, 13) if j % 4 == 0))
    assert folded.sum() == pytest.approx(1.0)
    const = np.full((4, 3), 2.5, np.float32)
    np.testing.assert_allclose(walk.periodic_gaussian_filter(const, 3.0), const, rtol=1e-6)


def test_filter_acts_only_along_the_axis():
    x = np.random.RandomState(0).randn(3, 9, 2).astype(np.float32)
    got = walk.periodic_gaussian_filter(x, 2.0, axis=1)
    for a in range(3):
        for c in range(2):
            np.testing.assert_allclose(got[a, :, c], walk.periodic_gaussian_filter(x[a, :, c], 2.0))


@pytest.mark.parametrize("name", ["loop", "short"])
def test_random_walk_equals_scipy_reference(name):
    """Fixture made in scratch with scipy 1.17.1: RandomState(seed).randn(frames, cells, latent)
    as float32, scipy.ndimage.gaussian_filter(z, [sigma, 0, 0], mode='wrap'), divided by its RMS
    (the steps of the original's generate_interpolation_video)."""
    ref = np.load(FIXTURE)
    frames, cells, latent, sigma, seed = ref[name + "_args"]
    got = walk.random_walk_latents(
        np.random.RandomState(int(seed)), int(frames), int(cells), int(latent), sigma
    )
    assert got.dtype == np.float32 and got.shape == ref[name].shape
    np.testing.assert_allclose(got, ref[name], rtol=1e-5, atol=1e-6)
    assert np.sqrt(np.mean(np.square(got))) == pytest.approx(1.0, rel=1e-6)


def test_num_frames_and_bad_sizes():
    assert walk.num_frames(2, 15) == 30 and walk.num_frames(60, 30) == 1800
    with pytest.raises(ValueError, match="at least one frame"):
        walk.random_walk_latents(np.random.RandomState(0), 0, 1, 4, 1.0)
