"""The tick line and record: one record per tick makes both the log line and ticks.jsonl."""

import json

import pytest

from pgan_tf.training import reporting
from pgan_tf.training.schedule import Stage


@pytest.mark.parametrize(
    "seconds, text", [(0, "0s"), (59.9, "59s"), (425, "7m 05s"), (3720, "1h 02m")]
)
def test_format_time(seconds, text):
    assert reporting.format_time(seconds) == text


def _record():
    return reporting.tick_record(
        tick=3,
        seen=12_000,
        tick_images=4000,
        stage=Stage(1, 8, True, 0.0, 20.0),
        lod=1.25,
        alpha=0.75,
        minibatch=16,
        train_seconds=425.0,
        tick_seconds=8.0,
        maintenance=0.5,
        stats=[0.5, -1.25, 0.1, 2.0, -2.0],
        wall_time=1.0,
    )


def test_tick_record_holds_the_numbers_of_the_line():
    r = _record()
    assert (r["kimg"], r["images_per_second"], r["sec_per_kimg"]) == (12.0, 500.0, 2.0)
    assert (r["loss_d"], r["loss_g"], r["resolution"], r["fade_in"]) == (0.5, -1.25, 8, True)
    assert json.loads(json.dumps(r)) == r
    line = reporting.tick_line(r)
    assert line.startswith("tick 3     kimg 12.0     lod 1.25  res    8 fade alpha 0.750")
    assert "time 7m 05s" in line and "img/s 500.0" in line and "D +0.500 G -1.250" in line


def test_append_json_line(tmp_path):
    path = str(tmp_path / "ticks.jsonl")
    reporting.append_json_line(path, {"a": 1})
    reporting.append_json_line(path, {"a": 2})
    assert [json.loads(x)["a"] for x in open(path)] == [1, 2]
