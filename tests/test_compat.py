"""Files written by earlier versions still load: a tiny run directory (config.json, a training
checkpoint and a `.keras` generator snapshot) made by the code of 2026-11-23 (f9fd24e, before the
package was split into subpackages) in tests/fixtures/compat.

How it was made: that commit, with its one `os.path.abspath(f.dataset_dir)` in config.py made
`f.dataset_dir` so that the fixture names no machine path, ran the flags of TINY below with
`--dataset_dir=data --create_synthetic=48 --result_dir=results --desc=compat --total_kimg=0.2
--keep_checkpoints=1` in an empty directory. Its checkpoint holds the `tf.data` iterator state of
that time, which names `data/data-r03.tfrecords`. expected.npz holds what that code's generators
returned for fixed latents, and (`resumed:*`) the EMA generator and discriminator that the same
code reached by resuming from the checkpoint to 0.264 kimg."""

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import tensorflow as tf

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


def _resume(tmp_path, dataset_dir):
    """Resumes a copy of the fixture run in `tmp_path` (the working directory) to 0.264 kimg."""
    run = tmp_path / "results" / "00000-compat"
    shutil.copytree(COMPAT, run)
    cmd = [
        sys.executable,
        "-m",
        "pgan_tf.train",
        f"--dataset_dir={dataset_dir}",
        "--create_synthetic=48",
        "--result_dir=results",
        "--resume=results/00000-compat",
        "--total_kimg=0.264",
        *TINY,
    ]
    env = {**os.environ, "PYTHONPATH": REPO}
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Resumed from results/00000-compat/checkpoints/ckpt-200" in proc.stdout
    assert "WARNING" not in proc.stderr  # no TensorFlow warnings about unrestored values
    return run, proc


# How far the resumed weights may be from the fixture's: the fixture was made on an AVX-512 CPU,
# and other CPUs' convolution kernels round differently. Measured on an AVX2-only Zen 3: 7.5e-9
# with the old input order restored, 5.5e-6 with a fresh order, so the bound tells them apart.
OTHER_CPU_ROUNDING = 2e-7


def test_training_resumes_from_an_old_checkpoint_exactly_where_its_data_is(tmp_path):
    """Its iterator state names data/data-r03.tfrecords, which exists in this working directory:
    the old state restores, and the run goes on as the old code went on (bit for bit on the CPU
    kind that made the fixture; within OTHER_CPU_ROUNDING on others)."""
    run, proc = _resume(tmp_path, "data")
    assert "fresh input order" not in proc.stdout
    reader = tf.train.load_checkpoint(str(run / "checkpoints" / "ckpt-264"))
    expected = _expected()
    resumed = [k for k in expected.files if k.startswith("resumed:")]
    assert len(resumed) >= 10
    for key in resumed:
        np.testing.assert_allclose(
            reader.get_tensor(key[len("resumed:") :]),
            expected[key],
            rtol=0,
            atol=OTHER_CPU_ROUNDING,
            err_msg=key,
        )


def test_old_checkpoint_whose_data_is_elsewhere_resumes_with_a_fresh_order(tmp_path):
    run, proc = _resume(tmp_path, "moved")
    assert (
        "ckpt-200 holds its input position as tf.data state that names data/data-r03.tfrecords, "
        "which does not exist here; continuing from the checkpoint with a fresh input order"
    ) in proc.stdout
    assert "damaged" not in proc.stdout + proc.stderr
    assert os.path.exists(run / "checkpoints" / "ckpt-264.index")


def test_fixtures_record_no_machine_path():
    """A fixture that names a file of the machine that made it passes only there."""
    pattern = re.compile(rb"(?<![\w.~])/(tmp|home|root|work|Users|var|private|mnt|opt|srv)/")
    found = []
    for folder, _, files in os.walk(os.path.join(REPO, "tests", "fixtures")):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                data = f.read()
            found += [
                f"{os.path.relpath(path, REPO)}: {m.group(0)!r}" for m in pattern.finditer(data)
            ]
    assert not found
