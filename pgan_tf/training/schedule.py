"""The progressive-growing schedule: images shown → resolution, fade-in α, minibatch, lr
(paper A.1).

As the original `train.py`: training starts at `initial_resolution` (its `lod_initial_resolution`);
every phase first stabilizes for `lod_training_kimg`, then fades in the next block over
`lod_transition_kimg`; the level of detail (lod) counts down to 0 at the final resolution, where
training continues. Without growing (the original's `-nogrowing`) training starts at the final
resolution. A stage is one (resolution, fade_in) pair, trained by one compiled step.

`Schedule.at(kimg)` is the one place the loop asks what to train next: stage, lod, α, minibatch,
learning rate and tick length, as the original's `TrainingSchedule` gives them.
"""

import dataclasses
import functools
import math

import tensorflow as tf

from pgan_tf.core.resolution import join_lod, res_log2
from pgan_tf.core.settings import resolution_table, setting

# kimg per tick at each resolution: the original's `tick_kimg_dict` (train.py TrainingSchedule).
DEFAULT_TICK_KIMG = (
    (4, 160),
    (8, 140),
    (16, 120),
    (32, 100),
    (64, 80),
    (128, 60),
    (256, 40),
    (512, 20),
    (1024, 10),
)


@dataclasses.dataclass(frozen=True)
class ScheduleConfig:
    """How long each phase lasts and the per-resolution minibatch / learning-rate tables."""

    resolution: int  # the final resolution: --resolution, or the dataset's
    total_kimg: float = setting(15000.0, help="Images shown in total, in thousands.")
    initial_resolution: int = setting(
        4,
        help="Resolution the schedule starts at, with fresh networks (the original's "
        "lod_initial_resolution; e.g. 1024 runs the last stage directly, like its "
        "BENCHMARK0 mode).",
    )
    lod_training_kimg: float = setting(
        600.0,
        help="Stabilization images per phase, in thousands (paper 800, original default 600).",
    )
    lod_transition_kimg: float = setting(
        600.0, help="Fade-in images per phase, in thousands (paper 800, original default 600)."
    )
    minibatch_base: int = setting(16, help="Global minibatch where minibatch_dict says nothing.")
    minibatch_dict: tuple = setting(  # ((resolution, minibatch), ...): a tuple, so it hashes
        (),
        flag_default="",
        parse=lambda text: resolution_table(text, int, "minibatch_dict"),
        help="Per-resolution global minibatch, e.g. '256:14,512:6,1024:3'.",
    )
    lr_base: float = setting(0.001, help="Adam learning rate where lr_dict says nothing.")
    lr_dict: tuple = setting(
        (),
        flag_default="",
        parse=lambda text: resolution_table(text, float, "lr_dict"),
        help="Per-resolution learning rate, e.g. '1024:0.0015'.",
    )
    growing: bool = setting(  # False: the final resolution from the start (paper Table 1, row a)
        True,
        help="Progressive growing; --nogrowing trains at the final resolution from the "
        "start (the original's -nogrowing).",
    )

    def __post_init__(self):
        if res_log2(self.initial_resolution) > res_log2(self.resolution):
            raise ValueError(
                f"initial_resolution {self.initial_resolution} is above resolution "
                f"{self.resolution}"
            )
        for name in ("total_kimg", "lod_training_kimg", "lod_transition_kimg"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if (
            self.start_resolution < self.resolution
            and self.lod_training_kimg + self.lod_transition_kimg <= 0
        ):
            raise ValueError("lod_training_kimg + lod_transition_kimg must be > 0")
        if self.minibatch_base <= 0 or any(b <= 0 for _, b in self.minibatch_dict):
            raise ValueError("minibatch sizes must be positive")
        if self.lr_base <= 0 or any(v <= 0 for _, v in self.lr_dict):
            raise ValueError("learning rates must be positive")

    @property
    def start_resolution(self) -> int:
        """The resolution training starts at."""
        return self.initial_resolution if self.growing else self.resolution

    def minibatch(self, resolution: int) -> int:
        return int(dict(self.minibatch_dict).get(resolution, self.minibatch_base))

    def learning_rate(self, resolution: int) -> float:
        return float(dict(self.lr_dict).get(resolution, self.lr_base))


@dataclasses.dataclass(frozen=True)
class Stage:
    """One stage of training: a fixed architecture between two points of the schedule."""

    index: int
    resolution: int
    fade_in: bool
    start_kimg: float
    end_kimg: float  # math.inf for the last stage

    @property
    def name(self) -> str:
        return f"{self.resolution}x{self.resolution}" + ("-fade" if self.fade_in else "")


@dataclasses.dataclass(frozen=True)
class ScheduleState:
    """Where training is at a given kimg: everything the loop needs for its next step."""

    kimg: float
    lod: float
    resolution: int
    fade_in: bool
    alpha: float
    minibatch: int
    learning_rate: float
    stage: Stage | None = None
    tick_kimg: float = 0.0

    @property
    def stage_end_images(self) -> int | None:
        """Images shown when the stage ends (None: the last stage, which runs to the end)."""
        end = self.stage.end_kimg
        return int(math.ceil(end * 1000)) if math.isfinite(end) else None


def tick_kimg_at(table: tuple, resolution: int) -> float:
    """kimg per tick at `resolution` from a ((resolution, kimg), ...) table: its entry, else the
    entry of the nearest resolution below, else the smallest tick."""
    table = dict(table)
    if resolution in table:
        return table[resolution]
    below = [r for r in table if r <= resolution]
    return table[max(below)] if below else min(table.values())


class Schedule:
    """The run's schedule: `ScheduleConfig` with its stages computed once, and the tick table."""

    def __init__(self, config: ScheduleConfig, tick_kimg: tuple = DEFAULT_TICK_KIMG):
        self.config = config
        self.tick_kimg = tick_kimg
        self.stages = stages(config)
        self.total_images = int(round(config.total_kimg * 1000))

    def stage_at(self, kimg: float) -> Stage:
        return stage_at(self.config, kimg)

    def at(self, kimg: float) -> ScheduleState:
        """Stage, lod, α, minibatch, learning rate and tick length at `kimg`."""
        state = schedule_at(self.config, kimg)
        return dataclasses.replace(
            state,
            stage=self.stage_at(kimg),
            tick_kimg=tick_kimg_at(self.tick_kimg, state.resolution),
        )


def lod_at(config: ScheduleConfig, kimg: float) -> float:
    """The original's level of detail at `kimg`, counting down to 0 at the final resolution:
    log2(final resolution) − log2(the stage's resolution), plus 1 − α while a block fades in."""
    stage = stage_at(config, kimg)
    return join_lod(
        config.resolution, stage.resolution, float(fade_alpha(stage, kimg * 1000, config))
    )


def schedule_at(config: ScheduleConfig, kimg: float) -> ScheduleState:
    """Stage resolution, fade-in α, lod, minibatch and lr at `kimg` thousand images shown."""
    stage = stage_at(config, kimg)
    return ScheduleState(
        kimg=kimg,
        lod=lod_at(config, kimg),
        resolution=stage.resolution,
        fade_in=stage.fade_in,
        alpha=float(fade_alpha(stage, kimg * 1000, config)),
        minibatch=config.minibatch(stage.resolution),
        learning_rate=config.learning_rate(stage.resolution),
    )


@functools.cache
def stages(config: ScheduleConfig) -> tuple[Stage, ...]:
    """Every stage of the run in order, with the kimg at which it starts and ends (computed once
    per configuration).

    A fade stage runs from the end of a phase's stabilization to the end of its transition; the
    last stage (the final resolution, stable) runs until training stops.
    """
    out = []
    phase_dur = config.lod_training_kimg + config.lod_transition_kimg
    steps = res_log2(config.resolution) - res_log2(config.start_resolution)
    start = 0.0
    for p in range(steps + 1):
        res = config.start_resolution * 2**p
        if p > 0 and config.lod_transition_kimg > 0:
            fade_start = (p - 1) * phase_dur + config.lod_training_kimg
            out.append(Stage(len(out), res, True, fade_start, p * phase_dur))
            start = p * phase_dur
        end = p * phase_dur + config.lod_training_kimg if p < steps else math.inf
        if p > 0 and config.lod_transition_kimg == 0:
            start = (p - 1) * phase_dur + config.lod_training_kimg
        out.append(Stage(len(out), res, False, start, end))
    return tuple(s for s in out if s.end_kimg > s.start_kimg)


def stage_at(config: ScheduleConfig, kimg: float) -> Stage:
    """The stage that trains at `kimg` (stages start inclusive, end exclusive)."""
    for stage in stages(config):
        if stage.start_kimg <= kimg < stage.end_kimg:
            return stage
    raise ValueError(f"kimg {kimg} is outside the schedule")


def fade_alpha(
    stage: Stage, images_seen: float | tf.Tensor | tf.Variable, config: ScheduleConfig
) -> tf.Tensor:
    """α of `stage` once `images_seen` images have been shown: the fraction of its transition done,
    in [0, 1] (float32 tensor); 1 for a stable stage.

    The one formula of α: the compiled step passes the run's int64 counter (a tensor; α then moves
    every step without retracing), evaluation and logging a Python number.
    """
    if not stage.fade_in:
        return tf.constant(1.0)
    done = tf.cast(images_seen - int(round(stage.start_kimg * 1000)), tf.float32)
    return tf.clip_by_value(done / (config.lod_transition_kimg * 1000), 0.0, 1.0)
