"""Multi-scale sliced Wasserstein distance (SWD) of the paper (Karras et al. 2018, §5).

Both image sets go through a Laplacian pyramid (full resolution down to 16²); from every
level 128 random 7×7×C patches per image are kept as descriptors, each set's descriptors are
normalized per channel with that set's own mean/std, and the two descriptor sets are compared
with the sliced Wasserstein distance (4 repeats × 128 random unit directions). Values are
reported ×1e3 per level plus their average, under the original implementation's names.

Images are streamed: only the descriptors are kept, never the images. Patch positions are a
pure function of (seed, level, image index within its set, patch index), so the result does
not depend on how the images are batched, and the two sets use the same positions: identical
image sets give identical descriptors and a distance of exactly 0.
"""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tensorflow as tf

_BINOMIAL_1D = np.array([1.0, 4.0, 6.0, 4.0, 1.0])

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def binomial_kernel():
    """The 5×5 binomial blur kernel [1 4 6 4 1]ᵀ[1 4 6 4 1] / 256 of the paper's pyramid."""
    return (np.outer(_BINOMIAL_1D, _BINOMIAL_1D) / 256.0).astype(np.float32)


def _blur(images, scale):
    """Blurs float NHWC images with the binomial kernel × scale, REFLECT-padded (no edge repeat).

    Channels are folded into the batch so one traced graph serves any channel count.
    """
    shape = tf.shape(images)
    planes = tf.reshape(tf.transpose(images, [0, 3, 1, 2]), [-1, shape[1], shape[2], 1])
    kernel = tf.constant(binomial_kernel() * scale)[:, :, None, None]
    padded = tf.pad(planes, [[0, 0], [2, 2], [2, 2], [0, 0]], mode="REFLECT")
    out = tf.nn.conv2d(padded, kernel, strides=1, padding="VALID")
    out = tf.reshape(out, [shape[0], shape[3], shape[1], shape[2]])
    return tf.transpose(out, [0, 2, 3, 1])


def pyr_down(images):
    """One pyramid step down: binomial blur, then keep every second pixel (even rows/cols)."""
    return _blur(images, 1.0)[:, ::2, ::2, :]


def pyr_up(images):
    """One pyramid step up: insert zeros after every pixel, then blur with the kernel × 4."""
    shape = tf.shape(images)
    n, h, w, c = shape[0], shape[1], shape[2], shape[3]
    zeros = tf.zeros_like(images)
    rows = tf.reshape(tf.stack([images, zeros], axis=2), [n, 2 * h, w, c])
    full = tf.reshape(tf.stack([rows, tf.zeros_like(rows)], axis=3), [n, 2 * h, 2 * w, c])
    return _blur(full, 4.0)


def gaussian_pyramid(images, num_levels):
    """List of num_levels float NHWC tensors: the images, then each successive pyr_down."""
    levels = [tf.convert_to_tensor(images, tf.float32)]
    for _ in range(num_levels - 1):
        levels.append(pyr_down(levels[-1]))
    return levels


def laplacian_pyramid(images, num_levels):
    """Laplacian pyramid: level k = G_k − up(G_{k+1}); the last level is the low-pass G_{L−1}."""
    gauss = gaussian_pyramid(images, num_levels)
    bands = [gauss[k] - pyr_up(gauss[k + 1]) for k in range(num_levels - 1)]
    return bands + [gauss[-1]]


def pyramid_resolutions(resolution, min_resolution=16):
    """Resolutions of the pyramid levels: resolution, resolution/2, ... down to min_resolution."""
    if resolution < min_resolution:
        raise ValueError(f"SWD needs images of at least {min_resolution}², got {resolution}²")
    ratio = resolution // min_resolution
    if resolution % min_resolution or ratio & (ratio - 1):
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


def extract_descriptors(level_images, corners, patch_size=7):
    """Cuts patch_size² × C patches at the given corners: [N·P, patch_size·patch_size·C] float32.

    level_images: float NHWC [N, S, S, C]; corners: int [N, P, 2] top-left (y, x).
    """
    corners = tf.convert_to_tensor(corners, tf.int32)
    n, p = tf.shape(corners)[0], tf.shape(corners)[1]
    offs = tf.range(patch_size, dtype=tf.int32)
    ys = corners[:, :, 0, None, None] + offs[None, None, :, None]  # [N, P, ps, 1]
    xs = corners[:, :, 1, None, None] + offs[None, None, None, :]  # [N, P, 1, ps]
    ys = tf.broadcast_to(ys, [n, p, patch_size, patch_size])
    xs = tf.broadcast_to(xs, [n, p, patch_size, patch_size])
    img = tf.broadcast_to(tf.range(n, dtype=tf.int32)[:, None, None, None], tf.shape(ys))
    patches = tf.gather_nd(level_images, tf.stack([img, ys, xs], axis=-1))  # [N,P,ps,ps,C]
    return tf.reshape(patches, [n * p, -1])


