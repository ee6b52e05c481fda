"""Many images from a generator in bounded memory: each batch is written as soon as it is made.

As the original's `generate_fake_images` (`num_pngs` grids of `grid_size` images, `image_shrink`),
joined with this project's single images: image i and the cells of the grids come from the same
row i of the latents, so `image-NNNN.png` files and `grid.png` agree. Memory holds one generator
batch and one grid, never the whole set (1000 images at 1024² would be 3 GB).
"""

from __future__ import annotations

import os

import numpy as np

from pgan_tf.core import images
from pgan_tf.core.progress import CountProgress
from pgan_tf.media import frames as frame_ops
from pgan_tf.model.sampling import Sampler


def image_name(i: int) -> str:
    return f"image-{i:04d}.png"


def grid_name(k: int, num_grids: int) -> str:
    """`grid.png` for a single grid, else `grid-KKKK.png`."""
    return "grid.png" if num_grids == 1 else f"grid-{k:04d}.png"


def count_needed(num_images: int, grid: tuple[int, int], num_grids: int) -> int:
    """Rows of latents the images and grids use."""
    return max(num_images, num_grids * grid[0] * grid[1])


def write_images(
    sampler: Sampler,
    out_dir: str,
    latents: np.ndarray,
    labels: np.ndarray | None,
    num_images: int,
    grid: tuple[int, int],
    num_grids: int = 1,
    shrink: int = 1,
    progress: bool = True,
) -> list[str]:
    """Writes image-NNNN.png for the first `num_images` latents and `num_grids` grids of
    rows × cols cells (grid k from rows k·rc ... (k+1)·rc − 1) into out_dir; returns the paths."""
    rows, cols = grid
    cells = rows * cols
    count = count_needed(num_images, grid, num_grids)
    if len(latents) < count:
        raise ValueError(f"{len(latents)} latents for {count} images")
    written, pending = [], []
    meter = CountProgress(count, "images") if progress and count > sampler.batch_size else None
    for start in range(0, count, sampler.batch_size):
        stop = min(start + sampler.batch_size, count)
        batch = sampler(latents[start:stop], None if labels is None else labels[start:stop])
        batch = frame_ops.shrink(batch, shrink)
        os.makedirs(out_dir, exist_ok=True)  # after the first batch: a bad --shrink leaves nothing
        for i, image in enumerate(batch, start):
            if i < num_images:
                written.append(os.path.join(out_dir, image_name(i)))
                images.save_png(written[-1], image)
            if i < num_grids * cells:
                pending.append(image)
                if len(pending) == cells:
                    name = grid_name(i // cells, num_grids)
                    written.append(os.path.join(out_dir, name))
                    images.save_png(written[-1], images.grid(np.stack(pending), cols, rows))
                    pending = []
        if meter:
            meter(stop)
    if meter:
        meter.done()
    return written
