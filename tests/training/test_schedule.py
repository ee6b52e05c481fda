"""The growth schedule against hand-computed values (original 600/600 and paper 800/800)."""

import math

import pytest

from pgan_tf.training import schedule


def _cfg(train=600, trans=600, res=32, **kw):
    return schedule.ScheduleConfig(
        resolution=res, total_kimg=10000, lod_training_kimg=train, lod_transition_kimg=trans, **kw
    )


@pytest.mark.parametrize(
    "kimg,res,fade,alpha,lod",
    [
        (0, 4, False, 1.0, 3.0),
        (599.9, 4, False, 1.0, 3.0),
        (600, 8, True, 0.0, 3.0),  # the fade stage starts: α 0, the same images as 4x4
        (750, 8, True, 0.25, 2.75),
        (900, 8, True, 0.5, 2.5),
        (1200, 8, False, 1.0, 2.0),
        (2100, 16, True, 0.5, 1.5),
        (3300, 32, True, 0.5, 0.5),
        (3600, 32, False, 1.0, 0.0),
        (9000, 32, False, 1.0, 0.0),
    ],
)
def test_schedule_600_600(kimg, res, fade, alpha, lod):
    s = schedule.schedule_at(_cfg(), kimg)
    assert (s.resolution, s.fade_in) == (res, fade)
    assert s.alpha == pytest.approx(alpha) and s.lod == pytest.approx(lod)


def test_schedule_paper_800_800_celebahq_minibatches():
    cfg = schedule.ScheduleConfig(
        resolution=1024,
        total_kimg=12000,
        lod_training_kimg=800,
        lod_transition_kimg=800,
        minibatch_dict=((256, 14), (512, 6), (1024, 3)),
    )
    # 256² fades in from 128² between 8800 and 9600 kimg (phase 5, after 800 stable at 128²)
    s = schedule.schedule_at(cfg, 9000)
    assert (s.resolution, s.fade_in, s.minibatch) == (256, True, 14)
    assert s.alpha == pytest.approx(0.25)
    assert schedule.schedule_at(cfg, 1000).minibatch == 16
    assert schedule.schedule_at(cfg, 1000).alpha == pytest.approx(0.25)
    last = schedule.schedule_at(cfg, 12800)  # 8 doublings × 1600 kimg
    assert (last.resolution, last.fade_in, last.minibatch) == (1024, False, 3)
    assert schedule.schedule_at(cfg, 4000).learning_rate == 0.001


def test_stage_list():
    stages = schedule.stages(_cfg())
    got = [(s.resolution, s.fade_in, s.start_kimg, s.end_kimg) for s in stages]
    assert got == [
        (4, False, 0, 600),
        (8, True, 600, 1200),
        (8, False, 1200, 1800),
        (16, True, 1800, 2400),
        (16, False, 2400, 3000),
        (32, True, 3000, 3600),
        (32, False, 3600, math.inf),
    ]
    assert [s.index for s in stages] == list(range(7))
    assert schedule.stage_at(_cfg(), 2500).name == "16x16"


def test_lod_and_alpha_follow_the_originals_phases_everywhere():
    """The original's lod, from its phase arithmetic, against our stage and α."""
    cfg = _cfg(train=3, trans=5)
    for k in range(0, 400):
        kimg = k * 0.1 + 0.05
        phase, in_phase = divmod(kimg, 8)
        progress = max(in_phase - 3, 0) / 5
        want_lod = max(3 - phase - progress, 0.0)
        state = schedule.schedule_at(cfg, kimg)
        assert state.lod == pytest.approx(want_lod, abs=1e-6)
        assert state.resolution == 32 >> math.floor(want_lod)
        assert state.fade_in == (0 < want_lod % 1)
        assert state.alpha == pytest.approx(1 - want_lod % 1 if state.fade_in else 1.0, abs=1e-6)


def test_fade_alpha_of_images_shown_in_python_and_in_a_compiled_step():
    import tensorflow as tf

    cfg = _cfg(train=600, trans=600)
    fade = schedule.stage_at(cfg, 700)  # 8x8 fades in from 600 to 1200 kimg
    seen = (0, 600_000, 750_000, 1_200_000, 2_000_000)
    assert [float(schedule.fade_alpha(fade, n, cfg)) for n in seen] == [0.0, 0.0, 0.25, 1.0, 1.0]
    assert float(schedule.fade_alpha(schedule.stage_at(cfg, 100), 50_000, cfg)) == 1.0
    seen = tf.Variable(900_000, dtype=tf.int64)
    assert float(tf.function(lambda: schedule.fade_alpha(fade, seen, cfg))()) == 0.5


def test_no_transition_jumps():
    cfg = _cfg(train=100, trans=0, res=16)
    assert [(s.resolution, s.fade_in, s.start_kimg) for s in schedule.stages(cfg)] == [
        (4, False, 0),
        (8, False, 100),
        (16, False, 200),
    ]
    assert schedule.schedule_at(cfg, 150).resolution == 8


def test_tables_and_validation():
    cfg = _cfg(minibatch_dict=((8, 32),), lr_dict=((16, 0.002),))
    assert cfg.minibatch(8) == 32 and cfg.minibatch(4) == 16
    assert cfg.learning_rate(16) == 0.002 and cfg.learning_rate(8) == 0.001
    with pytest.raises(ValueError, match="total_kimg must be >= 0"):
        schedule.ScheduleConfig(resolution=32, total_kimg=-1)
    with pytest.raises(ValueError, match="above resolution"):
        schedule.ScheduleConfig(resolution=8, total_kimg=1, initial_resolution=16)
    with pytest.raises(ValueError, match="power of two"):
        schedule.ScheduleConfig(resolution=24, total_kimg=1)


def test_schedule_at_gives_everything_a_step_needs():
    """`Schedule.at`: the stage, lod, α, minibatch, lr and the tick length of its resolution, with
    the original's tick table (160 kimg at 4², 140 at 8², ...)."""
    sched = schedule.Schedule(_cfg())
    start = sched.at(0.0)
    assert (start.stage.index, start.resolution, start.tick_kimg) == (0, 4, 160)
    assert start.stage_end_images == 600_000
    mid = sched.at(900.0)  # half-way through the 8x8 fade-in
    assert (mid.stage.resolution, mid.stage.fade_in, mid.tick_kimg) == (8, True, 140)
    assert mid.alpha == pytest.approx(0.5)
    assert mid.stage_end_images == 1_200_000
    assert mid.lod == pytest.approx(schedule.lod_at(_cfg(), 900.0))
    assert sched.stages is schedule.stages(_cfg())  # computed once per configuration
    assert sched.total_images == round(_cfg().total_kimg * 1000)


def test_last_stage_runs_to_the_end_and_ticks_fall_back_to_the_resolution_below():
    cfg = _cfg()
    sched = schedule.Schedule(cfg, tick_kimg=((4, 10), (16, 5)))
    last = sched.at(cfg.total_kimg - 1)
    assert last.stage_end_images is None
    assert schedule.tick_kimg_at(((4, 10), (16, 5)), 8) == 10
    assert schedule.tick_kimg_at(((4, 10), (16, 5)), 64) == 5
    assert schedule.tick_kimg_at(((8, 10), (16, 5)), 4) == 5  # below the table: the smallest
