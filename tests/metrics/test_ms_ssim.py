"""Tests of MS-SSIM against an own NumPy implementation of the multi-scale SSIM definition."""

import numpy as np
import pytest

from pgan_tf.metrics.ms_ssim import (
    MS_SSIM_WEIGHTS,
    MSSSIMAccumulator,
    ms_ssim,
    ms_ssim_pairs,
    num_scales,
    scale_weights,
)


def _gauss_window(size=11, sigma=1.5):
    c = np.arange(size) - (size - 1) / 2.0
    g = np.exp(-(c[:, None] ** 2 + c[None, :] ** 2) / (2 * sigma**2))
    return g / g.sum()


def _filter_valid(x, w):
    """'valid' weighted local means of [H, W] with window w."""
    k = w.shape[0]
    h, wd = x.shape[0] - k + 1, x.shape[1] - k + 1
    out = np.zeros((h, wd))
    for dy in range(k):
        for dx in range(k):
            out += w[dy, dx] * x[dy : dy + h, dx : dx + wd]
    return out


def _np_ms_ssim(a, b, weights):
    """MS-SSIM of one pair of [H, W, C] images, per channel then averaged over channels."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    win = _gauss_window()
    scores = []
    for ch in range(a.shape[2]):
        x, y = a[:, :, ch].astype(np.float64), b[:, :, ch].astype(np.float64)
        factors = []
        for s in range(len(weights)):
            if s:
                if x.shape[0] % 2:
                    x = np.pad(x, ((0, 1), (0, 1)), mode="symmetric")
                    y = np.pad(y, ((0, 1), (0, 1)), mode="symmetric")
                x = 0.25 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2])
                y = 0.25 * (y[0::2, 0::2] + y[1::2, 0::2] + y[0::2, 1::2] + y[1::2, 1::2])
            mx, my = _filter_valid(x, win), _filter_valid(y, win)
            vx = _filter_valid(x * x, win) - mx**2
            vy = _filter_valid(y * y, win) - my**2
            cov = _filter_valid(x * y, win) - mx * my
            lum = (2 * mx * my + c1) / (mx**2 + my**2 + c1)
            cs = (2 * cov + c2) / (vx + vy + c2)
            factors.append(max(np.mean(lum * cs) if s == len(weights) - 1 else np.mean(cs), 0))
        scores.append(np.prod([f**w for f, w in zip(factors, weights)]))
    return float(np.mean(scores))


def _images(n, size, channels, seed):
    rng = np.random.default_rng(seed)
    base = rng.uniform(0, 255, (n, size // 4, size // 4, channels))
    up = np.repeat(np.repeat(base, 4, axis=1), 4, axis=2)
    return np.clip(up + rng.normal(0, 10, up.shape), 0, 255).astype(np.uint8)


def _noised(x, sigma, seed=1):
    rng = np.random.default_rng(seed)
    return np.clip(np.rint(x + rng.normal(0, sigma, x.shape)), 0, 255).astype(np.uint8)


def test_num_scales_and_weights():
    assert [num_scales(s) for s in (11, 16, 32, 64, 128, 176, 256, 1024)] == [
        1,
        1,
        2,
        3,
        4,
        5,
        5,
        5,
    ]
    assert scale_weights(5) == MS_SSIM_WEIGHTS
    w2 = scale_weights(2)
    assert sum(w2) == pytest.approx(1.0)
    assert w2[0] / w2[1] == pytest.approx(0.0448 / 0.2856)
    with pytest.raises(ValueError, match="at least 11"):
        num_scales(8)


@pytest.mark.parametrize("size,channels", [(32, 3), (64, 1), (176, 3)])
def test_matches_numpy_reference(size, channels):
    a = _images(2, size, channels, 0)
    b = _noised(a, 40)
    got = ms_ssim_pairs(a, b).numpy()
    weights = scale_weights(num_scales(size))
    want = [_np_ms_ssim(a[i], b[i], weights) for i in range(2)]
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-5)


def test_identical_pairs_give_one_and_noise_lowers_monotonically():
    a = _images(4, 64, 3, 0)
    np.testing.assert_allclose(ms_ssim_pairs(a, a).numpy(), 1.0, atol=1e-5)
    means = [float(np.mean(ms_ssim_pairs(a, _noised(a, s)).numpy())) for s in (5, 20, 60)]
    assert 1.0 > means[0] > means[1] > means[2]


def test_set_score_pairs_consecutive_images_and_streams():
    a = _images(6, 32, 3, 0)
    b = _noised(a, 25)
    pairs = np.empty((12, 32, 32, 3), np.uint8)
    pairs[0::2], pairs[1::2] = a, b
    want = float(np.mean(ms_ssim_pairs(a, b).numpy()))
    assert ms_ssim(pairs) == pytest.approx(want, rel=1e-6)
    assert ms_ssim([pairs[:3], pairs[3:8], pairs[8:]]) == pytest.approx(want, rel=1e-6)
    twins = np.repeat(a, 2, axis=0)  # every pair identical
    assert ms_ssim(twins, batch_size=5) == pytest.approx(1.0, abs=1e-5)


def test_needs_a_pair():
    acc = MSSSIMAccumulator()
    acc.add(_images(1, 32, 3, 0))
    with pytest.raises(ValueError, match="at least one pair"):
        acc.result()


def _tf_ms_ssim(a, b):
    """The previous implementation: tf.image.ssim_multiscale with the module's settings."""
    import tensorflow as tf

    weights = scale_weights(num_scales(min(a.shape[1], a.shape[2])))
    a, b = tf.cast(a, tf.float32), tf.cast(b, tf.float32)
    return tf.image.ssim_multiscale(a, b, 255.0, power_factors=weights).numpy()


