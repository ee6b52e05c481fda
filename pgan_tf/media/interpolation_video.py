"""The interpolation video: a grid of generator outputs whose latents wander smoothly and loop.

As the original's `generate_interpolation_video` (defaults 60 s at 30 fps, smoothing 1 s, seed
1000, a 1 × 1 grid, H.264 at 16 Mbit/s): the latents of every frame and cell come from
`walk.random_walk_latents`; frame i shows latents[i]. Frames are made a generator batch at a time
and streamed to the encoder, so memory does not grow with the video's length or resolution.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from pgan_tf.core import images
from pgan_tf.core.progress import CountProgress
from pgan_tf.media import frames as frame_ops
from pgan_tf.media import mp4, walk
from pgan_tf.model.sampling import Sampler

DURATION_SEC = 60.0
FPS = 30
SMOOTHING_SEC = 1.0
SEED = 1000


def grid_frames(
    sampler: Sampler,
    latents: np.ndarray,
    grid: tuple[int, int],
    labels: np.ndarray | None = None,
    shrink: int = 1,
) -> Iterator[np.ndarray]:
    """HWC uint8 video frames for latents [frames, cells, latent]: the cells of a frame tiled
    row-major into `grid` = (rows, cols), each cell with its row of `labels` [cells, classes]."""
    rows, cols = grid
    count, cells, size = latents.shape
    if cells != rows * cols:
        raise ValueError(f"{cells} cells of latents for a {rows}x{cols} grid")
    per_call = max(1, sampler.batch_size // cells)
    for start in range(0, count, per_call):
        chunk = latents[start : start + per_call]
        y = None if labels is None else np.tile(labels, (len(chunk), 1))
        out = frame_ops.shrink(sampler(chunk.reshape(-1, size), y), shrink)
        for cell_images in out.reshape(len(chunk), cells, *out.shape[1:]):
            yield images.grid(cell_images, cols, rows)


def write_interpolation_video(
    sampler: Sampler,
    path: str,
    *,
    duration_sec: float = DURATION_SEC,
    fps: float = FPS,
    smoothing_sec: float = SMOOTHING_SEC,
    grid: tuple[int, int] = (1, 1),
    seed: int = SEED,
    shrink: int = 1,
    labels: np.ndarray | None = None,
    progress: bool = True,
) -> int:
    """Writes the MP4 at `path`; returns its number of frames, rint(duration_sec × fps)."""
    if duration_sec <= 0 or fps <= 0 or smoothing_sec < 0:
        raise ValueError("--duration_sec and --fps must be > 0, --smoothing_sec >= 0")
    count = walk.num_frames(duration_sec, fps)
    rows, cols = grid
    latents = walk.random_walk_latents(
        np.random.RandomState(seed), count, rows * cols, sampler.latent_size, smoothing_sec * fps
    )
    meter = CountProgress(count, "frames") if progress else None

    def counted():
        for i, frame in enumerate(grid_frames(sampler, latents, grid, labels, shrink), 1):
            yield frame
            if meter:
                meter(i)

    written = mp4.write_mp4(path, counted(), fps)
    if meter:
        meter.done()
    return written
