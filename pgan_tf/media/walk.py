"""The interpolation video's latents: a smoothed Gaussian random walk that loops.

As the original's `generate_interpolation_video`: N(0, 1) noise of shape [frames, cells, latent]
(drawn with `RandomState.randn` in that order, as float32), filtered along time with a Gaussian of
σ = smoothing_sec × fps frames under periodic boundaries (its `scipy.ndimage.gaussian_filter(...,
mode='wrap')`, kernel truncated at 4 σ), then divided by the root mean square of the whole array.
Periodic filtering makes the last frame flow into the first, so the video loops. Written in numpy:
one 1-D filter is not worth a scipy dependency.
"""

import numpy as np

TRUNCATE = 4.0


def gaussian_kernel(sigma: float, truncate: float = TRUNCATE) -> np.ndarray:
    """Normalised float64 weights exp(-j² / 2σ²) for j in [-r, r], r = int(truncate·σ + 0.5)
    (scipy.ndimage's radius rule)."""
    if sigma <= 0:
        return np.ones(1)
    radius = int(truncate * float(sigma) + 0.5)
    taps = np.arange(-radius, radius + 1, dtype=np.float64)
    weights = np.exp(-0.5 * (taps / float(sigma)) ** 2)
    return weights / weights.sum()


def periodic_kernel(sigma: float, length: int, truncate: float = TRUNCATE) -> np.ndarray:
    """[length] weights of the Gaussian folded onto a circle of `length` samples: weight k is the
    sum of the taps j ≡ k (mod length), so a kernel longer than the signal wraps around again."""
    weights = gaussian_kernel(sigma, truncate)
    radius = len(weights) // 2
    folded = np.zeros(length)
    np.add.at(folded, np.arange(-radius, radius + 1) % length, weights)
    return folded


def periodic_gaussian_filter(x, sigma: float, axis: int = 0) -> np.ndarray:
    """x filtered along `axis` by a Gaussian of σ samples with wrap-around boundaries (float64
    arithmetic, float32 out): out[i] = Σ_k w[k] · x[(i + k) mod n], in column blocks of ~32 MiB."""
    moved = np.moveaxis(np.asarray(x), axis, 0)
    n = moved.shape[0]
    flat = moved.reshape(n, -1)
    folded = periodic_kernel(sigma, n)
    taps = np.flatnonzero(folded)
    out = np.empty(flat.shape, np.float32)
    step = max(1, 2**22 // n)
    for start in range(0, flat.shape[1], step):
        block = flat[:, start : start + step].astype(np.float64)
        acc = np.zeros_like(block)
        for k in taps:
            acc += folded[k] * np.roll(block, -k, axis=0)
        out[:, start : start + step] = acc
    return np.moveaxis(out.reshape(moved.shape), 0, axis)


def num_frames(duration_sec: float, fps: float) -> int:
    """Frames of a video: rint(duration × fps), as the original."""
    return int(np.rint(duration_sec * fps))


def random_walk_latents(
    rng: np.random.RandomState, frames: int, cells: int, latent_size: int, sigma: float
) -> np.ndarray:
    """[frames, cells, latent_size] float32: noise from `rng.randn`, smoothed along frames with σ
    (in frames) and wrap-around, divided by its RMS (the original's latents, for its seed)."""
    if frames < 1 or cells < 1:
        raise ValueError(f"a video needs at least one frame and one cell, got {frames} x {cells}")
    noise = rng.randn(frames, cells, latent_size).astype(np.float32)
    smooth = periodic_gaussian_filter(noise, sigma, axis=0)
    return smooth / np.sqrt(np.mean(np.square(smooth)))
