"""When the training loop does what: the length of each compiled call, where a tick ends, and
what happens then (sample grid, checkpoint, generator snapshot, metrics), on a stop signal, after
a fault and at the end of the run.

Pure functions of counters and the log settings, so every rule is tested without training
(tests/training/test_policy.py). The loop (`training/loop.py`) asks and performs; it decides
nothing itself. The cadence follows the original's `train.py`: a tick is `tick_kimg` images
(per resolution), grids every `image_snapshot_ticks`, networks every `network_snapshot_ticks`
ticks, and a last snapshot when training ends.
"""

import dataclasses
import enum
import math


class Action(enum.Flag):
    """Work the loop does between compiled calls, performed in this order."""

    NONE = 0
    FAKES = enum.auto()  # the sample grid `fakes<kimg>.png`
    CHECKPOINT = enum.auto()  # full training state, for resuming
    SNAPSHOT = enum.auto()  # the EMA generator as `network-snapshot-<kimg>.keras`
    METRICS = enum.auto()  # the run's --metrics


ORDER = (Action.FAKES, Action.CHECKPOINT, Action.SNAPSHOT, Action.METRICS)
AT_STOP = Action.CHECKPOINT  # SIGINT / SIGTERM: keep the steps done, then exit
AT_FAULT = Action.CHECKPOINT  # a corrupt record or a lost worker: keep the completed steps
AT_RUN_END = Action.CHECKPOINT | Action.SNAPSHOT  # after the last tick


@dataclasses.dataclass(frozen=True)
class Cadence:
    """The log settings that say how often (in ticks) each action comes."""

    image_snapshot_ticks: int = 1
    network_snapshot_ticks: int = 10
    metrics_ticks: int = 10
    metrics: bool = False  # any metric asked for
    progress_seconds: float = 15.0

    @classmethod
    def from_log_config(cls, log) -> "Cadence":
        """From a `config.LogConfig`."""
        return cls(
            image_snapshot_ticks=log.image_snapshot_ticks,
            network_snapshot_ticks=log.network_snapshot_ticks,
            metrics_ticks=log.metrics_ticks,
            metrics=bool(log.metrics),
            progress_seconds=log.progress_seconds,
        )


def tick_target(tick_start: int, tick_kimg: float, stage_end: int | None, total: int) -> int:
    """Images shown when the current tick ends: after `tick_kimg`, at the stage's end (no tick
    spans a stage switch) or at the end of training, whichever comes first."""
    end = tick_start + int(tick_kimg * 1000)
    return min(end, total, stage_end if stage_end is not None else total)


def steps_for_call(seen: int, target: int, global_batch: int, steps_per_call: int) -> int:
    """Steps of the next compiled call: up to `steps_per_call`, no more than reach `target`
    (at least one)."""
    return max(1, min(steps_per_call, math.ceil((target - seen) / global_batch)))


def tick_fraction(seen: int, tick_start: int, tick_kimg: float) -> float:
    """How much of the tick is done, for the progress line."""
    return (seen - tick_start) / max(1, int(tick_kimg * 1000))


def progress_due(cadence: Cadence, now: float, last_progress: float) -> bool:
    """A progress line inside a long tick, every `progress_seconds`."""
    return now - last_progress > cadence.progress_seconds


def at_tick_end(cadence: Cadence, tick: int, run_done: bool) -> Action:
    """What follows the end of tick number `tick` (counted from 1); `run_done`: the last tick,
    whose networks `AT_RUN_END` saves."""
    actions = Action.NONE
    if tick % cadence.image_snapshot_ticks == 0 or run_done:
        actions |= Action.FAKES
    if tick % cadence.network_snapshot_ticks == 0 and not run_done:
        actions |= Action.CHECKPOINT | Action.SNAPSHOT
    if cadence.metrics and (tick % cadence.metrics_ticks == 0 or run_done):
        actions |= Action.METRICS
    return actions


def in_order(actions: Action) -> list[Action]:
    """The single actions of `actions`, in the order they are performed."""
    return [a for a in ORDER if a in actions]
