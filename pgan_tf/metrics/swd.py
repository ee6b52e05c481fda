"""Multi-scale sliced Wasserstein distance (SWD) of the paper (Karras et al. 2018, §5).

Both image sets go through a Laplacian pyramid (full resolution down to 16²); from every
level 128 random 7×7×C patches per image are kept as descriptors, each set's descriptors are
normalized per channel with that set's own mean/std, and the two descriptor sets are compared
with the sliced Wasserstein distance (4 repeats × 128 random unit directions). Values are
reported ×1e3 per level plus their average, under the original implementation's names.

Patch positions are a pure function of (seed, level, image index within its set, patch
index), so the result does not depend on how the images are batched, and the two sets use the
same positions: identical image sets give identical descriptors and a distance of exactly 0.

Speed and memory at the paper's scale (16384 images per set): the pyramid step and the patch
cutting are compiled loops (swd_kernels; tests/metrics/swd_reference.py holds the same arithmetic
in NumPy, bit for bit, and the tests compare them), the per-channel normalization is folded into
the projection directions, the projections are float32 BLAS products of a chunk of directions at a
time, and each direction's 1-D distance is computed exactly without sorting (wasserstein1d);
batches, row blocks and directions run in a thread per CPU. Levels are processed one at a time: the
accumulator keeps each image in its most compact form (the uint8 image up to 256², then its first
Gaussian level as exact uint16; for larger images the descriptors of the finest levels plus a small
Gaussian level) and cuts a level's patches only when that level's distance is computed. Peak memory
is about both sets' descriptors of one level (2 × 1.2 GB at 16384 images) plus the stored images
and one chunk of projections (2 × 512 MiB)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits

from pgan_tf.core.resolution import is_power_of_two
from pgan_tf.metrics.swd_kernels import project, pyramid_step
from pgan_tf.metrics.swd_patches import ChannelStats, _cut, channel_order, patch_corners
from pgan_tf.metrics.wasserstein1d import num_threads, wasserstein1_rows

_FIRST_LEVEL_UNITS = 256  # the first Gaussian level of uint8 images is in steps of 1/256


def compact_first_level(down):
    """The first Gaussian level of uint8 images as uint16 (256× its values), exactly: its values
    are k/256 with integer k ≤ 65280 (integer binomial weights summing to 256, float32 sums of
    such values are exact), so it takes half the bytes of float32."""
    return (down * np.float32(_FIRST_LEVEL_UNITS)).astype(np.uint16)


def _pyramid_step(gauss, last):
    """(band, next Gaussian level) of one stored Gaussian level (uint8 images, uint16 from
    compact_first_level, or float32 NCHW), both float32; the last level is its own band."""
    scale = 1.0 / _FIRST_LEVEL_UNITS if gauss.dtype == np.uint16 else 1.0
    if last:
        return gauss.astype(np.float32) * np.float32(scale), None
    return pyramid_step(gauss, scale)


def pyramid_resolutions(resolution, min_resolution=16):
    """Resolutions of the pyramid levels: resolution, resolution/2, ... down to min_resolution."""
    if resolution < min_resolution:
        raise ValueError(f"SWD needs images of at least {min_resolution}², got {resolution}²")
    ratio = resolution // min_resolution
    if resolution % min_resolution or not is_power_of_two(ratio):
        raise ValueError(
            f"SWD needs a resolution of min_resolution × 2^k, got {resolution} "
            f"(min_resolution {min_resolution})"
        )
    resolutions = []
    res = resolution
    while res >= min_resolution:
        resolutions.append(res)
        res //= 2
    return resolutions


def random_directions(dims, dirs_per_repeat, repeats, seed):
    """`repeats` float32 matrices [dims, dirs_per_repeat] of random unit column vectors."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(repeats):
        dirs = rng.standard_normal((dims, dirs_per_repeat))
        dirs /= np.sqrt(np.sum(np.square(dirs), axis=0, keepdims=True))
        out.append(dirs.astype(np.float32))
    return out


# Projections of both sets are made for a chunk of directions at a time, [directions, M]
# float32: at most 2^27 values per set (512 MiB; 64 directions at the paper's scale) and 256
# directions (BLAS runs ~25% faster for 64 output columns than for 32, ~20% faster again for
# 256, measured); each thread task projects a block of rows.
_VALUES_PER_CHUNK = 1 << 27
_MAX_DIRS_PER_CHUNK = 256
_ROWS_PER_TASK = 1 << 14  # small tasks: little idle time at the end of a chunk


