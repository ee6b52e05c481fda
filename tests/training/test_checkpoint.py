"""Checkpoints you can trust: verify, the Saver's write/keep rules, fallback on resume, and a full
disk (injected and real) — on small hand-made training-like checkpoints, no training."""

import errno
import os

import numpy as np
import pytest
import tensorflow as tf
from fault_helpers import fill, flip_bytes, small_filesystem, truncate

from pgan_tf.core import atomic
from pgan_tf.training import checkpoint as ckpt
from pgan_tf.training import rundir


def state(seen=0, size=20000):
    """A checkpoint shaped like training's: images_seen, a weight, and an input iterator."""
    images_seen = tf.Variable(seen, dtype=tf.int64)
    weights = tf.Variable(np.arange(size, dtype=np.float32) + seen)
    iterator = iter(tf.data.Dataset.range(100).shuffle(10, seed=1))
    next(iterator)
    return tf.train.Checkpoint(images_seen=images_seen, weights=weights, data=iterator)


def saved_run(tmp_path, numbers=(32, 64, 96), keep=3):
    run = os.path.join(tmp_path, "run")
    saver = ckpt.Saver(run, keep)
    paths = [saver.save(state(n), n) for n in numbers]
    return run, saver, paths


def test_saver_keeps_the_newest_and_records_the_latest(tmp_path):
    run, saver, paths = saved_run(tmp_path, (32, 64, 96, 128, 160), keep=3)
    assert [n for n, _ in ckpt.checkpoints(run)] == [96, 128, 160]
    assert tf.train.latest_checkpoint(os.path.join(run, "checkpoints")) == paths[-1]
    assert sorted(os.listdir(os.path.join(run, "checkpoints"))) == sorted(
        ["checkpoint"]
        + [f"ckpt-{n}.{ext}" for n in (96, 128, 160) for ext in ("index", "data-00000-of-00001")]
    )
    for p in paths[2:]:
        ckpt.verify(p)
    # resuming from an older one and saving: the newer ones were another timeline, they go
    saver.save(state(100), 100)
    assert [n for n, _ in ckpt.checkpoints(run)] == [96, 100]
    ckpt.Saver(run, 1).save(state(101), 101)
    assert [n for n, _ in ckpt.checkpoints(run)] == [101]


def test_saver_keeping_all_keeps_every_checkpoint_each_resumable(tmp_path):
    """`--keep_checkpoints=all`: every save stays, listed in the state file, and any one of them
    restores (a damaged one is still dropped)."""
    run, saver, paths = saved_run(tmp_path, (32, 64, 96, 128), keep=ckpt.KEEP_ALL)
    assert [n for n, _ in ckpt.checkpoints(run)] == [32, 64, 96, 128]
    state_file = open(os.path.join(run, "checkpoints", "checkpoint")).read()
    assert state_file.count("all_model_checkpoint_paths") == 4
    restored = state()
    restored.read(paths[1]).expect_partial().assert_existing_objects_matched()
    assert int(restored.images_seen.numpy()) == 64
    saver.discard([paths[0]])
    saver.save(state(160), 160)
    assert [n for n, _ in ckpt.checkpoints(run)] == [64, 96, 128, 160]


def test_keep_checkpoints_flag():
    from pgan_tf.training import config as config_lib

    assert config_lib.checkpoint_count("all") == ckpt.KEEP_ALL
    assert config_lib.checkpoint_count("5") == 5
    with pytest.raises(Exception, match="at least 1 or 'all'"):
        config_lib.checkpoint_count("0")


@pytest.mark.parametrize(
    "damage, message",
    [
        (
            lambda p: truncate(p + ".data-00000-of-00001", 1000),
            r"ckpt-96\.data-00000-of-00001: truncated \(1000 bytes",
        ),
        (
            lambda p: flip_bytes(p + ".data-00000-of-00001", 40000),
            r"ckpt-96\.data-00000-of-00001: tensor weights: .*Checksum does not match",
        ),
        (lambda p: flip_bytes(p + ".index", 20, 8), r"ckpt-96\.index: unreadable index"),
        (lambda p: os.remove(p + ".index"), r"ckpt-96\.index: missing"),
        (lambda p: os.remove(p + ".data-00000-of-00001"), r"ckpt-96\.data-00000-of-00001: "),
    ],
)
def test_verify_names_the_file_and_the_damage(tmp_path, damage, message):
    _, _, paths = saved_run(tmp_path)
    damage(paths[-1])
    with pytest.raises(ckpt.DamagedCheckpoint, match="damaged checkpoint .*" + message):
        ckpt.verify(paths[-1])
    ckpt.verify(paths[-2])


