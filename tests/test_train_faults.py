"""Training meets faults: damaged checkpoints, corrupt records, a full disk, kill -9 at chosen
moments, a lost worker. Every fault ends in one line on stderr (no traceback), exit code 1, and
what was kept is checked. Each run is a subprocess, as a user would start it."""

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
import tensorflow as tf
from cli_helpers import free_port
from fault_helpers import fill, flip_bytes, small_filesystem, truncate
from test_train import REPO, TINY

from pgan_tf.core import atomic, faults
from pgan_tf.training import checkpoint as ckpt

TRAIN = [sys.executable, "-m", "pgan_tf.train"]


def command(tmp, *args):
    return [*TRAIN, f"--dataset_dir={tmp}/data", f"--result_dir={tmp}/results", *TINY, *args]


def run(tmp, *args, kill_at=None, timeout=300):
    env = {k: v for k, v in os.environ.items() if k != faults.KILL_ENV}
    if kill_at:
        env[faults.KILL_ENV] = kill_at
    return subprocess.run(
        command(tmp, *args), cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def one_error_line(proc):
    """The process's stderr, which must be exactly one `error: ...` line (TF start-up noise
    aside)."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def images_seen(path):
    return ckpt.images_seen(path)


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    """One finished tiny run with a checkpoint every tick (kept: the newest 3)."""
    tmp = tmp_path_factory.mktemp("faults")
    subprocess.run(
        [
            sys.executable,
            "data_prep/create_tfrecords.py",
            "create_synthetic",
            f"{tmp}/data",
            "--resolution=8",
            "--num_images=48",
            "--quiet",
        ],
        cwd=REPO,
        check=True,
    )
    proc = run(tmp, "--total_kimg=0.2", "--desc=base", "--network_snapshot_ticks=1")
    assert proc.returncode == 0, proc.stderr
    return tmp, os.path.join(tmp, "results", "00000-base")


def copy_run(base_run, tmp_path, name):
    tmp, run_dir = base_run
    target = os.path.join(tmp_path, "results", name)
    shutil.copytree(run_dir, target)
    os.symlink(os.path.join(tmp, "data"), os.path.join(tmp_path, "data"))
    return target


def test_resume_falls_back_from_a_truncated_checkpoint(base_run, tmp_path):
    run_dir = copy_run(base_run, tmp_path, "00000-base")
    newest = os.path.join(run_dir, "checkpoints", "ckpt-200")
    truncate(newest + ".data-00000-of-00001", 1000)
    proc = run(tmp_path, "--total_kimg=0.232", f"--resume={run_dir}", "--network_snapshot_ticks=1")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[0] == (
        f"damaged checkpoint {newest}.data-00000-of-00001: truncated (1000 bytes; tensor "
        f"_CHECKPOINTABLE_OBJECT_GRAPH lies past the end); falling back to an older checkpoint"
    )
    assert out[1].startswith(f"Resumed from {run_dir}/checkpoints/ckpt-192 at kimg 0.2")
    assert "Done: kimg 0.2" in proc.stdout
    # the damaged one was dropped at the next save; the 3 kept are intact
    assert [n for n, _ in ckpt.checkpoints(run_dir)] == [192, 224, 232]
    for _, p in ckpt.checkpoints(run_dir):
        ckpt.verify(p)


def test_resume_naming_a_damaged_checkpoint_fails_in_one_line(base_run, tmp_path):
    run_dir = copy_run(base_run, tmp_path, "00000-base")
    newest = os.path.join(run_dir, "checkpoints", "ckpt-200")
    flip_bytes(newest + ".data-00000-of-00001", 3000)
    proc = run(tmp_path, "--total_kimg=0.3", f"--resume={newest}")
    assert proc.returncode == 1
    line = one_error_line(proc)
    assert line.startswith(f"error: damaged checkpoint {newest}.data-00000-of-00001: tensor ")
    assert (
        re.search(r"checksum.* does not match", line, re.IGNORECASE)
        and "{{" not in line
        and "[Op:" not in line
    )


def test_corrupt_record_stops_after_a_checkpoint_naming_file_level_offset(base_run, tmp_path):
    tmp, _ = base_run
    shutil.copytree(os.path.join(tmp, "data"), tmp_path / "data")
    level = str(tmp_path / "data" / "data-r03.tfrecords")
    flip_bytes(level, os.path.getsize(level) // 2 + 100)  # inside record 24's data
    proc = run(tmp_path, "--total_kimg=0.2", "--desc=bad")
    assert proc.returncode == 1
    line = one_error_line(proc)
    run_dir = str(tmp_path / "results" / "00000-bad")
    saved = ckpt.checkpoints(run_dir)[-1][1]
    offset = 24 * 247  # record 24 of 48, 247 bytes each
    assert line == (
        f"error: {level}: corrupted record 24 at byte offset {offset} (8x8 level); "
        f"saved {saved} of the last "
        f"completed steps (kimg {images_seen(saved) / 1000:.3f}). List every damaged record with: "
        f"python data_prep/create_tfrecords.py verify {tmp_path}/data"
    )
    ckpt.verify(saved)
    assert images_seen(saved) > 64  # the 8x8 steps done before the bad record are kept
    verify = subprocess.run(
        [sys.executable, "data_prep/create_tfrecords.py", "verify", f"{tmp_path}/data", "--quiet"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 1
    assert f"{level}: record 24 at byte offset {offset}: data checksum mismatch" in verify.stdout


INJECT_FULL_DISK = """
import runpy, sys
import pgan_tf  # quiets TensorFlow's start-up lines, as `python -m pgan_tf.train` does
import tensorflow as tf
real, calls = tf.train.Checkpoint.write, [0]
def write(self, prefix, options=None):
    calls[0] += 1
    if calls[0] > 2:
        raise tf.errors.ResourceExhaustedError(
            None, None, prefix + "_temp/part-00000-of-00001; No space left on device"
        )
    return real(self, prefix, options=options)
tf.train.Checkpoint.write = write
sys.argv = ["train", *sys.argv[1:]]
runpy.run_module("pgan_tf.train", run_name="__main__")
"""


@pytest.mark.slow  # ~30 s; the full disk while writing data is in test_dataset_verify.py
def test_injected_full_disk_at_the_third_checkpoint(base_run, tmp_path):
    tmp, _ = base_run
    os.symlink(os.path.join(tmp, "data"), tmp_path / "data")
    cmd = [sys.executable, "-c", INJECT_FULL_DISK] + command(
        tmp_path, "--total_kimg=0.2", "--desc=full", "--network_snapshot_ticks=1"
    )[3:]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    run_dir = str(tmp_path / "results" / "00000-full")
    assert one_error_line(proc) == (
        f"error: cannot write {run_dir}/checkpoints/ckpt-96: No space left on device; "
        f"newest checkpoint kept: {run_dir}/checkpoints/ckpt-64"
    )
    assert [n for n, _ in ckpt.checkpoints(run_dir)] == [32, 64]
    assert sorted(os.listdir(os.path.join(run_dir, "checkpoints"))) == [
        "checkpoint",
        "ckpt-32.data-00000-of-00001",
        "ckpt-32.index",
        "ckpt-64.data-00000-of-00001",
        "ckpt-64.index",
    ]
    resumed = run(tmp_path, "--total_kimg=0.2", f"--resume={run_dir}")
    assert (
        resumed.returncode == 0 and "Resumed from" in resumed.stdout and "ckpt-64" in resumed.stdout
    )


@pytest.mark.slow
def test_real_full_disk_during_training(base_run, tmp_path):
    tmp, _ = base_run
    with small_filesystem(tmp_path / "small", "2m") as small:
        os.symlink(os.path.join(tmp, "data"), os.path.join(small, "data"))
        fill(small, leave=400_000)  # room for the start and a few checkpoints, not for the run
        proc = run(small, "--total_kimg=0.4", "--desc=full", "--network_snapshot_ticks=1")
        assert proc.returncode == 1
        line = one_error_line(proc)
        assert (
            line.startswith(f"error: cannot write {small}/results/00000-full/")
            and "No space left on device" in line
        )
        run_dir = os.path.join(small, "results", "00000-full")
        for _, p in ckpt.checkpoints(run_dir):
            ckpt.verify(p)
        leftovers = [n for _, _, files in os.walk(run_dir) for n in files if atomic.is_temp_name(n)]
        assert leftovers == []


# ---- kill -9 trials ----------------------------------------------------------------------------


def complete(run_dir, total_images):
    """A finished run directory: every output there, the last checkpoint at the end and intact,
    every checkpoint readable, nothing half-written left."""
    names = os.listdir(run_dir)
    for expected in ("config.json", "log.txt", "reals.png", "checkpoints"):
        assert expected in names, (expected, names)
    assert any(n.startswith("fakes") and n.endswith(".png") for n in names)
    assert any(n.startswith("network-snapshot-") and n.endswith(".keras") for n in names)
    assert [
        n for _, dirs, files in os.walk(run_dir) for n in files + dirs if atomic.is_temp_name(n)
    ] == []
    found = ckpt.checkpoints(run_dir)
    assert found and found[-1][0] == total_images
    for _, p in found:
        ckpt.verify(p)
    assert tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints")) == found[-1][1]
    assert "Done: kimg" in open(os.path.join(run_dir, "log.txt")).read().splitlines()[-1]


KILLS = [
    ("tick", "tick:3"),
    ("checkpoint-write", "checkpoint-written:2"),
    ("checkpoint-rename", "checkpoint-renamed:3"),
    ("stage-switch", "stage-switch:1"),
    ("snapshot-write", "snapshot:2"),
]


@pytest.mark.slow
def test_kill_9_at_chosen_and_random_moments_then_resume(base_run, tmp_path):
    """kill -9 during a tick, during a checkpoint write (before and after its rename), at a stage
    switch, during a snapshot write, and twice at random: each resume finishes the run, from the
    last checkpoint written completely (a checkpoint every tick: at most one tick lost)."""
    tmp, _ = base_run
    os.symlink(os.path.join(tmp, "data"), tmp_path / "data")
    total, every_tick = 200, "--network_snapshot_ticks=1"
    trials = [*KILLS, ("random-1", None), ("random-2", None)]
    rng = random.Random(13)
    for i, (name, point) in enumerate(trials):
        desc = f"kill-{name}"
        run_dir = str(tmp_path / "results" / f"{i:05d}-{desc}")
        if point:
            proc = run(
                tmp_path,
                f"--total_kimg={total / 1000}",
                f"--desc={desc}",
                every_tick,
                kill_at=point,
            )
            assert proc.returncode == -signal.SIGKILL, (name, proc.stdout, proc.stderr)
            assert f"kill point {point.split(':')[0]} reached" in proc.stderr
            out = proc.stdout
        else:  # from outside, at a random moment after the first checkpoint
            p = subprocess.Popen(
                command(tmp_path, f"--total_kimg={total / 1000}", f"--desc={desc}", every_tick),
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            lines = []
            for line in p.stdout:
                lines.append(line)
                if line.startswith("  checkpoint"):
                    break
            time.sleep(rng.uniform(0.0, 3.0))
            p.kill()
            out = "".join(lines) + p.stdout.read()
            p.wait(timeout=60)
        saved = [
            int(line.rsplit("-", 1)[1])
            for line in out.splitlines()
            if line.startswith("  checkpoint ")
        ]
        assert saved, (name, out)
        resumed = run(tmp_path, f"--total_kimg={total / 1000}", f"--resume={run_dir}", every_tick)
        assert resumed.returncode == 0, (name, resumed.stdout, resumed.stderr)
        line = next(x for x in resumed.stdout.splitlines() if x.startswith("Resumed from"))
        start = int(line.split("/ckpt-")[1].split()[0])
        assert start >= max(saved), (name, saved, line)  # no checkpoint reported written was lost
        if (
            point == "checkpoint-renamed:3"
        ):  # renamed into place but not yet recorded: complete, so used
            assert start > max(saved), (name, saved, line)
        complete(run_dir, total)


# ---- a lost worker -----------------------------------------------------------------------------


def start_workers(tmp, args, count=2, timeout="8"):
    workers = [f"127.0.0.1:{free_port()}" for _ in range(count)]
    procs = []
    for index in range(count):
        env = dict(
            os.environ,
            TF_CONFIG=json.dumps(
                {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
            ),
        )
        procs.append(
            subprocess.Popen(
                command(tmp, f"--worker_timeout={timeout}", *args),
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    return procs


@pytest.mark.slow
def test_a_killed_worker_stops_the_other_in_bounded_time_and_resume_continues(base_run, tmp_path):
    tmp, _ = base_run
    os.symlink(os.path.join(tmp, "data"), tmp_path / "data")
    chief, worker = start_workers(tmp_path, ["--total_kimg=1000", "--desc=mw"])
    for line in worker.stdout:
        if line.startswith("tick 3"):
            worker.kill()
            break
    killed_at = time.monotonic()
    out, err = chief.communicate(timeout=300)
    stopped_after = time.monotonic() - killed_at
    worker.communicate(timeout=60)
    assert stopped_after < 8 + 60, stopped_after  # the heartbeat timeout plus the time to save
    assert chief.returncode == 1
    run_dir = str(tmp_path / "results" / "00000-mw")
    line = one_error_line(subprocess.CompletedProcess([], 1, out, err))
    saved = ckpt.checkpoints(run_dir)[-1][1]
    assert line.startswith("error: lost worker /job:worker/replica:0/task:1 at kimg ")
    assert line.endswith(
        f"; saved {saved} of the last completed steps (kimg {images_seen(saved) / 1000:.3f}). "
        f"Restart every worker with --resume={run_dir}"
    )
    ckpt.verify(saved)
    # both restarted with --resume: training continues from the chief's checkpoint
    end = images_seen(saved) / 1000 + 0.032
    procs = start_workers(tmp_path, [f"--total_kimg={end}", f"--resume={run_dir}"])
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (o, e) in zip(procs, outs):
        assert p.returncode == 0, o + e
    assert f"Resumed from {saved}" in outs[0][0] and "Done" in outs[0][0]
    # a worker that never comes: the other gives up after --worker_timeout, in one line
    port = free_port()
    env = dict(
        os.environ,
        TF_CONFIG=json.dumps(
            {
                "cluster": {"worker": [f"127.0.0.1:{port}", "127.0.0.1:1"]},
                "task": {"type": "worker", "index": 0},
            }
        ),
    )
    start = time.monotonic()
    lonely = subprocess.run(
        command(tmp_path, "--worker_timeout=5", "--total_kimg=0.1", "--desc=lonely"),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert time.monotonic() - start < 5 + 60 and lonely.returncode == -signal.SIGKILL
    assert one_error_line(lonely) == (
        "error: the cluster did not come together within --worker_timeout=5s: cannot "
        "reach /job:worker/replica:0/task:1 (127.0.0.1:1); start every worker of TF_CONFIG"
    )