def projection_buffers(rows, num_dirs):
    """The two [chunk, rows] float32 arrays `_sliced_w1` projects a chunk of directions into;
    made once and reused level after level (the kernel zeroes fresh memory at its first touch:
    16% of result() while they were made at every level, measured with perf)."""
    chunk = int(min(num_dirs, _MAX_DIRS_PER_CHUNK, max(2, _VALUES_PER_CHUNK // max(1, rows))))
    return np.empty((chunk, rows), np.float32), np.empty((chunk, rows), np.float32)


def _sliced_w1(a, b, dirs_a, dirs_b, shift_a, shift_b, pool, buffers=None):
    """Mean over the columns d of the direction matrices of W1(a·dirs_a[:, d] − shift_a[d],
    b·dirs_b[:, d] − shift_b[d]), projecting a chunk of directions at a time into `buffers`
    (projection_buffers; made here if None).

    Blocks of rows are projected in the pool's threads, each with a single-threaded BLAS: a
    multithreaded BLAS keeps its idle threads spinning after each product, which starves the
    1-D distances that follow (10× slower on small sets, measured).
    """
    rows, num_dirs = a.shape[0], dirs_a.shape[1]
    proj_a, proj_b = projection_buffers(rows, num_dirs) if buffers is None else buffers
    chunk = proj_a.shape[0]
    total = 0.0
    with threadpool_limits(1, user_api="blas"):
        for start in range(0, num_dirs, chunk):
            cols = slice(start, min(num_dirs, start + chunk))
            k = cols.stop - start
            jobs = [
                pool.submit(
                    project,
                    x[r : r + _ROWS_PER_TASK],
                    dirs[:, cols],
                    out[:k, r : r + _ROWS_PER_TASK],
                )
                for x, dirs, out in ((a, dirs_a, proj_a), (b, dirs_b, proj_b))
                for r in range(0, rows, _ROWS_PER_TASK)
            ]
            for job in jobs:
                job.result()
            total += float(
                np.sum(
                    wasserstein1_rows(
                        proj_a[:k],
                        proj_b[:k],
                        shift_a[cols],
                        shift_b[cols],
                        check=False,
                        executor=pool,
                    )
                )
            )
    return total / num_dirs


def sliced_wasserstein(a, b, dirs_per_repeat=128, repeats=4, seed=None):
    """Sliced Wasserstein distance between two equal-size point sets [M, D] (not ×1e3).

    For each repeat: project both sets on dirs_per_repeat random unit directions and take the
    mean absolute difference of the sorted projections (computed without sorting, exactly:
    wasserstein1d); the result is the mean over repeats (every repeat has as many directions,
    so it is the mean over all directions).
    """
    a = np.ascontiguousarray(a, np.float32)
    b = np.ascontiguousarray(b, np.float32)
    if a.ndim != 2 or a.shape != b.shape or a.shape[0] == 0:
        raise ValueError(
            f"sliced_wasserstein needs two non-empty [M, D] sets of equal shape, "
            f"got {a.shape} and {b.shape}"
        )
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("sliced_wasserstein got values that are not finite")
    dirs = np.concatenate(random_directions(a.shape[1], dirs_per_repeat, repeats, seed), axis=1)
    zeros = np.zeros(dirs.shape[1])
    with ThreadPoolExecutor(num_threads()) as pool:
        return _sliced_w1(a, b, dirs, dirs, zeros, zeros, pool)


def _normalized_level_distance(desc, stats, dirs, pool, buffers):
    """SWD of two raw descriptor sets normalized per channel with their own stats, the
    normalization folded into the directions: ((x − μ)/σ)·d = x·(d/σ) − (μ/σ)·d."""
    per_row = dirs.shape[0] // stats[0].mean.size  # descriptor columns per channel
    scaled, shifts = [], []
    for st in stats:
        inv = np.repeat(1.0 / st.std(), per_row)[:, None]
        scaled.append((dirs * inv).astype(np.float32))
        shifts.append(np.repeat(st.mean, per_row) @ (dirs * inv))
    return _sliced_w1(desc[0], desc[1], scaled[0], scaled[1], shifts[0], shifts[1], pool, buffers)


def _as_batches(images, batch_size):
    """Yields uint8 NHWC batches of at most batch_size from an array or an iterable of batches."""
    if isinstance(images, np.ndarray) or hasattr(images, "numpy"):
        images = [images]
    for batch in images:
        batch = np.asarray(batch)
        if batch.dtype != np.uint8 or batch.ndim != 4:
            raise ValueError(f"SWD expects uint8 NHWC images, got {batch.dtype} {batch.shape}")
        for start in range(0, batch.shape[0], batch_size):
            yield batch[start : start + batch_size]


def _default_seed(seed):
    """The given seed, or a fresh random one when None."""
    if seed is None:
        return int(np.random.SeedSequence().entropy % (1 << 63))
    return int(seed)


def stored_level(resolutions, num_channels, patches_per_image, patch_size):
    """The pyramid level whose Gaussian image the accumulator keeps (descriptors are kept for
    the levels above it): the choice with the fewest bytes per image. 0 keeps the uint8 image."""
    desc_bytes = patches_per_image * patch_size * patch_size * num_channels * 4
    best, best_bytes = 0, resolutions[0] ** 2 * num_channels
    for level in range(1, len(resolutions)):
        size = level * desc_bytes + resolutions[level] ** 2 * num_channels * 4
        if size < best_bytes:
            best, best_bytes = level, size
    return best


class SWDAccumulator:
    """Streams two image sets ('reals' and 'fakes'); result() → SWD.

    Keeps per image its most compact form (stored_level): up to 256² the uint8 image itself;
    the patches of a level are cut, one level at a time, when result() computes its distance,
    and the next Gaussian level replaces the stored images (the first one as uint16, exact).
    """

    SETS = ("reals", "fakes")

    def __init__(
        self,
        resolution,
        num_channels,
        *,
        seed=None,
        patches_per_image=128,
        patch_size=7,
        num_dirs=128,
        num_repeats=4,
        min_resolution=16,
    ):
        self.resolutions = pyramid_resolutions(resolution, min_resolution)
        if min_resolution < patch_size:
            raise ValueError(f"min_resolution {min_resolution} is smaller than the patch size")
        self.num_channels = int(num_channels)
        self.seed = _default_seed(seed)
        self.patches_per_image = patches_per_image
        self.patch_size = patch_size
        self.num_dirs = num_dirs
        self.num_repeats = num_repeats
        self.stored_level = stored_level(
            self.resolutions, self.num_channels, patches_per_image, patch_size
        )
        # per set: list of (first image index, Gaussian level `stored_level` of the batch)
        self._stored = {name: [] for name in self.SETS}
        # per set and level above stored_level: descriptor chunks and their stats
        self._descriptors = {name: [[] for _ in range(self.stored_level)] for name in self.SETS}
        self._stats = {
            name: [ChannelStats(self.num_channels) for _ in self.resolutions] for name in self.SETS
        }
        self._counts = {name: 0 for name in self.SETS}
        self._lock = threading.Lock()

    def _corners(self, level, first, n):
        return patch_corners(
            self.seed,
            level,
            first,
            n,
            self.patches_per_image,
            self.resolutions[level],
            self.patch_size,
        )

    def _describe(self, which, level, first, band, out=None):
        desc, sums = _cut(band, self._corners(level, first, band.shape[0]), self.patch_size, out)
        with self._lock:
            self._stats[which][level].add_sums(desc.size // self.num_channels, sums)
        return desc

    def add(self, which, batch):
        """Adds one uint8 NHWC batch to set `which` ('reals' or 'fakes')."""
        if which not in self.SETS:
            raise ValueError(f"unknown set {which!r}; expected one of {self.SETS}")
        expected = (self.resolutions[0], self.resolutions[0], self.num_channels)
        batch = np.asarray(batch)
        if batch.dtype != np.uint8 or batch.ndim != 4 or tuple(batch.shape[1:]) != expected:
            raise ValueError(
                f"SWD {which}: expected uint8 [N, {expected[0]}, {expected[1]}, "
                f"{expected[2]}], got {batch.dtype} {tuple(batch.shape)}"
            )
        n = batch.shape[0]
        if n == 0:
            return
        first = self._counts[which]
        kept = np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
        if self.stored_level > 0:
            for level in range(self.stored_level):
                band, kept = _pyramid_step(kept, last=False)
                self._descriptors[which][level].append(self._describe(which, level, first, band))
        self._stored[which].append((first, kept))
        self._counts[which] = first + n

    def add_reals(self, batch):
        """Adds a batch of real images."""
        self.add("reals", batch)

    def add_fakes(self, batch):
        """Adds a batch of generated images."""
        self.add("fakes", batch)

    @property
    def counts(self):
        """Images added so far per set."""
        return dict(self._counts)

    def _level_descriptors(self, which, level, pool, desc):
        """All descriptors of one set at one level, written into desc [N·P, D] (the same
        array at every level); advances the stored Gaussian images to the next level. Batches
        go through the pool's threads (the compiled kernels release the GIL)."""
        if level < self.stored_level:
            np.concatenate(self._descriptors[which][level], axis=0, out=desc)
            self._descriptors[which][level] = []
            return desc
        last = level == len(self.resolutions) - 1
        stored = self._stored[which]

        def advance(i):
            first, gauss = stored[i]
            band, down = _pyramid_step(gauss, last)
            start = first * self.patches_per_image
            self._describe(
                which,
                level,
                first,
                band,
                out=desc[start : start + band.shape[0] * self.patches_per_image],
            )
            if gauss.dtype == np.uint8 and down is not None:
                down = compact_first_level(down)
            stored[i] = (first, down)

        list(pool.map(advance, range(len(stored))))
        return desc

    def result(self):
        """{'SWDx1e3_<res>': ..., 'SWDx1e3_avg': ...} from everything added so far.

        Consumes the stored images: call once, after the last batch.
        """
        if self._counts["reals"] != self._counts["fakes"]:
            raise ValueError(
                f"SWD needs the same number of reals and fakes, got "
                f"{self._counts['reals']} and {self._counts['fakes']} "
                f"(equal size sets)"
            )
        if self._counts["reals"] == 0:
            raise ValueError("SWD got no images")
        dims = self.num_channels * self.patch_size * self.patch_size
        order = channel_order(self.num_channels, self.patch_size)
        rows = self._counts["reals"] * self.patches_per_image
        buffers = [np.empty((rows, dims), np.float32) for _ in self.SETS]
        projections = projection_buffers(rows, self.num_dirs * self.num_repeats)
        out = {}
        with ThreadPoolExecutor(num_threads()) as pool:
            for level, res in enumerate(self.resolutions):
                desc = [
                    self._level_descriptors(name, level, pool, buf)
                    for name, buf in zip(self.SETS, buffers)
                ]
                stats = [self._stats[name][level] for name in self.SETS]
                dirs = np.concatenate(
                    random_directions(dims, self.num_dirs, self.num_repeats, [self.seed, level]),
                    axis=1,
                )[order]
                dist = _normalized_level_distance(
                    desc, stats, dirs.astype(np.float64), pool, projections
                )
                out[f"SWDx1e3_{res}"] = dist * 1e3
        out["SWDx1e3_avg"] = float(np.mean([out[f"SWDx1e3_{r}"] for r in self.resolutions]))
        return out


def swd(
    reals,
    fakes,
    *,
    seed=None,
    patches_per_image=128,
    patch_size=7,
    num_dirs=128,
    num_repeats=4,
    min_resolution=16,
    batch_size=64,
):
    """Multi-scale SWD between two uint8 NHWC image sets (arrays or iterables of batches).

    Returns {'SWDx1e3_<res>': float for each pyramid level, 'SWDx1e3_avg': float}.
    """
    acc = None
    for which, images in (("reals", reals), ("fakes", fakes)):
        for batch in _as_batches(images, batch_size):
            if acc is None:
                acc = SWDAccumulator(
                    batch.shape[1],
                    batch.shape[3],
                    seed=seed,
                    patches_per_image=patches_per_image,
                    patch_size=patch_size,
                    num_dirs=num_dirs,
                    num_repeats=num_repeats,
                    min_resolution=min_resolution,
                )
            acc.add(which, batch)
    if acc is None:
        raise ValueError("SWD got no images")
    return acc.result()