def test_resume_falls_back_to_the_newest_intact_one(tmp_path):
    run, _, paths = saved_run(tmp_path)
    truncate(paths[-1] + ".data-00000-of-00001", 1000)
    run_dir, candidates, explicit = rundir.resolve_resume(run, str(tmp_path))
    assert (run_dir, candidates, explicit) == (run, paths[::-1], False)
    lines, restored = [], []
    path, skipped = ckpt.restore_newest_intact(candidates, restored.append, lines.append)
    assert path == paths[1] and skipped == [paths[2]] and restored == [paths[1]]
    assert len(lines) == 1 and lines[0].startswith(
        f"damaged checkpoint {paths[2]}.data-00000-of-00001: truncated"
    )
    assert lines[0].endswith("; falling back to an older checkpoint")
    # named explicitly, the damaged one is the error
    _, candidates, explicit = rundir.resolve_resume(paths[-1], str(tmp_path))
    assert explicit
    with pytest.raises(ckpt.DamagedCheckpoint, match="truncated"):
        ckpt.restore_newest_intact(candidates, restored.append, lines.append, explicit)
    # all damaged: one line saying so
    for p in paths[:2]:
        flip_bytes(p + ".data-00000-of-00001", 40000)
    with pytest.raises(
        ckpt.DamagedCheckpoint, match=r"checkpoints: none of its 3 checkpoint\(s\) is intact"
    ):
        ckpt.restore_newest_intact(paths[::-1], restored.append, lambda line: None)


def test_restore_that_does_not_fit_is_damage(tmp_path):
    _, _, paths = saved_run(tmp_path)
    wrong = tf.train.Checkpoint(
        images_seen=tf.Variable(0, dtype=tf.int64), weights=tf.Variable(np.zeros(5, np.float32))
    )
    with pytest.raises(ckpt.DamagedCheckpoint, match=r"ckpt-96: does not fit the 4x4 networks"):
        ckpt.restore(wrong, paths[-1], "the 4x4 networks")
    right = state(0)
    ckpt.restore(right, paths[-1], "x")
    assert int(right.images_seen.numpy()) == 96


def test_discarded_damaged_checkpoints_are_not_kept(tmp_path):
    run, saver, paths = saved_run(tmp_path)
    truncate(paths[-1] + ".data-00000-of-00001", 10)
    saver.discard([paths[-1]])
    saver.save(state(97), 97)  # 96 (damaged) does not count among the 3 kept
    assert [n for n, _ in ckpt.checkpoints(run)] == [32, 64, 97]


def test_partial_writes_are_removed(tmp_path):
    run, _, _ = saved_run(tmp_path, (32,))
    d = os.path.join(run, "checkpoints")
    for name in ("ckpt-64.tmp-99.index", "ckpt-64.tmp-99.data-00000-of-00001"):
        open(os.path.join(d, name), "wb").close()
    os.makedirs(os.path.join(d, "ckpt-64.tmp-99_temp"))
    open(os.path.join(run, "network-snapshot-000000.tmp-99.keras"), "wb").close()
    removed = ckpt.remove_partial(run)
    assert sorted(removed) == sorted(
        [
            "network-snapshot-000000.tmp-99.keras",
            "checkpoints/ckpt-64.tmp-99.index",
            "checkpoints/ckpt-64.tmp-99.data-00000-of-00001",
            "checkpoints/ckpt-64.tmp-99_temp",
        ]
    )
    assert [n for n, _ in ckpt.checkpoints(run)] == [32]


def test_injected_write_failure_keeps_the_previous_checkpoints(tmp_path, monkeypatch):
    run, saver, paths = saved_run(tmp_path)
    before = {
        n: open(os.path.join(run, "checkpoints", n), "rb").read()
        for n in os.listdir(os.path.join(run, "checkpoints"))
    }

    def full(self, prefix, options=None):
        with open(prefix + ".data-00000-of-00001", "wb") as f:
            f.write(b"partial")
        raise tf.errors.ResourceExhaustedError(
            None, None, f"{prefix}_temp/part-00000-of-00001; No space left on device"
        )

    monkeypatch.setattr(tf.train.Checkpoint, "write", full)
    with pytest.raises(atomic.WriteError) as info:
        saver.save(state(128), 128)
    assert str(info.value) == f"cannot write {run}/checkpoints/ckpt-128: No space left on device"
    after = {
        n: open(os.path.join(run, "checkpoints", n), "rb").read()
        for n in os.listdir(os.path.join(run, "checkpoints"))
    }
    assert after == before  # nothing deleted, nothing half-written left


def test_injected_oserror_while_renaming(tmp_path, monkeypatch):
    run, saver, paths = saved_run(tmp_path)
    real_replace = os.replace

    def failing(src, dst):
        if dst.endswith(".index") and "ckpt-128" in dst:
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), dst)
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(atomic.WriteError, match=r"ckpt-128: Permission denied \(EACCES\)"):
        saver.save(state(128), 128)
    assert [n for n, _ in ckpt.checkpoints(run)] == [32, 64, 96]
    assert not [n for n in os.listdir(os.path.join(run, "checkpoints")) if "ckpt-128" in n]
    for p in paths:
        ckpt.verify(p)


def test_real_full_disk_keeps_the_previous_checkpoints(tmp_path):
    with small_filesystem(tmp_path / "small", "1m") as small:
        run, saver, paths = saved_run(small, (32, 64))
        fill(small, leave=30_000)  # less than one checkpoint (80 kB of weights)
        with pytest.raises(
            atomic.WriteError,
            match=f"cannot write {run}/checkpoints/ckpt-96: .*No space left on device",
        ):
            saver.save(state(96), 96)
        assert [n for n, _ in ckpt.checkpoints(run)] == [32, 64]
        for p in paths:
            ckpt.verify(p)
        assert not [
            n
            for n in os.listdir(os.path.join(run, "checkpoints"))
            if atomic.is_temp_name(n) or "_temp" in n
        ]
        assert tf.train.latest_checkpoint(os.path.join(run, "checkpoints")) == paths[-1]
