"""The paper's CelebA-HQ configuration at 1024², for real, on this CPU (slow: ~15 minutes, peaks
near 15 GB resident; run alone: `pytest -m slow tests/test_paper_scale.py`).

`celebahq.flags` as shipped (the paper's widths, minibatch 3 at 1024², minibatch stddev over the
whole minibatch) on a tiny synthetic 1024² dataset: the 512→1024 fade-in and the stable 1024²
stage run real D+G steps, checkpoint, resume, sample a 1080p grid, and export a SavedModel that
returns 1024×1024×3 uint8 images.
"""

import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.slow


def _run(args, timeout=1800):
    proc = subprocess.run(
        [sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"{args}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_celebahq_flags_train_resume_export_at_1024(tmp_path):
    data, results = tmp_path / "celebahq-tiny", tmp_path / "results"
    _run(
        [
            "data_prep/create_tfrecords.py",
            "create_synthetic",
            str(data),
            "--resolution",
            "1024",
            "--num_images",
            "12",
        ]
    )
    # 512² stable (6 images = 1 step), 512→1024 fade (6 images = 2 steps of 3), then stable 1024².
    common = [
        "-m",
        "pgan_tf.train",
        "--flagfile=celebahq.flags",
        f"--dataset_dir={data}",
        f"--result_dir={results}",
        "--initial_resolution=512",
        "--lod_training_kimg=0.006",
        "--lod_transition_kimg=0.006",
        "--tick_kimg=512:0.006,1024:0.003",
        "--network_snapshot_ticks=1",
        "--steps_per_call=2",
    ]
    first = _run(common + ["--total_kimg=0.015"])
    assert "res 1024 fade" in first and "minibatch 3" in first
    (run_dir,) = glob.glob(str(results / "*"))
    config = json.load(open(os.path.join(run_dir, "config.json")))
    assert config["network"]["fmap_base"] == 8192 and config["network"]["mbstd_group_size"] == 16
    grid = tf.io.decode_png(
        tf.io.read_file(sorted(glob.glob(os.path.join(run_dir, "fakes*.png")))[-1])
    )
    assert tuple(grid.shape) == (2048, 3072, 3)  # the original's 1080p grid at 1024²: 3 × 2 images

    resumed = _run(common + [f"--resume={run_dir}", "--total_kimg=0.018"])
    assert "Resumed from" in resumed and "kimg 0.0" in resumed
    log = open(os.path.join(run_dir, "log.txt")).read()
    assert "Done: kimg 0.0" in log
    ticks = [
        line for line in log.splitlines() if line.startswith("tick") and "res 1024     " in line
    ]
    assert ticks, log  # stable 1024² steps ran

    export = tmp_path / "export"
    _run(
        [
            "export/export_saved_model.py",
            "--run_dir",
            run_dir,
            "--export_base",
            str(export),
            "--no_warmup",
        ]
    )
    served = tf.saved_model.load(str(export / "pgan" / "1")).signatures["serving_default"]
    z = np.random.default_rng(0).standard_normal((1, 512)).astype(np.float32)
    images = served(latents=tf.constant(z))["images"]
    assert images.dtype == tf.uint8 and tuple(images.shape) == (1, 1024, 1024, 3)
    assert int(tf.reduce_max(images)) > int(tf.reduce_min(images))  # not a constant image
