"""Speed and memory of the SWD and MS-SSIM metrics at the paper's scale, against NumPy references.

SWD: two sets of --num_images images (paper: 16384 per set) streamed batch by batch through
SWDAccumulator, then result(); prints seconds, CPU seconds (all threads), images/s (both sets
counted), the peak RSS of the process while it ran, and the ratio to a NumPy version of the
original implementation's method (metrics/sliced_wasserstein.py: the whole minibatch's Laplacian
pyramid, patches gathered by flat index, every level's descriptors of a set kept, per-channel
normalization, 4 × 128 directions, np.sort of the projections) measured in the same run on the
same images — the first --ref_images of them (all by default). The reference's pyramid blurs
separably, which is faster than the original's 2-D scipy convolution, so the ratio is if anything
low. Its memory is the original's too: all descriptors of both sets (~10 GB at 16384 images).
Both ratios are printed: of seconds, and of CPU seconds (steadier on a shared machine; ours runs
in a thread per CPU, the reference mostly in one). The two sets are two draws of one synthetic
distribution, so the values are the real-vs-real floor of the metric; --spread_seeds=N prints
our values over N seeds on the same images (their spread is the run-to-run spread).

MS-SSIM: --num_images/2 pairs at 32² against a vectorized NumPy MS-SSIM.

--emulate_avx2 re-runs the benchmark in a subprocess whose libraries are held to AVX2 (see
AVX2_ENV; an emulation on an AVX-512 CPU: same cores, caches and clock) and prints which of the
limits took effect.

    python benchmarks/metrics.py [--num_images=16384] [--sizes=128] [--ref_images=2048]
        [--emulate_avx2]
"""

import os
import subprocess
import sys
import threading
import time

import numpy as np
import psutil

import pgan_tf  # noqa: F401  (quiet TF logs before TensorFlow loads)
from pgan_tf.core import cli
from pgan_tf.metrics.ms_ssim import ms_ssim_pairs, num_scales, scale_weights
from pgan_tf.metrics.swd import SWDAccumulator, pyramid_resolutions


def make_parser() -> cli.ArgumentParser:
    """The benchmark's flags (absl syntax, as every command of the project)."""
    p = cli.ArgumentParser(prog="benchmarks/metrics.py", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--num_images",
        type=cli.integer,
        default=16384,
        help="Images per set (the paper: 16384).",
    )
    p.add_list("--sizes", default=["128"], help="Image resolutions to time SWD at.")
    p.add_argument("--batch_size", type=cli.integer, default=64, help="Images per streamed batch.")
    p.add_argument(
        "--ref_images",
        type=cli.integer,
        default=None,
        help="Images per set for the NumPy reference and the ratio (default: all --num_images; "
        "0 skips the reference).",
    )
    p.add_argument(
        "--ms_ssim_size",
        type=cli.integer,
        default=32,
        help="Resolution of the MS-SSIM timing (0 skips it).",
    )
    p.add_argument(
        "--spread_seeds",
        type=cli.integer,
        default=0,
        help="Also run our SWD with this many seeds on the --ref_images images and print each "
        "level's mean and std.",
    )
    p.add_bool(
        "--emulate_avx2",
        help="Re-run in a subprocess with NumPy, OpenBLAS, numba and oneDNN held to AVX2.",
    )
    return p


# Each library's own switch down to AVX2: oneDNN's kernels (TensorFlow's Eigen code in the
# wheel is built for AVX only), numba's code generation, NumPy's dispatched loops (x86-64-v4 and
# the AVX-512 targets off) and OpenBLAS's kernels.
AVX2_ENV = {
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "NUMBA_CPU_NAME": "haswell",
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
    "OPENBLAS_CORETYPE": "Haswell",
}


def isa_report():
    """One line: what NumPy dispatches to, OpenBLAS's kernel, numba's target CPU (and whether
    its code uses 512-bit registers), oneDNN's ISA limit."""
    import numba
    import threadpoolctl
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    numpy_isa = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
    info = threadpoolctl.threadpool_info()
    blas = [i.get("architecture") for i in info if i["user_api"] == "blas"]

    @numba.njit
    def _dot(x):
        total = 0.0
        for v in x:
            total += v * v
        return total

    _dot(np.ones(64))
    zmm = "zmm" in _dot.inspect_asm(_dot.signatures[0])
    return (
        f"NumPy dispatch {'+'.join(numpy_isa) or 'baseline'}; OpenBLAS {'/'.join(map(str, blas))}; "
        f"numba CPU {numba.config.CPU_NAME or 'host'} ({'uses' if zmm else 'no'} zmm registers); "
        f"oneDNN max ISA {os.environ.get('ONEDNN_MAX_CPU_ISA', 'all')}"
    )


