"""H.264 MP4 files written frame by frame and read back, through imageio-ffmpeg's ffmpeg.

Frames go down a pipe to the ffmpeg binary that the imageio-ffmpeg wheel carries (built with
libx264), so a video of any length holds one frame in memory. The output is what phones, browsers
and desktop players open: H.264 High profile, yuv420p (frames padded to even sizes), `+faststart`
(the index first, so a browser plays while loading). The original wrote its videos through
moviepy with libx264 at 16 Mbit/s; so does this. Written to a temporary name, then renamed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

import numpy as np

from pgan_tf.core import atomic
from pgan_tf.core.errors import first_line

CODEC = "libx264"
BITRATE = "16M"
PIX_FMT = "yuv420p"


class VideoError(RuntimeError):
    """A video could not be written or read (no encoder, bad frames, ffmpeg failed)."""


def _ffmpeg():
    try:
        import imageio_ffmpeg
    except ImportError:
        raise VideoError(
            "writing MP4 needs imageio-ffmpeg (its wheel carries ffmpeg with libx264): "
            "pip install 'pgan_tf[video]'"
        ) from None
    return imageio_ffmpeg


def to_rgb_even(frame: np.ndarray) -> np.ndarray:
    """HWC uint8 (C = 1 or 3) → HWC RGB with even height and width (yuv420p stores colour per 2×2
    pixels); an odd last row or column is filled by repeating the edge."""
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[-1] not in (1, 3) or frame.dtype != np.uint8:
        raise VideoError(
            f"frames must be HWC uint8 with 1 or 3 channels, got {frame.dtype} {frame.shape}"
        )
    if frame.shape[-1] == 1:
        frame = np.repeat(frame, 3, axis=-1)
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return np.ascontiguousarray(frame)


def _encode(tmp: str, frames: Iterator[np.ndarray], fps: float, bitrate: str) -> int:
    ffmpeg = _ffmpeg()
    first = next(frames, None)
    if first is None:
        raise VideoError("no frames to write")
    first = to_rgb_even(first)
    h, w = first.shape[:2]
    writer = ffmpeg.write_frames(
        tmp,
        (w, h),
        fps=fps,
        codec=CODEC,
        pix_fmt_out=PIX_FMT,
        quality=None,
        bitrate=bitrate,
        macro_block_size=1,
        ffmpeg_log_level="error",
        output_params=["-profile:v", "high", "-movflags", "+faststart", "-f", "mp4"],
    )
    writer.send(None)
    count = 0
    try:
        frame = first
        while frame is not None:
            if frame.shape[:2] != (h, w):
                raise VideoError(
                    f"frame {count} is {frame.shape[1]}x{frame.shape[0]}, the video {w}x{h}"
                )
            writer.send(frame.tobytes())
            count += 1
            frame = next(frames, None)
            frame = None if frame is None else to_rgb_even(frame)
    finally:
        writer.close()
    return count


def write_mp4(path: str, frames: Iterable[np.ndarray], fps: float, bitrate: str = BITRATE) -> int:
    """Encodes HWC uint8 frames (consumed one at a time) into an H.264 MP4 at `path`; returns
    the number of frames written."""
    written = []

    def write(tmp):
        written.append(_encode(tmp, iter(frames), fps, bitrate))

    try:
        atomic.replace_via_temp(path, write)
    except OSError as e:
        raise VideoError(f"{path}: ffmpeg failed ({first_line(e)})") from None
    return written[0]


def read_mp4(path: str) -> tuple[dict, Iterator[np.ndarray]]:
    """(metadata, frames) of a video: imageio-ffmpeg's metadata (`codec`, `size` (w, h), `fps`,
    `duration`, `pix_fmt`) and a generator of its frames as HWC uint8 RGB."""
    if not os.path.isfile(path):
        raise VideoError(f"video not found: {path}")
    reader = _ffmpeg().read_frames(path)
    meta = reader.__next__()
    w, h = meta["size"]

    def frames():
        for raw in reader:
            yield np.frombuffer(raw, np.uint8).reshape(h, w, 3)

    return meta, frames()


def yuv420_view(frames) -> tuple[np.ndarray, np.ndarray]:
    """(luma [N, H, W], chroma [N, H/2, W/2, 2]) of NHWC RGB frames (even sizes), BT.601: what a
    yuv420p video keeps of them. Chroma is stored once per 2×2 pixels, so per-pixel RGB colour
    detail is lost by design; videos are compared with their source frames in this view."""
    rgb = np.asarray(frames, np.float64)
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    chroma = rgb @ np.array([[-0.168736, 0.5], [-0.331264, -0.418688], [0.5, -0.081312]])
    n, h, w, _ = chroma.shape
    return luma, chroma.reshape(n, h // 2, 2, w // 2, 2, 2).mean(axis=(2, 4))
