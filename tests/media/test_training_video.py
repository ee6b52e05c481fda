"""pgan_tf.media.training_video: a run's fakes grids over warped time, labelled, as H.264."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from pgan_tf.media import mp4, text, training_log, training_video
from pgan_tf.model import networks
from pgan_tf.training import config as config_lib
from pgan_tf.training import rundir, schedule

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLOURS = {0: (200, 30, 30), 1: (30, 200, 30), 4: (30, 30, 200), 9: (220, 220, 40)}
SECONDS = {0: 0, 1: 10, 4: 40, 9: 100}
SCHEDULE = schedule.ScheduleConfig(
    resolution=8, total_kimg=10, lod_training_kimg=2, lod_transition_kimg=2
)


def _run(path, log=True):
    """A run directory with one solid-colour 64² fakes grid per kimg in COLOURS and a log whose
    tick lines put them at SECONDS."""
    os.makedirs(path)
    cfg = config_lib.TrainConfig(
        network=networks.NetworkConfig(fmap_base=32, fmap_max=16, latent_size=8),
        schedule=SCHEDULE,
        data=config_lib.DataConfig(path="", resolution=8),
    )
    rundir.write_config(path, cfg, rundir.DatasetEntry("", 8, "x"))
    for kimg, colour in COLOURS.items():
        Image.new("RGB", (64, 64), colour).save(os.path.join(path, f"fakes{kimg:06d}.png"))
    if log:
        with open(os.path.join(path, rundir.LOG_NAME), "w") as f:
            f.write("Run directory: x\n")
            for kimg, seconds in SECONDS.items():
                t = training_video.format_time(seconds)
                f.write(f"tick 1 kimg {kimg + 0.2:<8.1f} lod {kimg / 10:<5.2f} time {t:<9} x\n")


def test_format_time_as_the_original():
    assert training_video.format_time(59.4) == "59s"
    assert training_video.format_time(65) == "1m 05s"
    assert training_video.format_time(2 * 3600 + 5 * 60 + 9) == "2h 05m 09s"
    assert training_video.format_time(86400 + 3 * 3600 + 12 * 60) == "1d 03h 12m"


def test_point_index_follows_the_time_warp():
    positions = [0, 10, 40, 100]
    # t / duration = 0.5: wall clock 0.5^1.5 * 100 = 35.4 s -> the point at 10 s
    assert training_video.point_index(positions, 1.0, 2.0, 1.5) == 1
    assert training_video.point_index(positions, 0.0, 2.0, 1.5) == 0
    assert training_video.point_index(positions, 2.0, 2.0, 1.5) == 3
    # 0.75^1.5 * 100 = 65.0 s -> the point at 40 s
    assert training_video.point_index(positions, 1.5, 2.0, 1.5) == 2


def _expected_kimg(i, fps, duration, positions, kimgs):
    return kimgs[training_video.point_index(positions, i / fps, duration, 1.5)]


def test_video_frames_show_the_right_grid_with_labels(tmp_path):
    run = str(tmp_path / "run")
    _run(run)
    path = str(tmp_path / "train.mp4")
    frames, points, timed = training_video.write_training_video(
        run, path, duration_sec=2, fps=15, progress=False
    )
    assert (frames, points, timed) == (30, 4, True)
    meta, decoded = mp4.read_mp4(path)
    assert meta["codec"].startswith("h264") and meta["size"] == (512, 512)  # 64 * 8 >= 480
    kimgs, positions = sorted(COLOURS), [SECONDS[k] for k in sorted(COLOURS)]
    decoded = list(decoded)
    assert len(decoded) == 30
    for i, frame in enumerate(decoded):
        kimg = _expected_kimg(i, 15, 2.0, positions, kimgs)
        top = frame[:400].reshape(-1, 3).mean(axis=0)
        np.testing.assert_allclose(top, COLOURS[kimg], atol=6)
    last = decoded[-1].astype(int)
    # "9 kimg" is drawn at the bottom right: white letters where its alpha mask is solid
    alpha, _ = text.label_masks("9 kimg")
    h, w = alpha.shape
    region = last[512 - 4 - h : 512 - 4, 512 - 16 - w : 512 - 16]
    assert region[alpha > 0.9].mean() > 200 and last[:400].mean() < 180


def test_without_a_log_the_grids_are_placed_by_kimg(tmp_path):
    run = str(tmp_path / "run")
    _run(run, log=False)
    points, timed = training_video.run_timeline(run)
    assert not timed and [p.kimg for p in points] == sorted(COLOURS)
    assert [p.seconds for p in points] == [None] * 4
    assert points[1].lod == pytest.approx(schedule.lod_at(SCHEDULE, 1.0))
    frames, _, _ = training_video.write_training_video(
        run, str(tmp_path / "t.mp4"), duration_sec=1, fps=10, progress=False
    )
    assert frames == 10


def test_a_run_without_fakes_is_refused(tmp_path):
    run = str(tmp_path / "run")
    _run(run)
    for name in os.listdir(run):
        if name.startswith("fakes"):
            os.remove(os.path.join(run, name))
    with pytest.raises(ValueError, match="no fakes"):
        training_video.write_training_video(run, str(tmp_path / "t.mp4"), progress=False)
    assert not os.path.exists(tmp_path / "t.mp4")


@pytest.mark.slow
def test_training_video_of_a_real_tiny_run(tmp_path):
    """A real run with tests/test_compat.py's tiny flags, then `generate --training_video`."""
    from test_compat import TINY

    train = [sys.executable, "-m", "pgan_tf.train", f"--dataset_dir={tmp_path}/data"]
    train += ["--create_synthetic=48", f"--result_dir={tmp_path}/results", "--total_kimg=0.256"]
    proc = subprocess.run(train + TINY, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (run,) = rundir.list_runs(str(tmp_path / "results"))
    out = str(tmp_path / "train.mp4")
    cmd = [sys.executable, "-m", "pgan_tf.generate", f"--model={run}", f"--training_video={out}"]
    proc = subprocess.run(
        cmd + ["--duration_sec=2", "--fps=15"], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    with open(os.path.join(run, rundir.LOG_NAME)) as f:
        ticks = [t for t in map(training_log.parse_tick_line, f) if t]
    points, timed = training_video.run_timeline(run)
    assert len(ticks) >= 4 and timed and 1 <= len(points) <= len(ticks)
    assert f"30 frames of {len(points)} points" in proc.stdout
    meta, frames = mp4.read_mp4(out)
    assert meta["codec"].startswith("h264") and sum(1 for _ in frames) == 30