def _structured(n, h, w, c, seed):
    """Smooth gradients and stripes with noise: every scale sees structure."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    phase = rng.uniform(0, 6, (n, 1, 1, c))
    base = 127 + 100 * np.sin(xx[None, :, :, None] / 3.0 + yy[None, :, :, None] / 7.0 + phase)
    return np.clip(base + rng.normal(0, 15, base.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    "h,w,c", [(32, 32, 3), (64, 64, 1), (128, 128, 3), (33, 33, 3), (45, 37, 2), (11, 11, 1)]
)
def test_equals_tf_ssim_multiscale(h, w, c):
    """Random pairs, structured pairs and slightly noised copies (MS-SSIM near 0, mid, near 1),
    including odd sizes (TF's padding before pooling) and the renormalized weights of < 5
    scales."""
    rng = np.random.default_rng(h * w + c)
    rand = rng.integers(0, 256, (3, h, w, c), dtype=np.uint8)
    smooth = _structured(3, h, w, c, 1)
    cases = [
        (rand, rng.integers(0, 256, rand.shape, dtype=np.uint8)),
        (smooth, _noised(smooth, 20)),
        (smooth, _structured(3, h, w, c, 2)),
        (rand, _noised(rand, 2)),
    ]
    for a, b in cases:
        np.testing.assert_allclose(ms_ssim_pairs(a, b).numpy(), _tf_ms_ssim(a, b), atol=1e-5)


def test_flat_regions_follow_the_definition_not_float32_cancellation():
    """A constant image against a step: TF's float32 E[x²] − μ² loses ~3e-5 of the score (its
    float64 _ssim_per_channel agrees with ours); ours equals the float64 definition."""
    a = np.full((1, 33, 33, 1), 200, np.uint8)
    b = a.copy()
    b[:, :16] = 10
    got = ms_ssim_pairs(a, b).numpy()
    want = _np_ms_ssim(a[0], b[0], scale_weights(num_scales(33)))
    np.testing.assert_allclose(got, want, rtol=1e-6)
    np.testing.assert_allclose(got, _tf_ms_ssim(a, b), atol=5e-5)
