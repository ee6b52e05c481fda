"""Compiled (numba) inner loops of SWD: one Laplacian pyramid step, the cutting of 7×7 patches
with their per-channel sums, and the projection of descriptors on a chunk of directions laid
out direction by direction.

The pyramid step is the arithmetic of the NumPy pyr_down / pyr_up of tests/metrics/swd_reference.py
(binomial blur, mirror padding without edge repeat, evaluated polyphase, float32, same operation
order: bit-identical) one image plane at a time, without NumPy's temporaries. Every function here
runs in the calling thread and releases the GIL: callers run batches in parallel threads."""

import numpy as np
from numba import njit


@njit(nogil=True, inline="always")
def _mirror(i, n):
    """Index i in [−2, n + 1] mirrored into [0, n) (no edge repeat)."""
    if i < 0:
        return -i
    if i >= n:
        return 2 * n - 2 - i
    return i


@njit(nogil=True, cache=True)
def _down_plane(x, rows, out):
    """out[i, k] = Σ w[dy]·w[dx]·x[2i + dy − 2, 2k + dx − 2] / 256 with w = [1 4 6 4 1]:
    rows first (into `rows`, [h/2, w]), then columns."""
    h, w = x.shape
    for i in range(h // 2):
        r0, r1, r2 = _mirror(2 * i - 2, h), _mirror(2 * i - 1, h), 2 * i
        r3, r4 = _mirror(2 * i + 1, h), _mirror(2 * i + 2, h)
        for c in range(w):
            rows[i, c] = (
                (x[r0, c] + x[r4, c])
                + np.float32(6.0) * x[r2, c]
                + np.float32(4.0) * (x[r1, c] + x[r3, c])
            ) * np.float32(1.0 / 16.0)
    for i in range(h // 2):
        for k in range(w // 2):
            c0, c1, c2 = _mirror(2 * k - 2, w), _mirror(2 * k - 1, w), 2 * k
            c3, c4 = _mirror(2 * k + 1, w), _mirror(2 * k + 2, w)
            out[i, k] = (
                (rows[i, c0] + rows[i, c4])
                + np.float32(6.0) * rows[i, c2]
                + np.float32(4.0) * (rows[i, c1] + rows[i, c3])
            ) * np.float32(1.0 / 16.0)


@njit(nogil=True, cache=True)
def _band_plane(x, g, rows, band):
    """band = x − up(g), up = zero insertion then blur × 4, polyphase: even samples
    (6g[i] + g[i−1] + g[i+1]) / 8, odd (g[i] + g[i+1]) / 2, where the mirror padding of the
    zero-filled signal gives g[−1] = g[1] and g[h] = g[h−1]. Rows first (into `rows`,
    [h, w/2]), then columns; same operation order as the reference pyr_up."""
    hh, hw = g.shape
    for i in range(hh):
        im, ip = (i - 1 if i > 0 else 1), min(i + 1, hh - 1)
        for c in range(hw):
            rows[2 * i, c] = (np.float32(6.0) * g[i, c] + g[im, c] + g[ip, c]) * np.float32(0.125)
            rows[2 * i + 1, c] = (g[i, c] + g[ip, c]) * np.float32(0.5)
    for r in range(2 * hh):
        for k in range(hw):
            km, kp = (k - 1 if k > 0 else 1), min(k + 1, hw - 1)
            even = (np.float32(6.0) * rows[r, k] + rows[r, km] + rows[r, kp]) * np.float32(0.125)
            odd = (rows[r, k] + rows[r, kp]) * np.float32(0.5)
            band[r, 2 * k] = x[r, 2 * k] - even
            band[r, 2 * k + 1] = x[r, 2 * k + 1] - odd


@njit(nogil=True, cache=True)
def _pyramid_step(x, scale, band, down):
    n, c, h, w = x.shape
    plane = np.empty((h, w), np.float32)
    rows_down = np.empty((h // 2, w), np.float32)
    rows_up = np.empty((h, w // 2), np.float32)
    for i in range(n):
        for ch in range(c):
            for y in range(h):
                for k in range(w):
                    plane[y, k] = np.float32(x[i, ch, y, k]) * scale
            _down_plane(plane, rows_down, down[i, ch])
            _band_plane(plane, down[i, ch], rows_up, band[i, ch])


def pyramid_step(gauss, scale=1.0):
    """(Laplacian band, next Gaussian level) of NCHW images gauss·scale (gauss uint8, uint16 or
    float32; scale a power of two, so exact): the next level is pyr_down, the band the images
    minus pyr_up(next), both float32."""
    n, c, h, w = gauss.shape
    if h % 2 or w % 2 or h < 4 or w < 4:
        raise ValueError(f"a pyramid step needs an even size of at least 4, got {h}×{w}")
    band = np.empty((n, c, h, w), np.float32)
    down = np.empty((n, c, h // 2, w // 2), np.float32)
    _pyramid_step(np.ascontiguousarray(gauss), np.float32(scale), band, down)
    return band, down


@njit(nogil=True, fastmath={"reassoc"}, cache=True)
def _cut(flat, shape, corners, size, out, sums):
    """Flat indexing (much faster than nested views here); the per-channel sums are float64
    and may be added in any order."""
    n, c, h, w = shape
    p = corners.shape[1]
    dims = c * size * size
    rows = out.reshape(-1)
    for i in range(n):
        for k in range(p):
            y, x = corners[i, k, 0], corners[i, k, 1]
            o = (i * p + k) * dims
            for ch in range(c):
                base = ((i * c + ch) * h + y) * w + x
                total = 0.0
                squares = 0.0
                for dy in range(size):
                    src = base + dy * w
                    for dx in range(size):
                        v = flat[src + dx]
                        rows[o] = v
                        total += np.float64(v)
                        squares += np.float64(v) * np.float64(v)
                        o += 1
                sums[i, ch, 0] += total
                sums[i, ch, 1] += squares


def cut_patches(images, corners, patch_size, out):
    """Writes the patch_size² × C patches of float32 NCHW images at int corners [N, P, 2]
    (top-left y, x) into out [N·P, C·patch_size²] in (channel, y, x) order; returns per-channel
    (sum, sum of squares) float64 [C, 2] of what was written."""
    n, c = images.shape[:2]
    sums = np.zeros((n, c, 2))
    _cut(
        np.ascontiguousarray(images, np.float32).reshape(-1),
        images.shape,
        np.ascontiguousarray(corners, np.int64),
        patch_size,
        out,
        sums,
    )
    return sums.sum(axis=0)


def project(desc, dirs, out):
    """out[k, r] = desc[r] · dirs[:, k] for float32 desc [M, D], dirs [D, K], out [K, M]: one
    BLAS product dirsᵀ · descᵀ written straight into out (transposed operands cost BLAS
    nothing; a row-major product plus a transposition of it cost 30% more with OpenBLAS's
    AVX2 kernels, 10% more with its AVX-512 ones, measured). Runs in the calling thread
    (releases the GIL)."""
    np.matmul(np.ascontiguousarray(dirs.T, np.float32), desc.T, out=out)
