"""SWD's descriptors: where each 7×7 patch is cut (a pure function of seed, level, image and
patch index, so batching changes nothing and both sets share positions), the cut itself with its
per-channel sums, the original's descriptor column order, and the per-channel statistics the
normalization of paper §5 uses."""

import numpy as np

from pgan_tf.metrics.swd_kernels import cut_patches

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(x):
    """SplitMix64 finalizer on a uint64 array: a cheap, well-mixed counter-based hash."""
    with np.errstate(over="ignore"):
        z = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK64
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK64
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK64
        return z ^ (z >> np.uint64(31))


def patch_corners(seed, level, first_image, num_images, patches_per_image, size, patch_size=7):
    """Top-left corners [num_images, patches_per_image, 2] (y, x) in [0, size − patch_size].

    Equivalent to centres uniform in [p//2, size − p//2) as in the original; a pure function of
    (seed, level, global image index, patch index), so batching does not change it.
    """
    span = size - patch_size + 1
    if span <= 0:
        raise ValueError(f"patch size {patch_size} does not fit a {size}² pyramid level")
    key = _splitmix64(np.array([seed], np.uint64))
    key = _splitmix64(key ^ np.uint64(level))
    counter = np.arange(
        first_image * patches_per_image * 2,
        (first_image + num_images) * patches_per_image * 2,
        dtype=np.uint64,
    )
    with np.errstate(over="ignore"):
        bits = _splitmix64((key + counter) & _MASK64)
    corners = (bits % np.uint64(span)).astype(np.int32)
    return corners.reshape(num_images, patches_per_image, 2)


def _cut(level_images, corners, patch_size, out=None):
    """Cuts patch_size² × C patches at the given corners → (descriptors [N·P, C·patch_size²]
    float32, each row in (channel, y, x) order; per-channel (sum, sum of squares) [C, 2]).

    level_images: float NCHW [N, C, S, S]; corners: int [N, P, 2] top-left (y, x);
    out: optional float32 array of that shape to write into.
    """
    level_images = np.asarray(level_images, np.float32)
    corners = np.asarray(corners)
    n, c, h, w = level_images.shape
    if corners.ndim != 3 or corners.shape[0] != n or corners.shape[2] != 2:
        raise ValueError(f"corners must be [{n}, P, 2], got shape {corners.shape}")
    if corners.size and (
        corners.min() < 0
        or corners[..., 0].max() > h - patch_size
        or corners[..., 1].max() > w - patch_size
    ):
        raise ValueError(f"patch corners must lie in [0, size − {patch_size}] of {h}×{w}")
    shape = (n * corners.shape[1], c * patch_size * patch_size)
    if out is None:
        out = np.empty(shape, np.float32)
    elif out.shape != shape or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float32 array of shape {shape}")
    return out, cut_patches(level_images, corners, patch_size, out)


def channel_order(num_channels, patch_size=7):
    """Row permutation from this module's (channel, y, x) descriptor order to the original's
    (y, x, channel) one: descriptor column i holds the original's column order[i]."""
    return np.arange(patch_size * patch_size * num_channels).reshape(-1, num_channels).T.ravel()


class ChannelStats:
    """Per-channel count, mean and M2 (sum of squared deviations) of descriptor chunks, merged
    chunk by chunk in float64 (Chan et al.'s parallel update)."""

    def __init__(self, num_channels):
        self.count = 0
        self.mean = np.zeros(num_channels)
        self.m2 = np.zeros(num_channels)

    def add(self, desc):
        """Adds a [rows, C·k] float32 chunk in (channel, …) order."""
        if desc.shape[0] == 0:
            return
        per = desc.reshape(desc.shape[0], self.mean.size, -1)
        chunk = ChannelStats(self.mean.size)
        chunk.count = per.shape[0] * per.shape[2]
        chunk.mean = per.sum(axis=(0, 2), dtype=np.float64) / chunk.count
        centred = per - chunk.mean.astype(np.float32)[None, :, None]
        chunk.m2 = np.einsum("ick,ick->c", centred, centred, dtype=np.float64)
        self.merge(chunk)

    def add_sums(self, count, sums):
        """Adds `count` values per channel given their float64 (sum, sum of squares) [C, 2]."""
        if count == 0:
            return
        chunk = ChannelStats(self.mean.size)
        chunk.count = count
        chunk.mean = sums[:, 0] / count
        chunk.m2 = np.maximum(sums[:, 1] - sums[:, 0] * chunk.mean, 0.0)
        self.merge(chunk)

    def merge(self, other):
        """Adds the values summarized by another ChannelStats."""
        total = self.count + other.count
        if other.count == 0:
            return
        delta = other.mean - self.mean
        self.m2 = self.m2 + other.m2 + delta * delta * self.count * other.count / total
        self.mean = self.mean + delta * other.count / total
        self.count = total

    def std(self):
        """Population std per channel; a channel with zero spread gets 1 (it is only centred;
        the original would divide by zero)."""
        std = np.sqrt(self.m2 / max(self.count, 1))
        return np.where(std > 0, std, 1.0)
