"""Compiled (numba) MS-SSIM of image pairs, with tf.image.ssim_multiscale's definition.

Per scale: the four local moments TF filters (μx, μy, E[xy], E[x² + y²]) under its 'VALID'
11×11 Gaussian window, filtered separably (the window is the outer product of a 1-D Gaussian:
TF's softmax of −(i² + j²)/2σ² factors), rows into a ring of 11 filtered rows, then columns;
luminance × contrast-structure averaged over the pixels; then 2×2 mean pooling, odd sizes
first padded by repeating the last row / column (TF's SYMMETRIC padding). The channels stay
interleaved (a row is W·C values), so every inner loop runs over a contiguous row.
Float64 throughout: the pooled images are exact, and the filtered moments are closer to the
exact values than TF's float32 convolution. The functions release the GIL: callers run
blocks of pairs in parallel threads.
"""

import numpy as np
from numba import njit


def gaussian_taps(size, sigma):
    """The normalized 1-D Gaussian whose outer product is TF's `size`² window."""
    c = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-0.5 * c * c / (sigma * sigma))
    return g / g.sum()


@njit(nogil=True, cache=True)
def _filter_row(x, y, r, taps, width, chans, out):
    """out[q, m] for q = x, y, xy, x² + y²: the 1-D window over row r of x and y ([H, W·C]),
    at the width − len(taps) + 1 valid positions of every channel."""
    n = (width - taps.size + 1) * chans
    for q in range(4):
        for m in range(n):
            out[q, m] = 0.0
    for k in range(taps.size):
        t = taps[k]
        o = k * chans
        for m in range(n):
            a = np.float64(x[r, o + m])
            b = np.float64(y[r, o + m])
            out[0, m] += t * a
            out[1, m] += t * b
            out[2, m] += t * (a * b)
            out[3, m] += t * (a * a + b * b)


@njit(nogil=True, cache=True)
def _scale_means(x, y, height, width, chans, taps, c1, c2, ring, acc, cs_mean, ssim_mean):
    """Means over the valid pixels, per channel, of cs and luminance·cs of images x, y (the
    top-left height × width·chans of [H, W·C] arrays), as TF's _ssim_helper."""
    size = taps.size
    n = (width - size + 1) * chans
    for ch in range(chans):
        cs_mean[ch] = 0.0
        ssim_mean[ch] = 0.0
    for r in range(size - 1):
        _filter_row(x, y, r, taps, width, chans, ring[r])
    for i in range(height - size + 1):
        _filter_row(x, y, i + size - 1, taps, width, chans, ring[(i + size - 1) % size])
        for q in range(4):
            for m in range(n):
                acc[q, m] = 0.0
        for k in range(size):
            t = taps[k]
            row = ring[(i + k) % size]
            for q in range(4):
                for m in range(n):
                    acc[q, m] += t * row[q, m]
        for m in range(n):
            mx, my = acc[0, m], acc[1, m]
            num0 = 2.0 * mx * my
            den0 = mx * mx + my * my
            cs = (2.0 * acc[2, m] - num0 + c2) / (acc[3, m] - den0 + c2)
            cs_mean[m % chans] += cs
            ssim_mean[m % chans] += cs * (num0 + c1) / (den0 + c1)
    count = (height - size + 1) * (width - size + 1)
    for ch in range(chans):
        cs_mean[ch] /= count
        ssim_mean[ch] /= count


@njit(nogil=True, cache=True)
def _halve(x, height, width, chans, out):
    """2×2 mean pooling of the top-left height × width·chans of x into out; an odd last row or
    column is paired with itself."""
    for i in range((height + 1) // 2):
        r0, r1 = 2 * i, min(2 * i + 1, height - 1)
        for j in range((width + 1) // 2):
            j0, j1 = 2 * j * chans, min(2 * j + 1, width - 1) * chans
            for ch in range(chans):
                out[i, j * chans + ch] = 0.25 * (
                    (np.float64(x[r0, j0 + ch]) + np.float64(x[r0, j1 + ch]))
                    + (np.float64(x[r1, j0 + ch]) + np.float64(x[r1, j1 + ch]))
                )


@njit(nogil=True, cache=True)
def ms_ssim_block(a, b, chans, taps, weights, c1, c2, out):
    """out[p] = MS-SSIM of the pair (a[p], b[p]) of float32 [N, H, W·C] images, averaged over
    the C channels: Π_s<S−1 relu(cs_s)^w_s · relu(ssim_{S−1})^w_{S−1} per channel."""
    pairs, height, row = a.shape
    width = row // chans
    scales = weights.size
    size = taps.size
    half_h, half_w = (height + 1) // 2, ((width + 1) // 2) * chans
    bufs = np.empty((4, half_h, half_w))  # two scales of both images, alternating
    ring = np.empty((size, 4, (width - size + 1) * chans))
    acc = np.empty((4, (width - size + 1) * chans))
    cs_mean = np.empty(chans)
    ssim_mean = np.empty(chans)
    factor = np.empty(chans)
    for p in range(pairs):
        for ch in range(chans):
            factor[ch] = 1.0
        h, w = height, width
        for s in range(scales):
            if s == 0:
                _scale_means(a[p], b[p], h, w, chans, taps, c1, c2, ring, acc, cs_mean, ssim_mean)
            else:
                src, dst = 2 * ((s + 1) % 2), 2 * (s % 2)
                if s == 1:
                    _halve(a[p], h, w, chans, bufs[dst])
                    _halve(b[p], h, w, chans, bufs[dst + 1])
                else:
                    _halve(bufs[src], h, w, chans, bufs[dst])
                    _halve(bufs[src + 1], h, w, chans, bufs[dst + 1])
                h, w = (h + 1) // 2, (w + 1) // 2
                x, y = bufs[dst], bufs[dst + 1]
                _scale_means(x, y, h, w, chans, taps, c1, c2, ring, acc, cs_mean, ssim_mean)
            for ch in range(chans):
                value = ssim_mean[ch] if s == scales - 1 else cs_mean[ch]
                factor[ch] *= max(value, 0.0) ** weights[s]
        total = 0.0
        for ch in range(chans):
            total += factor[ch]
        out[p] = total / chans
