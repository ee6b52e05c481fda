"""pgan_tf.media.mp4: H.264 MP4 written frame by frame, read back with the same library."""

import numpy as np
import pytest

from pgan_tf.media import mp4


def _frames(n, h, w, c=3):
    rng = np.random.RandomState(0)
    base = rng.randint(0, 256, (h // 8, w // 8, c)).astype(np.uint8)
    for i in range(n):  # smooth blocks, shifted in colour per frame: compressible, distinguishable
        yield np.clip(base.repeat(8, 0).repeat(8, 1).astype(int) + 8 * i, 0, 255).astype(np.uint8)


def test_round_trip_count_size_codec_and_pixels(tmp_path):
    path = str(tmp_path / "v.mp4")
    assert mp4.write_mp4(path, _frames(12, 32, 48), fps=15) == 12
    meta, frames = mp4.read_mp4(path)
    assert meta["codec"].startswith("h264") and meta["size"] == (48, 32)
    assert meta["fps"] == 15 and meta["pix_fmt"].startswith("yuv420p")
    got = list(frames)
    assert len(got) == 12
    for a, b in zip(got, _frames(12, 32, 48)):
        assert a.shape == (32, 48, 3)
        assert np.abs(a.astype(int) - b).mean() < 3.0
    assert not [p for p in tmp_path.iterdir() if p.name != "v.mp4"]  # no temporary left


def test_grey_and_odd_sizes_become_even_rgb():
    frame = np.arange(15, dtype=np.uint8).reshape(3, 5, 1)
    out = mp4.to_rgb_even(frame)
    assert out.shape == (4, 6, 3)
    np.testing.assert_array_equal(out[:3, :5, 1], frame[..., 0])
    np.testing.assert_array_equal(out[3, :5, 0], frame[2, :, 0])  # edge repeated
    with pytest.raises(mp4.VideoError, match="HWC uint8"):
        mp4.to_rgb_even(np.zeros((4, 4, 3), np.float32))


def test_frames_are_consumed_one_at_a_time(tmp_path):
    pulled = []

    def frames():
        for i, frame in enumerate(_frames(5, 16, 16)):
            pulled.append(i)
            yield frame

    gen = frames()
    assert mp4.write_mp4(str(tmp_path / "v.mp4"), gen, fps=5) == 5
    assert pulled == list(range(5))


def test_errors_leave_nothing(tmp_path):
    with pytest.raises(mp4.VideoError, match="no frames"):
        mp4.write_mp4(str(tmp_path / "v.mp4"), iter([]), fps=5)
    mixed = [np.zeros((16, 16, 3), np.uint8), np.zeros((8, 8, 3), np.uint8)]
    with pytest.raises(mp4.VideoError, match="frame 1 is 8x8, the video 16x16"):
        mp4.write_mp4(str(tmp_path / "v.mp4"), mixed, fps=5)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(mp4.VideoError, match="video not found"):
        mp4.read_mp4(str(tmp_path / "v.mp4"))
