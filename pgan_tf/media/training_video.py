"""The training video: a run's fakes grids in time order, with lod, training time and kimg.

As the original's `generate_training_video` (defaults 20 s at 30 fps, time warp 1.5): frame i at
t = i / fps shows the last point of the run's timeline (`training_log.timeline`) reached at
wall-clock (t / duration)^1.5 × the run's last time, so the fast-changing start gets more frames;
each grid is halved until it fits 1920 × 1080, and `lod %.2f` (left), the time (centre) and
`%.0f kimg` (right) are written along its bottom edge. Beyond the original: grids under 480 pixels
tall (small runs) are enlarged by an integer factor so the labels fit, and a run without tick lines
(an imported run, a lost log) still gets a video of whatever fakes grids it has, placed by kimg,
with lods from its schedule and no time label.
"""

from __future__ import annotations

import bisect
import os

import numpy as np
from PIL import Image

from pgan_tf.core.progress import CountProgress
from pgan_tf.media import frames as frame_ops
from pgan_tf.media import mp4, text, training_log, walk
from pgan_tf.training import rundir, schedule

DURATION_SEC = 20.0
FPS = 30
TIME_WARP = 1.5
MIN_HEIGHT = 480
MARGIN_X, MARGIN_Y = 16, 4


def format_time(seconds: float) -> str:
    """'42s', '3m 07s', '2h 05m 09s', '1d 03h 12m': the original's way of writing a duration."""
    s = int(np.rint(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s // 60 % 60:02d}m {s % 60:02d}s"
    return f"{s // 86400}d {s // 3600 % 24:02d}h {s // 60 % 60:02d}m"


def run_timeline(run_dir: str) -> tuple[list[training_log.Point], bool]:
    """(points, timed) of a run: from its ticks.jsonl, else its log.txt (imported or older runs)
    (timed), or without usable ticks one point per fakes grid at its kimg (x axis kimg)."""
    rundir.check_run_dir(run_dir)
    fakes = training_log.fakes_files(run_dir)
    if not fakes:
        raise ValueError(f"no fakes*.png in {run_dir}: nothing to make a training video of")
    sources = (
        (rundir.TICKS_NAME, training_log.parse_tick_record),
        (rundir.LOG_NAME, training_log.parse_tick_line),
    )
    for name, parse in sources:
        path = os.path.join(run_dir, name)
        if os.path.isfile(path):
            with open(path, errors="replace") as f:
                points = training_log.timeline(f, fakes, parse)
            if points:
                return points, True
    sched = rundir.read_config(run_dir).train.schedule
    points = [
        training_log.Point(None, float(k), schedule.lod_at(sched, float(k)), fakes[k])
        for k in sorted(fakes)
    ]
    return points, False


def point_index(positions: list[float], t: float, duration_sec: float, warp: float) -> int:
    """Index of the point shown at video time t: the last one at or before
    (t / duration)^warp × positions[-1] (the first one before any)."""
    target = (t / duration_sec) ** warp * positions[-1]
    return max(bisect.bisect_right(positions, target) - 1, 0)


def _load(png: str, size: tuple[int, int] | None) -> np.ndarray:
    with Image.open(png) as im:
        image = im.convert("RGB")
    if size is not None and image.size != size:
        image = image.resize(size, Image.NEAREST)
    return np.asarray(image)


def labelled(image: np.ndarray, point: training_log.Point, seconds: float | None) -> np.ndarray:
    """The frame of a point: lod, time (if known) and kimg along the bottom edge."""
    h, w = image.shape[:2]
    out = text.draw_label(image, f"lod {point.lod:.2f}", MARGIN_X, h - MARGIN_Y, 0.0, 1.0)
    if seconds is not None:
        out = text.draw_label(out, format_time(seconds), w // 2, h - MARGIN_Y, 0.5, 1.0)
    return text.draw_label(out, f"{point.kimg:.0f} kimg", w - MARGIN_X, h - MARGIN_Y, 1.0, 1.0)


def training_frames(points, timed, count, fps, duration_sec, warp):
    """The video's HWC uint8 frames, one grid decoded and fitted at a time."""
    positions = [p.seconds if timed else p.kimg for p in points]
    cache, size = (None, None), None
    for i in range(count):
        t = i / fps
        point = points[point_index(positions, t, duration_sec, warp)]
        if cache[0] != point.png:
            grid = _load(point.png, size)
            size = size or (grid.shape[1], grid.shape[0])
            grid = frame_ops.zoom_to_height(frame_ops.halve_to_fit(grid), MIN_HEIGHT)
            cache = (point.png, grid)
        wallclock = (t / duration_sec) ** warp * positions[-1]
        yield labelled(cache[1], point, wallclock if timed else None)


def write_training_video(
    run_dir: str,
    path: str,
    *,
    duration_sec: float = DURATION_SEC,
    fps: float = FPS,
    time_warp: float = TIME_WARP,
    progress: bool = True,
) -> tuple[int, int, bool]:
    """Writes the MP4; returns (frames, points of the timeline, timed)."""
    if duration_sec <= 0 or fps <= 0:
        raise ValueError("--duration_sec and --fps must be > 0")
    points, timed = run_timeline(run_dir)
    count = walk.num_frames(duration_sec, fps)
    meter = CountProgress(count, "frames") if progress else None

    def counted():
        frames = training_frames(points, timed, count, fps, duration_sec, time_warp)
        for i, frame in enumerate(frames, 1):
            yield frame
            if meter:
                meter(i)

    written = mp4.write_mp4(path, counted(), fps)
    if meter:
        meter.done()
    return written, len(points), timed