def finalize_descriptors(descriptors, num_channels):
    """Concatenates descriptor batches and normalizes each colour channel with the set's own
    mean and (population) std over all its patches, as the original. → float32 [M, D].

    A channel with zero spread is only centred (the original would divide by zero).
    """
    if isinstance(descriptors, (list, tuple)):
        desc = np.concatenate([np.asarray(d, np.float32) for d in descriptors], axis=0)
    else:
        desc = np.array(descriptors, np.float32)
    if desc.ndim != 2 or desc.shape[1] % num_channels:
        raise ValueError(f"descriptors must be [M, k·{num_channels}], got shape {desc.shape}")
    per_channel = desc.reshape(desc.shape[0], -1, num_channels)
    mean = per_channel.mean(axis=(0, 1), dtype=np.float64)
    std = per_channel.std(axis=(0, 1), dtype=np.float64)
    std = np.where(std > 0, std, 1.0)
    per_channel -= mean.astype(np.float32)
    per_channel /= std.astype(np.float32)
    return desc


def random_directions(dims, dirs_per_repeat, repeats, seed):
    """`repeats` float32 matrices [dims, dirs_per_repeat] of random unit column vectors."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(repeats):
        dirs = rng.standard_normal((dims, dirs_per_repeat))
        dirs /= np.sqrt(np.sum(np.square(dirs), axis=0, keepdims=True))
        out.append(dirs.astype(np.float32))
    return out


@tf.function(reduce_retracing=True)
def _sorted_projection_gap_tf(a, b, dirs):
    """Sum over the columns d of dirs of mean |sort(a·d) − sort(b·d)|, all in TensorFlow."""
    proj_a = tf.sort(tf.transpose(tf.matmul(a, dirs)), axis=-1)
    proj_b = tf.sort(tf.transpose(tf.matmul(b, dirs)), axis=-1)
    gaps = tf.reduce_mean(tf.abs(proj_a - proj_b), axis=-1)
    return tf.reduce_sum(tf.cast(gaps, tf.float64))


def _sorted_projection_gap_numpy(a, b, dirs, pool):
    """The same sum with TF projections but NumPy sorts, the two sets sorted in two threads
    (TF's CPU sort, TopKV2, is ~4× slower than np.sort on this kind of data)."""
    proj = [tf.matmul(dirs, x, transpose_a=True, transpose_b=True).numpy() for x in (a, b)]
    proj_a, proj_b = pool.map(lambda p: np.sort(p, axis=-1), proj)
    return float(np.sum(np.mean(np.abs(proj_a - proj_b), axis=-1, dtype=np.float64)))


def _resolve_sort_backend(sort_backend):
    """'auto' → 'tf' when a GPU is visible, else 'numpy'."""
    if sort_backend == "auto":
        return "tf" if tf.config.list_logical_devices("GPU") else "numpy"
    if sort_backend not in ("tf", "numpy"):
        raise ValueError(f"sort_backend must be 'auto', 'tf' or 'numpy', got {sort_backend!r}")
    return sort_backend


def sliced_wasserstein(a, b, dirs_per_repeat=128, repeats=4, seed=None, sort_backend="auto"):
    """Sliced Wasserstein distance between two equal-size point sets [M, D] (not ×1e3).

    For each repeat: project both sets on dirs_per_repeat random unit directions, sort each
    projection, take the mean absolute difference; the result is the mean over repeats.
    Directions go through in chunks so that the projections stay under ~2^25 floats per set.
    Projections run in TensorFlow; the sorts too on GPU, in NumPy on CPU (sort_backend='auto').
    """
    a = tf.convert_to_tensor(a, tf.float32)
    b = tf.convert_to_tensor(b, tf.float32)
    if a.shape.rank != 2 or a.shape != b.shape:
        raise ValueError(f"sliced_wasserstein needs two [M, D] sets of equal shape, "
                         f"got {a.shape} and {b.shape}")
    backend = _resolve_sort_backend(sort_backend)
    dirs = np.concatenate(random_directions(a.shape[1], dirs_per_repeat, repeats, seed), axis=1)
    chunk = max(1, min(dirs.shape[1], (1 << 25) // max(1, int(a.shape[0]))))
    total = 0.0
    with ThreadPoolExecutor(2) as pool:
        for start in range(0, dirs.shape[1], chunk):
            d = tf.constant(dirs[:, start:start + chunk])
            if backend == "tf":
                total += float(_sorted_projection_gap_tf(a, b, d))
            else:
                total += _sorted_projection_gap_numpy(a, b, d, pool)
    # Every repeat has the same number of directions: the mean over repeats of the per-repeat
    # means is the mean over all directions.
    return total / dirs.shape[1]


def _as_batches(images, batch_size):
    """Yields uint8 NHWC batches of at most batch_size from an array or an iterable of batches."""
    if isinstance(images, np.ndarray) or tf.is_tensor(images):
        images = [images]
    for batch in images:
        batch = np.asarray(batch)
        if batch.dtype != np.uint8 or batch.ndim != 4:
            raise ValueError(f"SWD expects uint8 NHWC images, got {batch.dtype} {batch.shape}")
        for start in range(0, batch.shape[0], batch_size):
            yield batch[start:start + batch_size]


def _default_seed(seed):
    """The given seed, or a fresh random one when None."""
    if seed is None:
        return int(np.random.SeedSequence().entropy % (1 << 63))
    return int(seed)


@tf.function(reduce_retracing=True)
def _describe_batch(images, corners, patch_size):
    """Laplacian pyramid of one uint8 batch and its descriptors at every level (one per corners)."""
    bands = laplacian_pyramid(tf.cast(images, tf.float32), len(corners))
    return [extract_descriptors(band, c, patch_size) for band, c in zip(bands, corners)]


class SWDAccumulator:
    """Streams two image sets ('reals' and 'fakes') into per-level descriptors; result() → SWD.

    Holds only descriptors: per level n_images · patches_per_image × patch_size²·C floats.
    """

    SETS = ("reals", "fakes")

    def __init__(self, resolution, num_channels, *, seed=None, patches_per_image=128,
                 patch_size=7, num_dirs=128, num_repeats=4, min_resolution=16,
                 sort_backend="auto"):
        self.resolutions = pyramid_resolutions(resolution, min_resolution)
        if min_resolution < patch_size:
            raise ValueError(f"min_resolution {min_resolution} is smaller than the patch size")
        self.num_channels = int(num_channels)
        self.seed = _default_seed(seed)
        self.patches_per_image = patches_per_image
        self.patch_size = patch_size
        self.num_dirs = num_dirs
        self.num_repeats = num_repeats
        self.sort_backend = _resolve_sort_backend(sort_backend)
        self._descriptors = {name: [[] for _ in self.resolutions] for name in self.SETS}
        self._counts = {name: 0 for name in self.SETS}

    def add(self, which, batch):
        """Adds one uint8 NHWC batch to set `which` ('reals' or 'fakes')."""
        if which not in self.SETS:
            raise ValueError(f"unknown set {which!r}; expected one of {self.SETS}")
        expected = (self.resolutions[0], self.resolutions[0], self.num_channels)
        if batch.dtype != np.uint8 or batch.ndim != 4 or tuple(batch.shape[1:]) != expected:
            raise ValueError(f"SWD {which}: expected uint8 [N, {expected[0]}, {expected[1]}, "
                             f"{expected[2]}], got {batch.dtype} {tuple(batch.shape)}")
        n = batch.shape[0]
        if n == 0:
            return
        first = self._counts[which]
        corners = [
            patch_corners(self.seed, level, first, n, self.patches_per_image, res,
                          self.patch_size)
            for level, res in enumerate(self.resolutions)
        ]
        descs = _describe_batch(tf.constant(batch), [tf.constant(c) for c in corners],
                                self.patch_size)
        for store, desc in zip(self._descriptors[which], descs):
            store.append(desc.numpy())
        self._counts[which] = first + n

    def add_reals(self, batch):
        """Adds a batch of real images."""
        self.add("reals", batch)

    def add_fakes(self, batch):
        """Adds a batch of generated images."""
        self.add("fakes", batch)

    @property
    def counts(self):
        """Number of images seen per set."""
        return dict(self._counts)

    def result(self):
        """{'SWDx1e3_<res>': ..., 'SWDx1e3_avg': ...}; both sets must hold the same count."""
        if self._counts["reals"] != self._counts["fakes"] or self._counts["reals"] == 0:
            raise ValueError(f"SWD needs two non-empty sets of equal size, got "
                             f"{self._counts['reals']} reals and {self._counts['fakes']} fakes")
        out = {}
        for level, res in enumerate(self.resolutions):
            a = finalize_descriptors(self._descriptors["reals"][level], self.num_channels)
            b = finalize_descriptors(self._descriptors["fakes"][level], self.num_channels)
            dist = sliced_wasserstein(a, b, self.num_dirs, self.num_repeats,
                                      seed=[self.seed, level], sort_backend=self.sort_backend)
            out[f"SWDx1e3_{res}"] = dist * 1e3
        out["SWDx1e3_avg"] = float(np.mean([out[f"SWDx1e3_{r}"] for r in self.resolutions]))
        return out


def swd(reals, fakes, *, seed=None, patches_per_image=128, patch_size=7, num_dirs=128,
        num_repeats=4, min_resolution=16, batch_size=64, sort_backend="auto"):
    """Multi-scale SWD between two uint8 NHWC image sets (arrays or iterables of batches).

    Returns {'SWDx1e3_<res>': float for each pyramid level, 'SWDx1e3_avg': float}.
    sort_backend: 'auto' (TF sort on GPU, NumPy sort on CPU), 'tf' or 'numpy'.
    """
    acc = None
    for which, images in (("reals", reals), ("fakes", fakes)):
        for batch in _as_batches(images, batch_size):
            if acc is None:
                acc = SWDAccumulator(batch.shape[1], batch.shape[3], seed=seed,
                                     patches_per_image=patches_per_image,
                                     patch_size=patch_size, num_dirs=num_dirs,
                                     num_repeats=num_repeats, min_resolution=min_resolution,
                                     sort_backend=sort_backend)
            acc.add(which, batch)
    if acc is None:
        raise ValueError("SWD got no images")
    return acc.result()
