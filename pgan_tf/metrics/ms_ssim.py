"""MS-SSIM between pairs of generated images: the paper's variation measure (§5, Table 3).

Multi-scale SSIM (Wang et al. 2003) with the paper's settings: 5 scales with weights
0.0448, 0.2856, 0.3001, 0.2363, 0.1333, an 11×11 Gaussian window of σ 1.5, K1 0.01, K2 0.03,
dynamic range 255, computed per colour channel and averaged (tf.image.ssim_multiscale).
The score of a set is the mean over pairs (paper: 10000 pairs); lower means more variation.

Small images: the 11×11 window must fit the coarsest scale, so 5 scales need ≥ 176².
Smaller images use the largest number of scales that fits (32² → 2, 64² → 3, 128² → 4),
with the first weights renormalized to sum to 1; below 11² the metric is undefined (error).
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tensorflow as tf

from pgan_tf.metrics.ms_ssim_kernels import gaussian_taps, ms_ssim_block
from pgan_tf.metrics.wasserstein1d import num_threads

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
FILTER_SIZE = 11
FILTER_SIGMA = 1.5
K1, K2 = 0.01, 0.03
MAX_VAL = 255.0
MAX_SCALES = len(MS_SSIM_WEIGHTS)


def num_scales(size, filter_size=FILTER_SIZE, max_scales=MAX_SCALES):
    """How many scales fit: each step halves the size (rounding up, as TF pads odd sizes)."""
    if size < filter_size:
        raise ValueError(f"MS-SSIM needs images of at least {filter_size}², got {size}²")
    scales = 1
    while scales < max_scales:
        size = (size + 1) // 2
        if size < filter_size:
            break
        scales += 1
    return scales


def scale_weights(scales):
    """The paper's first `scales` weights, renormalized to sum to 1 when scales < 5."""
    if not 1 <= scales <= len(MS_SSIM_WEIGHTS):
        raise ValueError(f"scales must be in 1..{len(MS_SSIM_WEIGHTS)}, got {scales}")
    w = np.array(MS_SSIM_WEIGHTS[:scales], np.float64)
    if scales < len(MS_SSIM_WEIGHTS):
        w = w / w.sum()
    return tuple(float(v) for v in w)


def ms_ssim_pairs(images_a, images_b):
    """MS-SSIM of each pair (images_a[i], images_b[i]) of uint8 (or 0–255 float) NHWC images,
    as a float32 tensor [N]: tf.image.ssim_multiscale's values, computed by the compiled
    separable kernel (ms_ssim_kernels) in a thread per CPU."""
    a = np.asarray(images_a, np.float32)
    b = np.asarray(images_b, np.float32)
    if a.ndim != 4 or a.shape != b.shape:
        raise ValueError(
            f"MS-SSIM needs two NHWC batches of equal shape, got {a.shape} and {b.shape}"
        )
    weights = np.array(scale_weights(num_scales(min(a.shape[1], a.shape[2]))))
    n, h, w, c = a.shape
    a = np.ascontiguousarray(a).reshape(n, h, w * c)
    b = np.ascontiguousarray(b).reshape(n, h, w * c)
    out = np.zeros(n)
    taps = gaussian_taps(FILTER_SIZE, FILTER_SIGMA)
    c1, c2 = (K1 * MAX_VAL) ** 2, (K2 * MAX_VAL) ** 2
    step = max(1, -(-n // num_threads()))

    def block(start):
        stop = start + step
        ms_ssim_block(a[start:stop], b[start:stop], c, taps, weights, c1, c2, out[start:stop])

    if n <= step:
        block(0)
    else:
        with ThreadPoolExecutor(num_threads()) as pool:
            list(pool.map(block, range(0, n, step)))
    return tf.constant(out.astype(np.float32))


class MSSSIMAccumulator:
    """Streams images; consecutive images (0,1), (2,3), ... form the pairs; result() → mean."""

    def __init__(self):
        self._leftover = None
        self._sum = 0.0
        self._pairs = 0

    def add(self, batch):
        """Adds a uint8 NHWC batch; an odd last image waits for the next batch."""
        batch = np.asarray(batch)
        if batch.ndim != 4:
            raise ValueError(f"MS-SSIM expects NHWC images, got shape {batch.shape}")
        if self._leftover is not None:
            batch = np.concatenate([self._leftover, batch], axis=0)
            self._leftover = None
        if batch.shape[0] % 2:
            self._leftover, batch = batch[-1:], batch[:-1]
        if batch.shape[0]:
            scores = ms_ssim_pairs(batch[0::2], batch[1::2]).numpy()
            self._sum += float(np.sum(scores, dtype=np.float64))
            self._pairs += scores.shape[0]

    @property
    def num_pairs(self):
        """Pairs scored so far."""
        return self._pairs

    def result(self):
        """{'MS-SSIM': mean over all pairs}."""
        if self._pairs == 0:
            raise ValueError("MS-SSIM needs at least one pair (two images)")
        return {"MS-SSIM": self._sum / self._pairs}


def ms_ssim(images, *, batch_size=64):
    """Mean MS-SSIM over consecutive pairs of a uint8 NHWC array or iterable of batches."""
    if isinstance(images, np.ndarray) or tf.is_tensor(images):
        images = [np.asarray(images)]
    acc = MSSSIMAccumulator()
    for batch in images:
        batch = np.asarray(batch)
        for start in range(0, batch.shape[0], batch_size):
            acc.add(batch[start : start + batch_size])
    return acc.result()["MS-SSIM"]
