"""pgan_tf.media.interpolation_video: the looping random walk of a generator grid, as H.264."""

import numpy as np
import pytest
from export_helpers import keras_uint8, tiny_generator

from pgan_tf.core import images
from pgan_tf.media import interpolation_video, mp4, walk
from pgan_tf.model import sampling


def _expected(g, seed, sigma):
    z = walk.random_walk_latents(np.random.RandomState(seed), 30, 4, 16, sigma)
    return np.stack([images.grid(keras_uint8(g, cells), 2, 2) for cells in z])


def test_two_second_15_fps_2x2_video_decodes_to_the_generator_frames(tmp_path):
    """Compared in the yuv420p view (`mp4.yuv420_view`): the tiny random generator's images are
    pixel noise, whose per-pixel colour 4:2:0 cannot keep (RGB error ~18 levels at any bitrate),
    while luma comes back within ~1.2 levels and 2x2 chroma within ~3."""
    g = tiny_generator(resolution=16)
    sampler = sampling.Sampler.from_model(g)
    for smoothing in (1.0, 0.2):  # the default; a fast walk, where frame order shows
        path = str(tmp_path / f"v{smoothing}.mp4")
        n = interpolation_video.write_interpolation_video(
            sampler, path, duration_sec=2, fps=15, grid=(2, 2), smoothing_sec=smoothing,
            seed=1000, progress=False,
        )  # fmt: skip
        assert n == 30
        meta, frames = mp4.read_mp4(path)
        assert meta["codec"].startswith("h264") and meta["size"] == (32, 32) and meta["fps"] == 15
        decoded = np.stack(list(frames))
        assert decoded.shape == (30, 32, 32, 3)
        (y, c), (ey, ec) = (
            mp4.yuv420_view(decoded),
            mp4.yuv420_view(_expected(g, 1000, 15 * smoothing)),
        )
        psnr = 10 * np.log10(255**2 / np.mean((y - ey) ** 2, axis=(1, 2)))
        assert psnr.min() > 38 and np.abs(c - ec).mean(axis=(1, 2, 3)).max() < 5, psnr
        wrong_y, _ = mp4.yuv420_view(_expected(g, 1001, 15 * smoothing))  # other latents
        assert np.abs(y - wrong_y).mean(axis=(1, 2)).min() > 8
    # the fast walk: every decoded frame is nearest its own generator frame of all 30
    dist = np.abs(y[:, None] - ey[None]).mean(axis=(2, 3))
    np.testing.assert_array_equal(dist.argmin(axis=1), np.arange(30))


def test_frames_are_made_a_batch_at_a_time():
    calls = []

    def fn(latents, labels):
        calls.append(len(latents))
        return np.full((len(latents), 2, 2, 3), len(calls), np.uint8)

    sampler = sampling.Sampler(fn, latent_size=3, batch_size=8)
    latents = np.zeros((10, 4, 3), np.float32)  # 10 frames of a 2x2 grid: 2 frames per call
    frames = interpolation_video.grid_frames(sampler, latents, (2, 2))
    first = next(frames)
    assert first.shape == (4, 4, 3) and calls == [8]
    rest = list(frames)
    assert len(rest) == 9 and calls == [8] * 5
    assert rest[-1][0, 0, 0] == 5


def test_labels_per_cell_and_grid_mismatch():
    seen = []

    def fn(latents, labels):
        seen.append(labels)
        return np.zeros((len(latents), 2, 2, 3), np.uint8)

    sampler = sampling.Sampler(fn, latent_size=3, label_size=2, batch_size=4)
    labels = np.eye(2, dtype=np.float32)
    list(interpolation_video.grid_frames(sampler, np.zeros((3, 2, 3)), (1, 2), labels))
    np.testing.assert_array_equal(seen[0], np.tile(labels, (2, 1)))
    with pytest.raises(ValueError, match="4 cells of latents for a 1x2 grid"):
        next(interpolation_video.grid_frames(sampler, np.zeros((3, 4, 3)), (1, 2)))
