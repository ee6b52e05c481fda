"""NumPy references of the SWD pyramid and descriptors, for the tests only: the same arithmetic
as the compiled kernels of `pgan_tf.metrics.swd_kernels` (bit for bit) and the descriptor layout
and normalization of the original's `sliced_wasserstein.py`, written plainly so the fast path
has something to equal."""

import functools

import numpy as np

from pgan_tf.metrics.swd_patches import ChannelStats, _cut

_BINOMIAL_1D = np.array([1.0, 4.0, 6.0, 4.0, 1.0])


def binomial_kernel():
    """The 5×5 binomial blur kernel [1 4 6 4 1]ᵀ[1 4 6 4 1] / 256 of the paper's pyramid."""
    return (np.outer(_BINOMIAL_1D, _BINOMIAL_1D) / 256.0).astype(np.float32)


def _along(axis, ndim, index):
    """An index tuple that applies `index` (a slice or int) on one axis."""
    return (slice(None),) * axis + (index,)


def _down_axis(x, axis):
    """Binomial blur along one axis (mirror padding without edge repeat), keeping even samples.

    out[i] = (x[2i−2] + 4x[2i−1] + 6x[2i] + 4x[2i+1] + x[2i+2]) / 16.
    """
    ax = functools.partial(_along, axis, x.ndim)
    even, odd = x[ax(slice(0, None, 2))], x[ax(slice(1, None, 2))]
    h = even.shape[axis]
    # padded: e[i] = x[2i−2] (x[−2] = x[2], x[n] = x[n−2]); o[i] = x[2i−1] (x[−1] = x[1])
    e = np.concatenate([even[ax(slice(1, 2))], even, even[ax(slice(-1, None))]], axis=axis)
    o = np.concatenate([odd[ax(slice(0, 1))], odd], axis=axis)
    out = e[ax(slice(0, h))] + e[ax(slice(2, h + 2))]
    out += e[ax(slice(1, h + 1))] * np.float32(6.0)
    pairs = o[ax(slice(0, h))] + o[ax(slice(1, h + 1))]
    pairs *= np.float32(4.0)
    out += pairs
    out *= np.float32(1.0 / 16.0)
    return out


def _up_axis(x, axis):
    """Zero insertion then binomial blur × 2 along one axis, evaluated polyphase:

    out[2i] = (g[i−1] + 6g[i] + g[i+1]) / 8, out[2i+1] = (g[i] + g[i+1]) / 2, with the mirror
    padding of the zero-filled signal giving g[−1] = g[1] and g[h] = g[h−1].
    """
    ax = functools.partial(_along, axis, x.ndim)
    shape = list(x.shape)
    shape[axis] *= 2
    out = np.empty(shape, np.float32)
    even = out[ax(slice(0, None, 2))]
    odd = out[ax(slice(1, None, 2))]
    np.multiply(x, np.float32(6.0), out=even)
    even[ax(slice(1, None))] += x[ax(slice(None, -1))]
    even[ax(0)] += x[ax(1)]
    even[ax(slice(None, -1))] += x[ax(slice(1, None))]
    even[ax(-1)] += x[ax(-1)]
    even *= np.float32(1.0 / 8.0)
    np.add(x[ax(slice(None, -1))], x[ax(slice(1, None))], out=odd[ax(slice(None, -1))])
    np.multiply(x[ax(-1)], np.float32(2.0), out=odd[ax(-1)])
    odd *= np.float32(0.5)
    return out


def pyr_down(images):
    """One pyramid step down of float NCHW images: binomial blur, keep even rows/cols."""
    return _down_axis(_down_axis(np.asarray(images, np.float32), 2), 3)


def pyr_up(images):
    """One pyramid step up of float NCHW images: insert zeros, blur with the kernel × 4."""
    return _up_axis(_up_axis(np.asarray(images, np.float32), 2), 3)


def gaussian_pyramid(images, num_levels):
    """List of num_levels float32 NCHW arrays: the images, then each successive pyr_down."""
    levels = [np.asarray(images, np.float32)]
    for _ in range(num_levels - 1):
        levels.append(pyr_down(levels[-1]))
    return levels


def laplacian_pyramid(images, num_levels):
    """Laplacian pyramid: level k = G_k − up(G_{k+1}); the last level is the low-pass G_{L−1}."""
    gauss = gaussian_pyramid(images, num_levels)
    bands = [gauss[k] - pyr_up(gauss[k + 1]) for k in range(num_levels - 1)]
    return bands + [gauss[-1]]


def extract_descriptors(level_images, corners, patch_size=7, out=None):
    """Cuts patch_size² × C patches at the given corners: [N·P, C·patch_size²] float32, each
    row in (channel, y, x) order.

    level_images: float NCHW [N, C, S, S]; corners: int [N, P, 2] top-left (y, x);
    out: optional float32 array of that shape to write into.
    """
    return _cut(level_images, corners, patch_size, out)[0]


def finalize_descriptors(descriptors, num_channels):
    """Concatenates descriptor batches ((channel, …) order) and normalizes each colour channel
    with the set's own mean and (population) std over all its patches, as the original.
    → float32 [M, D]. A channel with zero spread is only centred."""
    if isinstance(descriptors, (list, tuple)):
        desc = np.concatenate([np.asarray(d, np.float32) for d in descriptors], axis=0)
    else:
        desc = np.array(descriptors, np.float32)
    if desc.ndim != 2 or desc.shape[1] % num_channels:
        raise ValueError(f"descriptors must be [M, k·{num_channels}], got shape {desc.shape}")
    stats = ChannelStats(num_channels)
    stats.add(desc)
    per_channel = desc.reshape(desc.shape[0], num_channels, -1)
    per_channel -= stats.mean.astype(np.float32)[None, :, None]
    per_channel /= stats.std().astype(np.float32)[None, :, None]
    return desc
