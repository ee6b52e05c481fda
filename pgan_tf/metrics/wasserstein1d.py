"""Exact 1-D Wasserstein-1 distance between two equal-size samples, without sorting them.

For two samples of M values, mean |sort(a) − sort(b)| equals (1/M) ∫ |N_a(t) − N_b(t)| dt, with
N the number of values ≤ t. The values are cut into uniform bins: in a bin where D = N_a − N_b
keeps one sign, ∫ D over the bin follows from the bin's counts and value sums (two bincounts per
sample); only bins where D may change sign, and the two open-ended bins that take the far
tails, are integrated from their values one by one, in order. The sliced Wasserstein distance
of the paper sorts both samples per direction (the original: np.sort, O(M log M)); this gives
the same number in linear time (measured by benchmarks/metrics.py).
"""

import numpy as np

MAX_BINS = 1 << 18
VALUES_PER_BIN = 8  # bins ≈ M / 8: a handful of values per bin, the tables stay in cache
# The binned range is the samples' [min, max], narrowed to mean ± TAIL_SIGMAS·std so that a few
# far outliers do not widen every bin; values outside fall in the two open-ended bins.
TAIL_SIGMAS = 8.0
_SUBSAMPLE = 16  # every 16th value estimates the mean and std


def _binned_range(a, b, shift_a, shift_b):
    """(lo, hi, min, max) of the values of a − shift_a and b − shift_b: [lo, hi] is the range
    cut into uniform bins."""
    vmin = min(float(a.min()) - shift_a, float(b.min()) - shift_b)
    vmax = max(float(a.max()) - shift_a, float(b.max()) - shift_b)
    sample = np.concatenate(
        [a[::_SUBSAMPLE].astype(np.float64) - shift_a, b[::_SUBSAMPLE].astype(np.float64) - shift_b]
    )
    centre, spread = sample.mean(), sample.std()
    lo = max(vmin, centre - TAIL_SIGMAS * spread)
    hi = min(vmax, centre + TAIL_SIGMAS * spread)
    return lo, hi, vmin, vmax


def _place(x, origin, scale, num_bins):
    """Positions (float64, in bin widths from origin) and bin ids of x's values.

    Bin 0 holds the values below origin, bin i (1..num_bins) the positions [i−1, i), bin
    num_bins+1 the values from num_bins on; so sorting by position also groups by bin.
    """
    pos = x.astype(np.float64)
    pos -= origin
    pos *= scale
    shifted = pos + 1.0
    np.clip(shifted, 0.0, num_bins + 1.0, out=shifted)
    return pos, shifted.astype(np.intp)


def _mixed_bins_area(left, ids, pos, step, num_bins):
    """∫ |D| over the listed bins, from their values: D starts at left[bin] at the bin's left
    edge and moves by step (+1 for a, −1 for b) at each value's position."""
    if ids.size == 0:
        return 0.0
    order = np.argsort(pos)  # positions order the bins too (see _place)
    ids, pos, step = ids[order], pos[order], step[order]
    first = np.empty(ids.size, bool)
    first[0] = True
    first[1:] = ids[1:] != ids[:-1]
    last = np.empty(ids.size, bool)
    last[-1] = True
    last[:-1] = first[1:]
    so_far = np.cumsum(step)
    after = left[ids] + so_far - (so_far - step)[first][np.cumsum(first) - 1]
    nxt = np.empty(ids.size)
    nxt[:-1] = pos[1:]
    # A bin's right edge is its id in position units; D is 0 beyond the last value.
    nxt[last] = np.where(ids[last] > num_bins, pos[last], ids[last])
    area = np.abs(after) * np.maximum(nxt - pos, 0.0)
    start = np.maximum(pos[first] - (ids[first] - 1), 0.0)
    return float(np.sum(area) + np.sum(np.abs(left[ids[first]]) * start))


def default_num_bins(size):
    """Bins for samples of `size` values: a power of two near size / VALUES_PER_BIN, at most
    MAX_BINS, at least 64."""
    return int(min(MAX_BINS, max(64, 1 << int(size // VALUES_PER_BIN).bit_length())))


def wasserstein1(a, b, shift_a=0.0, shift_b=0.0, num_bins=None):
    """mean |sort(a − shift_a) − sort(b − shift_b)| of two float32 1-D samples of equal size.

    Equal to sorting up to float64 rounding.
    """
    a = np.asarray(a, np.float32).ravel()
    b = np.asarray(b, np.float32).ravel()
    if a.shape != b.shape or a.size == 0:
        raise ValueError(
            f"wasserstein1 needs two non-empty samples of equal size, got {a.size} and {b.size}"
        )
    shift_a, shift_b = float(shift_a), float(shift_b)
    num_bins = default_num_bins(a.size) if num_bins is None else int(num_bins)
    lo, hi, vmin, vmax = _binned_range(a, b, shift_a, shift_b)
    if vmax <= vmin:
        return 0.0
    if hi <= lo:
        lo, hi = vmin, vmax
    # just under num_bins / (hi − lo): hi itself lands in the last regular bin, not past it
    scale = num_bins * (1.0 - 2.0**-20) / (hi - lo)
    pos_a, ids_a = _place(a, lo + shift_a, scale, num_bins)
    pos_b, ids_b = _place(b, lo + shift_b, scale, num_bins)
    size = num_bins + 2
    count_a = np.bincount(ids_a, minlength=size)
    count_b = np.bincount(ids_b, minlength=size)
    diff = count_a - count_b
    left = np.zeros(size, np.int64)
    np.cumsum(diff[:-1], out=left[1:])  # D at each bin's left edge
    right_edge = np.arange(size, dtype=np.float64)
    # ∫ D over bin i = left + Σ_a (i − pos) − Σ_b (i − pos)
    integral = (
        left
        + diff * right_edge
        - (
            np.bincount(ids_a, weights=pos_a, minlength=size)
            - np.bincount(ids_b, weights=pos_b, minlength=size)
        )
    )
    positive = left - count_b >= 0
    negative = left + count_a <= 0
    mixed = ~(positive | negative)
    mixed[0] = mixed[-1] = True
    regular = ~mixed
    area = float(np.sum(np.abs(integral[regular])))
    keep_a = np.flatnonzero(mixed[ids_a])
    keep_b = np.flatnonzero(mixed[ids_b])
    area += _mixed_bins_area(
        left,
        np.concatenate([ids_a[keep_a], ids_b[keep_b]]),
        np.concatenate([pos_a[keep_a], pos_b[keep_b]]),
        np.concatenate([np.ones(keep_a.size, np.int64), -np.ones(keep_b.size, np.int64)]),
        num_bins,
    )
    return area / scale / a.size
