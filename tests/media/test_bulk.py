"""pgan_tf.media.bulk: images and grids written as each batch is made."""

import os

import numpy as np
from PIL import Image

from pgan_tf.core import images
from pgan_tf.media import bulk
from pgan_tf.model import sampling


def _sampler(out_dir, log):
    """A generator whose image i (4x4 RGB, NHWC as a Sampler's fn must give) is filled with i; it
    records which files existed at each call."""

    def fn(latents, labels):
        log.append(sorted(os.listdir(out_dir)) if os.path.isdir(out_dir) else [])
        return np.broadcast_to(latents[:, :1, None, None].astype(np.uint8), (len(latents), 4, 4, 3))

    return sampling.Sampler(fn, latent_size=1, batch_size=3)


def test_images_and_grids_stream_out(tmp_path):
    out, log = str(tmp_path / "out"), []
    latents = np.arange(9, dtype=np.float32)[:, None]  # [9, 1]: image i is filled with i
    sampler = _sampler(out, log)
    written = bulk.write_images(sampler, out, latents, None, 5, (2, 2), num_grids=2, shrink=2)
    names = [os.path.basename(p) for p in written]
    assert names == [
        "image-0000.png", "image-0001.png", "image-0002.png", "image-0003.png", "grid-0000.png",
        "image-0004.png", "grid-0001.png",
    ]  # fmt: skip
    # the second call came after the first batch's three images were on disk
    assert log[1] == ["image-0000.png", "image-0001.png", "image-0002.png"]
    assert len(log) == 3  # 8 rows of latents needed (2 grids of 4), 3 at a time
    img = np.array(Image.open(os.path.join(out, "image-0004.png")))
    assert img.shape == (2, 2, 3) and np.all(img == 4)  # shrunk 4x4 -> 2x2
    grid = np.array(Image.open(os.path.join(out, "grid-0001.png")))
    cells = np.stack([np.full((2, 2, 3), v, np.uint8) for v in (4, 5, 6, 7)])
    np.testing.assert_array_equal(grid, images.grid(cells, 2, 2))


def test_names_and_counts():
    assert bulk.grid_name(0, 1) == "grid.png" and bulk.grid_name(3, 10) == "grid-0003.png"
    assert bulk.count_needed(1000, (4, 4), 1) == 1000
    assert bulk.count_needed(2, (15, 8), 10) == 1200
    assert bulk.count_needed(0, (2, 2), 0) == 0


def test_shrink_refuses_images_without_channels():
    with np.testing.assert_raises_regex(ValueError, "NHWC images, got shape"):
        bulk.frame_ops.shrink(np.zeros((2, 4, 4), np.uint8), 2)
