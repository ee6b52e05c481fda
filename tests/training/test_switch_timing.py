"""Stage-switch accounting: build + trace + the first call's excess over an ordinary call."""

import pytest

from pgan_tf.training.switch_timing import SwitchTimer


def test_switch_time_is_build_trace_and_first_call_excess():
    timer = SwitchTimer()
    assert timer.called(1.0, 8) is None  # no stage entered: nothing to report
    timer.entered("8x8 fade", build_s=0.5, trace_s=2.0)
    assert timer.called(5.0, 8) is None  # the first call alone says nothing about compiling
    line = timer.called(0.5, 4)  # an ordinary call: 0.125 s per step, so 8 steps are 1.0 s
    assert line == (
        "  switch to 8x8 fade: 6.5s (networks + weight transfer 0.5s, tracing 2.0s, "
        "first call 5.0s of which 4.0s above an ordinary call)"
    )
    assert timer.called(0.5, 4) is None  # once per stage
    timer.entered("8x8", build_s=0.25, trace_s=0.25)
    timer.called(0.9, 8)
    assert "of which 0.0s above" in timer.called(1.0, 8)  # a fast first call never counts negative
    assert timer.total_s == pytest.approx(7.0) and timer.stages == 2
    assert timer.summary(140.0) == "Stage switches: 7s over 2 stages, 5.0% of the run's 140s"
