"""A run's progress read back from its log.txt and fakes<kimg>.png files, for the training video.

A tick line is any line holding `kimg <number>`, `lod <number>` and `time <d/h/m/s parts>`
(ours: `tick 3  kimg 1.5  lod 2.00 ... time 1m 05s ...`; the original's read the same three
fields). As the original's training video: a tick line whose floor(kimg) has a `fakes%06d.png`
(the original's name, and ours) is one point of the video, at that line's time. Lines of a resumed
run that went back in time (a resume from an older checkpoint) replace the later points of the
first attempt, so time only grows.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re

from pgan_tf.training import rundir

_KIMG = re.compile(r"\bkimg\s+(\d+(?:\.\d*)?)")
_LOD = re.compile(r"\blod\s+(\d+(?:\.\d*)?)")
_TIME = re.compile(r"\btime\s+((?:\d+[dhms]\b\s*)+)")
_PART = re.compile(r"(\d+)([dhms])")
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


@dataclasses.dataclass(frozen=True)
class Point:
    """One moment of the training video: the fakes grid shown and the numbers written on it
    (`seconds` of training, None when the log did not say)."""

    seconds: float | None
    kimg: float
    lod: float
    png: str


def parse_duration(text: str) -> int:
    """Seconds of a log's time field: '5s', '1m 05s', '2h 03m', '1d 02h 03m' (any of d h m s)."""
    parts = _PART.findall(text)
    if not parts:
        raise ValueError(f"not a duration: {text!r}")
    return sum(int(n) * _SECONDS[unit] for n, unit in parts)


def parse_tick_line(line: str) -> tuple[float, float, int] | None:
    """(kimg, lod, seconds) of a tick line, or None for any other line."""
    kimg, lod, time = _KIMG.search(line), _LOD.search(line), _TIME.search(line)
    if not (kimg and lod and time):
        return None
    return float(kimg.group(1)), float(lod.group(1)), parse_duration(time.group(1))


def fakes_files(run_dir: str) -> dict[int, str]:
    """{kimg: path} of the run's fakes<kimg>.png grids (named by `rundir`)."""
    return dict(rundir.list_fakes(run_dir))


def parse_tick_record(line: str) -> tuple[float, float, float] | None:
    """(kimg, lod, seconds) of a ticks.jsonl line (`kimg`, `lod`, `train_seconds`), or None for
    a line that is not such a record (a torn last line of a killed run)."""
    try:
        record = json.loads(line)
        return float(record["kimg"]), float(record["lod"]), float(record["train_seconds"])
    except (ValueError, TypeError, KeyError):
        return None


def timeline(log_lines, fakes: dict[int, str], parse=parse_tick_line) -> list[Point]:
    """The video's points, in time order: one per tick (a line `parse` reads: log.txt's by
    default, `parse_tick_record` for ticks.jsonl) whose floor(kimg) has a fakes grid."""
    points: list[Point] = []
    for line in log_lines:
        tick = parse(line)
        if tick is None:
            continue
        kimg, lod, seconds = tick
        while points and (points[-1].kimg >= kimg or points[-1].seconds > seconds):
            points.pop()
        png = fakes.get(math.floor(kimg))
        if png is not None:
            points.append(Point(seconds, kimg, lod, png))
    return points
