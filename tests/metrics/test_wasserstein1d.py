"""The binned 1-D Wasserstein-1 distance equals sorting both samples, on hard cases too."""

import numpy as np
import pytest

from pgan_tf.metrics import wasserstein1d
from pgan_tf.metrics.wasserstein1d import (
    default_num_bins,
    wasserstein1,
    wasserstein1_rows,
)


def _sorted(a, b, shift_a=0.0, shift_b=0.0):
    """The plain reference: sort both samples (float64) and average the gaps."""
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
    if kind == "shared":  # half of b's values are exactly values of a: ties across samples
        a = rng.normal(size=m)
        b = rng.normal(size=m)
        b[: m // 2] = a[rng.permutation(m)[: m // 2]]
        return a, b
    if kind == "outliers":  # far beyond the binned range (mean ± 8 std of a subsample)
        a, b = rng.normal(size=m), rng.normal(size=m)
        a[::97] = 1e4
        b[::89] = -3e3
        b[1::101] = 5e5
        return a, b
    if kind == "peaked":  # most values in one bin, a few spread: one large run to sort
        a, b = rng.normal(size=m) * 1e-4, rng.normal(size=m) * 1e-4
        a[::50] = rng.normal(size=a[::50].size) * 10
        b[::50] = rng.normal(size=b[::50].size) * 10
        return a, b
    if kind == "interleaved":  # D steps 0, 1, 0, 1, ...: each value its own sub-bin, one-signed
        a = 2.0 * rng.permutation(m)
        return a, a + 1.0
    raise ValueError(kind)


KINDS = ["same", "shifted", "heavy", "ties", "shared", "outliers", "peaked", "interleaved"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("m", [1, 2, 3, 7, 1000, 60001])
def test_equals_sorting(kind, m):
    rng = np.random.default_rng(m)
    a, b = (x.astype(np.float32) for x in _samples(kind, m, rng))
    want = _sorted(a, b)
    for bins in (None, 1, 5, 4 * m):
        assert wasserstein1(a, b, num_bins=bins) == pytest.approx(want, rel=2e-7, abs=1e-12)


def test_a_crowded_bin_is_integrated_by_sub_bins_exactly():
    """One bin holding every value (num_bins=1) goes through the sub-bins: interleaved samples
    give 1 (to rounding), and a sample against a reversed copy of itself exactly 0."""
    a = (2.0 * np.random.default_rng(0).permutation(4099)).astype(np.float32)
    assert wasserstein1(a, a + np.float32(1.0), num_bins=1) == pytest.approx(1.0, rel=1e-12)
    assert wasserstein1(a, a[::-1].copy(), num_bins=1) == 0.0


def test_rows_equal_sorting_each_row_with_its_shifts():
    rng = np.random.default_rng(0)
    a = np.stack([x.astype(np.float32) for k in KINDS for x in _samples(k, 5003, rng)[:1]])
    b = np.stack([x.astype(np.float32) for k in KINDS for x in _samples(k, 5003, rng)[1:]])
    shift_a = rng.normal(size=a.shape[0]) * 3
    shift_b = rng.normal(size=a.shape[0]) * 3
    got = wasserstein1_rows(a, b, shift_a, shift_b)
    want = [_sorted(x, y, sx, sy) for x, y, sx, sy in zip(a, b, shift_a, shift_b)]
    np.testing.assert_allclose(got, want, rtol=2e-7)
    assert wasserstein1_rows(a[:0], b[:0]).shape == (0,)


def test_shifts_are_subtracted_exactly_enough():
    rng = np.random.default_rng(0)
    a = (rng.normal(size=20000) * 3 + 1000).astype(np.float32)
    b = (rng.normal(size=20000) * 3 + 1000).astype(np.float32)
    want = _sorted(a, b, 1000.123456789, 999.987654321)
    assert wasserstein1(a, b, 1000.123456789, 999.987654321) == pytest.approx(want, rel=1e-9)


def test_identical_and_constant_samples_give_exactly_zero():
    x = np.random.default_rng(0).normal(size=5000).astype(np.float32)
    assert wasserstein1(x, x.copy()) == 0.0
    assert wasserstein1(x, x[::-1].copy()) == 0.0
    assert wasserstein1(x, x.copy(), 0.25, 0.25) == 0.0
    assert wasserstein1(np.full(4, 2.0, np.float32), np.full(4, 2.0, np.float32)) == 0.0
    assert wasserstein1(np.zeros(4, np.float32), np.full(4, 0.5, np.float32)) == 0.5
    ties = np.round(x * 2)
    assert wasserstein1(ties, np.random.default_rng(1).permutation(ties)) == 0.0


def test_a_translation_moves_the_distance_by_its_size():
    x = np.random.default_rng(0).normal(size=30000).astype(np.float32)
    assert wasserstein1(x, x, 0.0, 0.125) == pytest.approx(0.125, rel=1e-12)
    assert wasserstein1(x, x + np.float32(2.0)) == pytest.approx(2.0, rel=1e-6)


def test_default_bins_follow_the_sample_size():
    assert default_num_bins(10) == 64
    assert default_num_bins(80000) == 8192
    assert default_num_bins(16384 * 128) == wasserstein1d.MAX_BINS


def test_bad_input():
    with pytest.raises(ValueError, match="equal size"):
        wasserstein1(np.zeros(3, np.float32), np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="non-empty"):
        wasserstein1(np.zeros(0, np.float32), np.zeros(0, np.float32))
    with pytest.raises(ValueError, match="not finite"):
        wasserstein1(np.array([0.0, np.nan], np.float32), np.zeros(2, np.float32))
    for bins in (0, 1 << 30):  # the passes hold bins as int32
        with pytest.raises(ValueError, match=r"num_bins must be in \[1, 2\^30\)"):
            wasserstein1(np.zeros(3, np.float32), np.zeros(3, np.float32), num_bins=bins)
    with pytest.raises(ValueError, match=r"\[K, M\]"):
        wasserstein1_rows(np.zeros(3, np.float32), np.zeros(3, np.float32))
