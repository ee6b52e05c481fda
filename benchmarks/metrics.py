"""Throughput (images/s) of the SWD and MS-SSIM metrics on this machine.

For each resolution, times SWD descriptor extraction (Laplacian pyramid + patches) and the
sliced Wasserstein distance over two sets of N images, then MS-SSIM over N/2 pairs. Each
number is printed next to a reference measured in the same run: a plain vectorized NumPy
version of the same computation, so the ratio says what running it in TensorFlow buys.

    python benchmarks/metrics.py [--num_images=256] [--sizes=32,64,128]
"""
import time

import pgan_tf  # noqa: F401  (quiet TF logs before TensorFlow loads)

import numpy as np
from absl import app, flags

from pgan_tf.metrics.ms_ssim import ms_ssim_pairs, num_scales, scale_weights
from pgan_tf.metrics.swd import SWDAccumulator, pyramid_resolutions

FLAGS = flags.FLAGS
flags.DEFINE_integer("num_images", 256, "Images per set.")
flags.DEFINE_list("sizes", ["32", "64", "128"], "Resolutions to time.")
flags.DEFINE_integer("batch_size", 64, "Images per batch.")


def _images(n, size, seed):
    rng = np.random.default_rng(seed)
    low = rng.uniform(0, 255, (n, size // 8, size // 8, 3))
    up = np.repeat(np.repeat(low, 8, axis=1), 8, axis=2)
    return np.clip(up + rng.normal(0, 20, up.shape), 0, 255).astype(np.uint8)


# ------------------------------------------------------------ NumPy references (timing only)
def _np_blur(x, scale):
    k = np.array([1, 4, 6, 4, 1], np.float32) / 16.0
    p = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect")
    h, w = x.shape[1], x.shape[2]
    rows = sum(k[i] * p[:, i:i + h, :, :] for i in range(5))
    return scale * sum(k[i] * rows[:, :, i:i + w, :] for i in range(5))


def _np_swd(a, b, rng):
    levels = len(pyramid_resolutions(a.shape[1]))
    descs = []
    for images in (a, b):
        g = [images.astype(np.float32)]
        for _ in range(levels - 1):
            g.append(_np_blur(g[-1], 1.0)[:, ::2, ::2])
        per_level = []
        for k in range(levels):
            band = g[k]
            if k < levels - 1:
                z = np.zeros_like(g[k])
                z[:, ::2, ::2] = g[k + 1]
                band = g[k] - _np_blur(z, 4.0)
            n, s = band.shape[0], band.shape[1]
            ys = rng.integers(0, s - 6, (n, 128))[:, :, None, None] + np.arange(7)[:, None]
            xs = rng.integers(0, s - 6, (n, 128))[:, :, None, None] + np.arange(7)[None, :]
            d = band[np.arange(n)[:, None, None, None], ys, xs].reshape(n * 128, 49, 3)
            d = (d - d.mean(axis=(0, 1))) / d.std(axis=(0, 1))
            per_level.append(d.reshape(n * 128, -1))
        descs.append(per_level)
    for da, db in zip(*descs):
        for _ in range(4):
            v = rng.standard_normal((da.shape[1], 128)).astype(np.float32)
            v /= np.linalg.norm(v, axis=0)
            np.mean(np.abs(np.sort(da @ v, axis=0) - np.sort(db @ v, axis=0)))


def _np_ms_ssim(a, b):
    c = np.arange(11) - 5.0
    g = np.exp(-c ** 2 / 4.5)
    g /= g.sum()

    def filt(x):
        h = x.shape[1] - 10
        rows = sum(g[i] * x[:, i:i + h] for i in range(11))
        return sum(g[i] * rows[:, :, i:i + h] for i in range(11))

    x, y = a.astype(np.float64), b.astype(np.float64)
    weights = scale_weights(num_scales(a.shape[1]))
    out = 1.0
    for s, w in enumerate(weights):
        if s:
            x = 0.25 * (x[:, ::2, ::2] + x[:, 1::2, ::2] + x[:, ::2, 1::2] + x[:, 1::2, 1::2])
            y = 0.25 * (y[:, ::2, ::2] + y[:, 1::2, ::2] + y[:, ::2, 1::2] + y[:, 1::2, 1::2])
        mx, my = filt(x), filt(y)
        vx, vy, cxy = filt(x * x) - mx ** 2, filt(y * y) - my ** 2, filt(x * y) - mx * my
        cs = (2 * cxy + 58.5225) / (vx + vy + 58.5225)
        if s == len(weights) - 1:
            cs = cs * (2 * mx * my + 6.5025) / (mx ** 2 + my ** 2 + 6.5025)
        out = out * np.maximum(cs.mean(axis=(1, 2)), 0) ** w
    return out


# ------------------------------------------------------------ timing
def _time(fn, repeats=2):
    fn()  # warm-up (tracing)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _run_swd(a, b, batch_size):
    acc = SWDAccumulator(a.shape[1], a.shape[3], seed=0)
    t0 = time.perf_counter()
    for start in range(0, len(a), batch_size):
        acc.add_reals(a[start:start + batch_size])
        acc.add_fakes(b[start:start + batch_size])
    t1 = time.perf_counter()
    acc.result()
    return t1 - t0, time.perf_counter() - t1


def main(_):
    n = FLAGS.num_images
    print(f"{n} images per set, batch {FLAGS.batch_size}; images/s counts both sets for SWD "
          f"and both images of each pair for MS-SSIM")
    print(f"{'metric':<9}{'res':>5}{'describe s':>12}{'distance s':>12}{'images/s':>10}"
          f"{'NumPy img/s':>13}{'ratio':>7}")
    for size in (int(s) for s in FLAGS.sizes):
        a, b = _images(n, size, 0), _images(n, size, 1)
        _run_swd(a[:8], b[:8], FLAGS.batch_size)  # warm-up: traces the pyramid function
        desc, dist = min((_run_swd(a, b, FLAGS.batch_size) for _ in range(2)), key=sum)
        ours = 2 * n / (desc + dist)
        ref = 2 * n / _time(lambda: _np_swd(a, b, np.random.default_rng(0)), repeats=1)
        print(f"{'SWD':<9}{size:>5}{desc:>12.2f}{dist:>12.2f}{ours:>10.0f}{ref:>13.0f}"
              f"{ours / ref:>7.2f}")
    for size in (int(s) for s in FLAGS.sizes):
        a, b = _images(n // 2, size, 0), _images(n // 2, size, 1)
        t = _time(lambda: [ms_ssim_pairs(a[i:i + FLAGS.batch_size], b[i:i + FLAGS.batch_size])
                           for i in range(0, len(a), FLAGS.batch_size)])
        ref = _time(lambda: _np_ms_ssim(a, b), repeats=1)
        print(f"{'MS-SSIM':<9}{size:>5}{'':>12}{t:>12.2f}{n / t:>10.0f}{n / ref:>13.0f}"
              f"{ref / t:>7.2f}")


if __name__ == "__main__":
    app.run(main)
