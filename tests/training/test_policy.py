"""The loop's *when*: tick boundaries, call lengths and what follows each tick, checked against
hand-counted runs of the original's cadence (no training)."""

import pytest

from pgan_tf.training import policy
from pgan_tf.training.config import LogConfig
from pgan_tf.training.policy import Action


def test_tick_target_is_the_first_of_tick_stage_and_run_end():
    assert policy.tick_target(0, 4.0, None, 100_000) == 4000
    assert policy.tick_target(4000, 4.0, 6000, 100_000) == 6000  # no tick spans a stage switch
    assert policy.tick_target(98_000, 4.0, None, 100_000) == 100_000  # nor the end of training
    assert policy.tick_target(0, 0.0015, None, 10) == 1  # int(kimg * 1000), as the loop counts


@pytest.mark.parametrize(
    "seen, target, batch, per_call, steps",
    [
        (0, 4000, 16, 8, 8),  # a full call
        (3968, 4000, 16, 8, 2),  # only what reaches the target
        (3990, 4000, 16, 8, 1),  # a partial batch still needs one step
        (4000, 4000, 16, 8, 1),  # at least one step
    ],
)
def test_steps_for_call(seen, target, batch, per_call, steps):
    assert policy.steps_for_call(seen, target, batch, per_call) == steps


def test_tick_fraction_and_progress():
    assert policy.tick_fraction(1500, 1000, 2.0) == 0.25
    cadence = policy.Cadence(progress_seconds=15.0)
    assert policy.progress_due(cadence, 116.0, 100.0)
    assert not policy.progress_due(cadence, 115.0, 100.0)


def test_cadence_of_a_whole_run():
    """12 ticks with grids every 2, networks every 5, metrics every 4: the actions tick by tick."""
    cadence = policy.Cadence(
        image_snapshot_ticks=2, network_snapshot_ticks=5, metrics_ticks=4, metrics=True
    )
    got = {t: policy.at_tick_end(cadence, t, run_done=t == 12) for t in range(1, 13)}
    nets = Action.CHECKPOINT | Action.SNAPSHOT
    assert got[1] == Action.NONE
    assert got[2] == Action.FAKES
    assert got[4] == Action.FAKES | Action.METRICS
    assert got[5] == nets
    assert got[10] == Action.FAKES | nets
    assert got[11] == Action.NONE
    # the last tick: grids and metrics; its networks are `AT_RUN_END`'s, not saved twice
    assert got[12] == Action.FAKES | Action.METRICS
    assert policy.AT_RUN_END == nets


def test_no_metrics_when_none_asked_for():
    cadence = policy.Cadence(metrics_ticks=1, metrics=False)
    assert Action.METRICS not in policy.at_tick_end(cadence, 1, run_done=True)


def test_actions_come_in_order_and_stop_and_fault_keep_a_checkpoint():
    everything = Action.METRICS | Action.SNAPSHOT | Action.FAKES | Action.CHECKPOINT
    assert policy.in_order(everything) == [
        Action.FAKES,
        Action.CHECKPOINT,
        Action.SNAPSHOT,
        Action.METRICS,
    ]
    assert policy.in_order(Action.NONE) == []
    assert policy.AT_STOP == Action.CHECKPOINT == policy.AT_FAULT


def test_cadence_from_the_log_config():
    log = LogConfig(image_snapshot_ticks=3, network_snapshot_ticks=7, metrics=("swd",))
    cadence = policy.Cadence.from_log_config(log)
    assert (cadence.image_snapshot_ticks, cadence.network_snapshot_ticks) == (3, 7)
    assert cadence.metrics
    assert not policy.Cadence.from_log_config(LogConfig()).metrics
