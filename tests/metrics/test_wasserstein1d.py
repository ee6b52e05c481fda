"""The binned 1-D Wasserstein-1 distance equals sorting both samples, on hard cases too."""

import numpy as np
import pytest

from pgan_tf.metrics.wasserstein1d import default_num_bins, wasserstein1


def _sorted(a, b, shift_a=0.0, shift_b=0.0):
    a = np.asarray(a, np.float64) - shift_a
    b = np.asarray(b, np.float64) - shift_b
    return float(np.mean(np.abs(np.sort(a) - np.sort(b))))


def _samples(kind, m, rng):
    if kind == "same":
        return rng.laplace(size=m), rng.laplace(size=m)
    if kind == "shifted":
        return rng.normal(size=m), rng.normal(size=m) + 0.05
    if kind == "heavy":
        return rng.standard_cauchy(m), rng.standard_t(2, m)
    if kind == "ties":
        return np.round(rng.normal(size=m) * 3), np.round(rng.normal(size=m) * 3)
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["same", "shifted", "heavy", "ties"])
@pytest.mark.parametrize("m", [1, 2, 7, 1000, 60000])
def test_equals_sorting(kind, m):
    rng = np.random.default_rng(m)
    a, b = (x.astype(np.float32) for x in _samples(kind, m, rng))
    want = _sorted(a, b)
    for bins in (None, 1, 5):
        assert wasserstein1(a, b, num_bins=bins) == pytest.approx(want, rel=2e-6, abs=1e-9)


def test_shifts_are_subtracted_exactly_enough():
    rng = np.random.default_rng(0)
    a = (rng.normal(size=20000) * 3 + 1000).astype(np.float32)
    b = (rng.normal(size=20000) * 3 + 1000).astype(np.float32)
    want = _sorted(a, b, 1000.123456789, 999.987654321)
    assert wasserstein1(a, b, 1000.123456789, 999.987654321) == pytest.approx(want, rel=1e-5)


def test_identical_and_constant_samples():
    x = np.random.default_rng(0).normal(size=5000).astype(np.float32)
    assert wasserstein1(x, x.copy()) == 0.0
    assert wasserstein1(x, x[::-1].copy()) == 0.0
    assert wasserstein1(np.full(4, 2.0, np.float32), np.full(4, 2.0, np.float32)) == 0.0
    assert wasserstein1(np.zeros(4, np.float32), np.full(4, 0.5, np.float32)) == 0.5


def test_default_bins_follow_the_sample_size():
    assert default_num_bins(10) == 64
    assert default_num_bins(80000) == 16384
    assert default_num_bins(16384 * 128) == 1 << 18


def test_bad_input():
    with pytest.raises(ValueError, match="equal size"):
        wasserstein1(np.zeros(3, np.float32), np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="non-empty"):
        wasserstein1(np.zeros(0, np.float32), np.zeros(0, np.float32))
