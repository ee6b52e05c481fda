"""pgan_tf.media.training_log: tick lines of our log and the original's, and the timeline."""

import pytest

from pgan_tf.media import training_log
from pgan_tf.media.training_log import Point

OURS = (
    "tick 7     kimg 3.6      lod 2.21  res    8 fade alpha 0.792 minibatch 16   time 1m 05s    "
    "sec/tick 1.9     sec/kimg 3.69    img/s 271.0   D -1.365 G +2.801"
)
ORIGINAL = (
    "tick 12    kimg 1940.3   lod 5.00  minibatch 128  time 1d 02h 03m     sec/tick 188.5   "
    "sec/kimg 1.18    maintenance 6.4"
)


def test_durations():
    assert training_log.parse_duration("5s") == 5
    assert training_log.parse_duration("1m 05s") == 65
    assert training_log.parse_duration("2h 03m") == 2 * 3600 + 180
    assert training_log.parse_duration("1d 02h 03m") == 86400 + 7200 + 180
    with pytest.raises(ValueError):
        training_log.parse_duration("soon")


def test_tick_lines_of_both_formats_and_other_lines():
    assert training_log.parse_tick_line(OURS) == (3.6, 2.21, 65)
    assert training_log.parse_tick_line(ORIGINAL) == (1940.3, 5.0, 93780)
    for other in (
        "Run directory: results/00000-quickstart",
        "  stage 8x8-fade  kimg 2 -> 4  minibatch 16",
        "Done: kimg 12.0 in 2m 02s.",
        "",
    ):
        assert training_log.parse_tick_line(other) is None


def _line(kimg, lod, time):
    return f"tick 1 kimg {kimg:<8.1f} lod {lod:<5.2f} res 8 time {time:<9} sec/tick 1.0\n"


def test_timeline_keeps_lines_with_a_grid_and_a_resume_replaces_the_future():
    fakes = {0: "f0", 1: "f1", 2: "f2", 3: "f3"}
    lines = [
        "Run directory: x\n",
        _line(0.5, 3.0, "5s"),
        _line(1.0, 3.0, "10s"),
        _line(1.5, 2.5, "15s"),
        _line(2.0, 2.0, "20s"),
        _line(9.0, 0.0, "1m 30s"),  # no fakes000009.png: skipped
        # resumed from the checkpoint at kimg 1.0 (time 10s): kimg 1.5 and 2.0 are replaced
        _line(1.5, 2.6, "16s"),
        _line(3.0, 1.0, "30s"),
    ]
    assert training_log.timeline(lines, fakes) == [
        Point(5, 0.5, 3.0, "f0"),
        Point(10, 1.0, 3.0, "f1"),
        Point(16, 1.5, 2.6, "f1"),
        Point(30, 3.0, 1.0, "f3"),
    ]


def test_fakes_files(tmp_path):
    for name in ("fakes000000.png", "fakes000120.png", "reals.png", "fakes.png", "fakes000001.jpg"):
        (tmp_path / name).write_bytes(b"")
    assert training_log.fakes_files(str(tmp_path)) == {
        0: str(tmp_path / "fakes000000.png"),
        120: str(tmp_path / "fakes000120.png"),
    }


def test_ticks_jsonl_records():
    """ticks.jsonl lines as train.py writes them (fields kimg, lod, train_seconds); a torn last
    line is skipped."""
    lines = [
        '{"tick": 1, "kimg": 0.512, "lod": 0.97, "train_seconds": 4.5}',
        '{"tick": 2, "kimg": 1.008, "lod": 0.0, "train_seconds": 9.25}',
        '{"tick": 3, "kimg": 1.5',
    ]
    assert training_log.parse_tick_record(lines[1]) == (1.008, 0.0, 9.25)
    assert training_log.parse_tick_record(lines[2]) is None
    points = training_log.timeline(lines, {0: "a.png", 1: "b.png"}, training_log.parse_tick_record)
    assert [(p.seconds, p.kimg, p.png) for p in points] == [
        (4.5, 0.512, "a.png"),
        (9.25, 1.008, "b.png"),
    ]
