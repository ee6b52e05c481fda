"""What a stage switch costs: building the networks and transferring weights, tracing the step,
and the first call's compile time above an ordinary call of the same stage (issue 12, part 4)."""

import dataclasses


@dataclasses.dataclass
class _Stage:
    name: str
    build_s: float
    trace_s: float
    first_call: tuple = None  # (seconds, steps)


class SwitchTimer:
    """Collects the switch times of every stage of a run; `called` returns the stage's log line
    once its second compiled call shows what an ordinary call costs."""

    def __init__(self):
        self.total_s = 0.0
        self.stages = 0
        self._stage = None

    def entered(self, name, build_s, trace_s):
        self._stage = _Stage(name, build_s, trace_s)

    def called(self, seconds, steps):
        """Records one compiled call of `steps` steps; a line for the log after a stage's second
        call."""
        stage = self._stage
        if stage is None:
            return None
        if stage.first_call is None:
            stage.first_call = (seconds, steps)
            return None
        first_s, first_steps = stage.first_call
        compile_s = max(0.0, first_s - first_steps * seconds / steps)
        switch_s = stage.build_s + stage.trace_s + compile_s
        self.total_s += switch_s
        self.stages += 1
        self._stage = None
        return (
            f"  switch to {stage.name}: {switch_s:.1f}s (networks + weight transfer "
            f"{stage.build_s:.1f}s, tracing {stage.trace_s:.1f}s, first call {first_s:.1f}s of "
            f"which {compile_s:.1f}s above an ordinary call)"
        )

    def summary(self, run_s):
        return (
            f"Stage switches: {self.total_s:.0f}s over {self.stages} stages, "
            f"{100 * self.total_s / max(run_s, 1e-9):.1f}% of the run's {run_s:.0f}s"
        )
