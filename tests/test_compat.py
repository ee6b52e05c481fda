"""Files written by earlier versions still load: a tiny run directory (config.json, a training
checkpoint and a `.keras` generator snapshot) made by the code of 2026-11-23, before the package
was split into subpackages (tests/fixtures/compat). Its expected.npz holds what that code's
generators returned for fixed latents."""

import os
import shutil
import subprocess
import sys

import numpy as np

from pgan_tf.training import rundir

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPAT = os.path.join(REPO, "tests", "fixtures", "compat")
TINY = [
    "--resolution=8",
    "--fmap_base=32",
    "--fmap_max=16",
    "--latent_size=8",
    "--lod_training_kimg=0.064",
    "--lod_transition_kimg=0.064",
    "--minibatch_base=8",
    "--tick_kimg=4:0.032,8:0.032",
    "--network_snapshot_ticks=2",
    "--grid_size=2",
    "--shuffle_buffer=16",
    "--mixed_precision=float32",
    "--deterministic",
]


def _expected():
    return np.load(os.path.join(COMPAT, "expected.npz"))


def test_old_snapshot_loads_and_generates_the_same_images():
    expected = _expected()
    generator = rundir.load_generator(os.path.join(COMPAT, "network-snapshot-000000.keras"))
    got = np.asarray(generator(expected["latents"], training=False))
    np.testing.assert_allclose(got, expected["snapshot"], atol=1e-5)


def test_old_checkpoint_restores_the_ema_generator():
    expected = _expected()
    generator, kimg = rundir.load_ema_generator(
        COMPAT, os.path.join(COMPAT, "checkpoints", "ckpt-200")
    )
    assert kimg == float(expected["kimg"]) == 0.2
    got = np.asarray(generator(expected["latents"], training=False))
    np.testing.assert_allclose(got, expected["checkpoint"], atol=1e-5)


def test_training_resumes_from_an_old_checkpoint(tmp_path):
    run = tmp_path / "results" / "00000-compat"
    shutil.copytree(COMPAT, run)
    cmd = [
        sys.executable,
        "-m",
        "pgan_tf.train",
        f"--dataset_dir={tmp_path}/data",
        "--create_synthetic=48",
        f"--result_dir={tmp_path}/results",
        f"--resume={run}",
        "--total_kimg=0.264",
        *TINY,
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ckpt-200" in proc.stdout  # resumed from the old checkpoint, not from scratch
    assert os.path.exists(run / "checkpoints" / "ckpt-264.index")