def _emulate_avx2(argv):
    """Runs this benchmark again, without --emulate_avx2, under AVX2_ENV; → its exit code."""
    args = [*argv, "--noemulate_avx2"]  # the last form of a flag wins
    env = {**os.environ, **AVX2_ENV}
    print("emulating an AVX2-only CPU: " + " ".join(f"{k}={v!r}" for k, v in AVX2_ENV.items()))
    sys.stdout.flush()
    return subprocess.run([sys.executable, os.path.abspath(__file__), *args], env=env).returncode


def _batch(index, n, size, which):
    """Batch `index` of a deterministic synthetic set: 8×8 blocks of random colour + noise."""
    rng = np.random.default_rng([("reals", "fakes").index(which), size, index])
    low = rng.uniform(0, 255, (n, size // 8, size // 8, 3))
    up = np.repeat(np.repeat(low, 8, axis=1), 8, axis=2)
    return np.clip(up + rng.normal(0, 20, up.shape), 0, 255).astype(np.uint8)


def _batches(num_images, size, which, batch_size):
    for i, start in enumerate(range(0, num_images, batch_size)):
        yield _batch(i, min(batch_size, num_images - start), size, which)


class _PeakRSS:
    """Samples the process's RSS every 20 ms in a thread; .peak is the largest seen (bytes)."""

    def __init__(self):
        self._proc = psutil.Process()
        self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


# ----------------------------------------------------------- NumPy reference: the original's method
def _ref_blur(x, scale):
    """NCHW binomial blur, mirror padding without edge repeat (separable, float32)."""
    k = np.array([1, 4, 6, 4, 1], np.float32) / 16.0
    h, w = x.shape[2], x.shape[3]
    p = np.pad(x, ((0, 0), (0, 0), (2, 2), (0, 0)), mode="reflect")
    rows = sum(k[i] * p[:, :, i : i + h, :] for i in range(5))
    p = np.pad(rows, ((0, 0), (0, 0), (0, 0), (2, 2)), mode="reflect")
    return scale * sum(k[i] * p[:, :, :, i : i + w] for i in range(5))


def _ref_pyramid(minibatch, levels):
    pyr = [minibatch.astype(np.float32)]
    for _ in range(1, levels):
        down = _ref_blur(pyr[-1], 1.0)[:, :, ::2, ::2]
        zeros = np.zeros_like(pyr[-1])
        zeros[:, :, ::2, ::2] = down
        pyr[-1] = pyr[-1] - _ref_blur(zeros, 4.0)
        pyr.append(down)
    return pyr


def _ref_patches(level, rng, size=7, per_image=128):
    n, c, h, w = level.shape
    half = size // 2
    count = per_image * n
    nh, ch, dy, dx = np.ogrid[0:count, 0:c, -half : half + 1, -half : half + 1]
    img = nh // per_image
    y = dy + rng.integers(half, h - half, (count, 1, 1, 1))
    x = dx + rng.integers(half, w - half, (count, 1, 1, 1))
    return level.flat[((img * c + ch) * h + y) * w + x]  # [count, C, 7, 7]


def _ref_finalize(desc):
    desc = np.concatenate(desc, axis=0)
    desc -= np.mean(desc, axis=(0, 2, 3), keepdims=True)
    desc /= np.std(desc, axis=(0, 2, 3), keepdims=True)
    return desc.reshape(desc.shape[0], -1)


def _ref_sliced_wasserstein(a, b, rng, repeats=4, per_repeat=128):
    results = []
    for _ in range(repeats):
        dirs = rng.standard_normal((a.shape[1], per_repeat))
        dirs /= np.sqrt(np.sum(np.square(dirs), axis=0, keepdims=True))
        dirs = dirs.astype(np.float32)
        proj_a = np.sort(np.matmul(a, dirs), axis=0)
        proj_b = np.sort(np.matmul(b, dirs), axis=0)
        results.append(np.mean(np.abs(proj_a - proj_b)))
    return np.mean(results)


class _Clock:
    """Seconds and CPU seconds (all threads of the process) of the timed blocks only."""

    def __init__(self):
        self.seconds = self.cpu = 0.0

    def __enter__(self):
        self._start = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.seconds += time.perf_counter() - self._start[0]
        self.cpu += time.process_time() - self._start[1]


def _ref_swd(num_images, size, batch_size, rng):
    """The original's SWD on the benchmark's images: → ({key: value}, _Clock)."""
    levels = len(pyramid_resolutions(size))
    clock = _Clock()
    desc = {}
    for which in ("reals", "fakes"):
        per_level = [[] for _ in range(levels)]
        for batch in _batches(num_images, size, which, batch_size):
            with clock:
                for lod, level in enumerate(_ref_pyramid(batch.transpose(0, 3, 1, 2), levels)):
                    per_level[lod].append(_ref_patches(level, rng))
        with clock:
            desc[which] = [_ref_finalize(d) for d in per_level]
    with clock:
        dist = [
            _ref_sliced_wasserstein(a, b, rng) * 1e3 for a, b in zip(desc["reals"], desc["fakes"])
        ]
    out = {f"SWDx1e3_{r}": d for r, d in zip(pyramid_resolutions(size), dist)}
    out["SWDx1e3_avg"] = float(np.mean(dist))
    return out, clock


# ------------------------------------------------------------ ours
def _our_swd(num_images, size, batch_size, seed=0):
    """SWDAccumulator on the benchmark's images → ({key: value}, add _Clock, result _Clock)."""
    acc = SWDAccumulator(size, 3, seed=seed)
    adding, result = _Clock(), _Clock()
    for which in ("reals", "fakes"):
        for batch in _batches(num_images, size, which, batch_size):
            with adding:
                acc.add(which, batch)
    with result:
        out = acc.result()
    return out, adding, result


def _np_ms_ssim(a, b):
    c = np.arange(11) - 5.0
    g = np.exp(-(c**2) / 4.5)
    g /= g.sum()

    def filt(x):
        h = x.shape[1] - 10
        rows = sum(g[i] * x[:, i : i + h] for i in range(11))
        return sum(g[i] * rows[:, :, i : i + h] for i in range(11))

    x, y = a.astype(np.float64), b.astype(np.float64)
    weights = scale_weights(num_scales(a.shape[1]))
    out = 1.0
    for s, w in enumerate(weights):
        if s:
            x = 0.25 * (x[:, ::2, ::2] + x[:, 1::2, ::2] + x[:, ::2, 1::2] + x[:, 1::2, 1::2])
            y = 0.25 * (y[:, ::2, ::2] + y[:, 1::2, ::2] + y[:, ::2, 1::2] + y[:, 1::2, 1::2])
        mx, my = filt(x), filt(y)
        vx, vy, cxy = filt(x * x) - mx**2, filt(y * y) - my**2, filt(x * y) - mx * my
        cs = (2 * cxy + 58.5225) / (vx + vy + 58.5225)
        if s == len(weights) - 1:
            cs = cs * (2 * mx * my + 6.5025) / (mx**2 + my**2 + 6.5025)
        out = out * np.maximum(cs.mean(axis=(1, 2)), 0) ** w
    return out.mean(axis=-1)


def _fmt(values):
    return " ".join(f"{k.removeprefix('SWDx1e3_')}={v:.3f}" for k, v in values.items())


def _load():
    return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    flags = make_parser().parse_args(argv)
    if flags.num_images < 2 or flags.batch_size < 1 or any(int(s) < 16 for s in flags.sizes):
        return cli.fail("--num_images must be >= 2, --batch_size >= 1, --sizes >= 16", cli.USAGE)
    if flags.emulate_avx2:
        return _emulate_avx2(argv)
    n = flags.num_images
    print(isa_report())
    ref_n = n if flags.ref_images is None else flags.ref_images
    print(
        f"{os.cpu_count()} CPUs, {_load()}; SWD: {n} images per set, batches of "
        f"{flags.batch_size}; images/s counts both sets; peak RSS is the whole process's"
    )
    for size in (int(s) for s in flags.sizes):
        _time_swd(size, n, ref_n, flags.batch_size, flags.spread_seeds)
    if flags.ms_ssim_size:
        _time_ms_ssim(flags.ms_ssim_size, n)
    return 0


def _time_swd(size, n, ref_n, batch_size, spread_seeds):
    """SWD at one resolution: ours on `n` images per set, then (unless `ref_n` is 0) ours and the
    NumPy reference on `ref_n` images, and our values over `spread_seeds` seeds."""
    _our_swd(8, size, 8)  # warm-up: loads the compiled kernels, first calls into BLAS
    with _PeakRSS() as rss:
        values, adding, result = _our_swd(n, size, batch_size)
    total = adding.seconds + result.seconds
    print(
        f"SWD {size}² ours, {n} images: {total:.1f} s (add {adding.seconds:.1f} s, "
        f"result {result.seconds:.1f} s; CPU {adding.cpu + result.cpu:.1f} s), "
        f"{2 * n / total:.0f} images/s, peak RSS {rss.peak / 2**30:.2f} GiB   ({_load()})"
        f"\n    {_fmt(values)}"
    )
    if ref_n <= 0:
        return
    if ref_n != n:
        values, adding, result = _our_swd(ref_n, size, batch_size)
        print(
            f"SWD {size}² ours, {ref_n} images: {adding.seconds + result.seconds:.1f} s "
            f"(CPU {adding.cpu + result.cpu:.1f} s), "
            f"{2 * ref_n / (adding.seconds + result.seconds):.0f} images/s\n"
            f"    {_fmt(values)}"
        )
    _compare_with_reference(
        size, ref_n, batch_size, adding.seconds + result.seconds, adding.cpu + result.cpu
    )
    if spread_seeds:
        _print_spread(size, ref_n, batch_size, spread_seeds)


def _compare_with_reference(size, ref_n, batch_size, ours, ours_cpu):
    """Times the NumPy reference on the `ref_n` images; prints it and its ratio to our
    `ours` seconds and `ours_cpu` CPU seconds on the same images."""
    with _PeakRSS() as rss:
        ref_values, ref = _ref_swd(ref_n, size, batch_size, np.random.default_rng(0))
    print(
        f"SWD {size}² NumPy reference, {ref_n} images: {ref.seconds:.1f} s "
        f"(CPU {ref.cpu:.1f} s), {2 * ref_n / ref.seconds:.0f} images/s, peak RSS "
        f"{rss.peak / 2**30:.2f} GiB\n    {_fmt(ref_values)}"
    )
    print(
        f"SWD {size}² speed ratio ours / reference on the same {ref_n} images: "
        f"{ref.seconds / ours:.1f}x in seconds, {ref.cpu / ours_cpu:.1f}x in CPU seconds"
        f"   ({_load()})"
    )


def _print_spread(size, ref_n, batch_size, seeds):
    """Our SWD's mean ± std per level over `seeds` seeds on the same `ref_n` images."""
    runs = [_our_swd(ref_n, size, batch_size, seed)[0] for seed in range(seeds)]
    print(
        f"SWD {size}² ours over {len(runs)} seeds, {ref_n} images: "
        + " ".join(
            f"{k.removeprefix('SWDx1e3_')}={np.mean([r[k] for r in runs]):.3f}"
            f"±{np.std([r[k] for r in runs], ddof=1):.3f}"
            for k in runs[0]
        )
    )


def _time_ms_ssim(size, n):
    """Our MS-SSIM and the NumPy one on n/2 pairs at `size`² (second of two runs each)."""
    pairs = max(1, n // 2)
    a = np.concatenate(list(_batches(pairs, size, "reals", 1024)))
    b = np.concatenate(list(_batches(pairs, size, "fakes", 1024)))
    runs = []
    for fn in (
        lambda: np.concatenate(
            [ms_ssim_pairs(a[i : i + 256], b[i : i + 256]).numpy() for i in range(0, pairs, 256)]
        ),
        lambda: np.concatenate(
            [_np_ms_ssim(a[i : i + 256], b[i : i + 256]) for i in range(0, pairs, 256)]
        ),
    ):
        fn()
        start = time.perf_counter()
        scores = fn()
        runs.append((time.perf_counter() - start, float(np.mean(scores))))
    (ours, score), (ref, ref_score) = runs
    print(
        f"MS-SSIM {size}², {pairs} pairs: ours {ours:.2f} s ({2 * pairs / ours:.0f} "
        f"images/s, mean {score:.5f}), NumPy {ref:.2f} s ({2 * pairs / ref:.0f} images/s, "
        f"mean {ref_score:.5f}), ratio {ref / ours:.2f}x   ({_load()})"
    )


if __name__ == "__main__":
    sys.exit(main())
