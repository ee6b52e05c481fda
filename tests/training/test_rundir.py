"""The run directory contract: creating runs, config.json written and read back byte for byte
(the compat fixture written before the package split included), snapshots and checkpoint lookup."""

import dataclasses
import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from pgan_tf.model import networks
from pgan_tf.training import checkpoint, rundir
from pgan_tf.training.config import DataConfig, TrainConfig
from pgan_tf.training.schedule import ScheduleConfig

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMPAT = os.path.join(REPO, "tests", "fixtures", "compat")
TINY = networks.NetworkConfig(fmap_base=32, fmap_max=16, latent_size=8)


def tiny_config(path="/data/x"):
    return TrainConfig(
        network=TINY,
        schedule=ScheduleConfig(resolution=8, total_kimg=1.5),
        data=DataConfig(path=path, resolution=8),
    )


def test_create_numbers_past_the_highest_run(tmp_path):
    results = str(tmp_path / "results")
    assert rundir.create(results, "a") == os.path.join(results, "00000-a")
    os.makedirs(os.path.join(results, "00007-old"))
    os.makedirs(os.path.join(results, "notes"))
    assert rundir.create(results, "b") == os.path.join(results, "00008-b")
    assert os.path.isdir(os.path.join(results, "00008-b"))
    assert rundir.list_runs(results) == [
        os.path.join(results, d) for d in ("00000-a", "00007-old", "00008-b")
    ]
    assert rundir.list_runs(str(tmp_path / "none")) == []


# Settings added since the compat run was written, with the value an old run reads as.
ADDED_SINCE_COMPAT = {"jit_compile": False}
ADDED_TO_NETWORK_SINCE_COMPAT = {"conv_gradients": True}


def test_the_compat_config_reads_and_writes_back_byte_for_byte(tmp_path):
    """A config.json written by the code of 2026-11-23 reads into a RunConfig and is written again
    byte for byte as it was, plus only the settings added since (at their defaults): the format
    is the same."""
    run = rundir.read_config(COMPAT)
    assert run.dataset == rundir.DatasetEntry(path="data", resolution=8, name="data")
    assert run.train.network.latent_size == 8 and run.train.schedule.resolution == 8
    assert run.train.log.grid_size == "2" and run.train.deterministic
    rundir.write_config(str(tmp_path), run.train, run.dataset)
    with open(os.path.join(COMPAT, "config.json")) as a:
        old = json.load(a)
    assert not set(ADDED_SINCE_COMPAT) & set(old)
    assert not set(ADDED_TO_NETWORK_SINCE_COMPAT) & set(old["network"])
    network = {**old["network"], **ADDED_TO_NETWORK_SINCE_COMPAT}
    want = json.dumps({**old, **ADDED_SINCE_COMPAT, "network": network}, indent=2, sort_keys=True)
    with open(tmp_path / "config.json", "rb") as b:
        assert b.read() == want.encode()
    assert os.listdir(tmp_path) == ["config.json"]  # nothing temporary left


def test_write_read_round_trip_and_the_dry_run_text(tmp_path):
    config = tiny_config()
    entry = rundir.DatasetEntry("/data/x", 8, "x")
    rundir.write_config(str(tmp_path), config, entry)
    assert rundir.read_config(str(tmp_path)) == rundir.RunConfig(train=config, dataset=entry)
    text = rundir.config_json(config)
    assert '"dataset"' not in text and '"latent_size": 8' in text
    with_dataset = rundir.config_json(config, entry)
    assert (
        with_dataset.startswith('{\n  "adam_beta1": 0.0,')
        and '"dataset": {\n    "name": "x",' in with_dataset
    )


def test_read_config_errors_name_the_file(tmp_path):
    with pytest.raises(rundir.RunDirError, match="run directory not found"):
        rundir.read_config(str(tmp_path / "none"))
    with pytest.raises(rundir.RunDirError, match=r"not a run directory \(no config.json\)"):
        rundir.read_config(str(tmp_path))
    (tmp_path / "config.json").write_text("{")
    with pytest.raises(rundir.RunDirError, match="config.json: not valid JSON"):
        rundir.read_config(str(tmp_path))
    (tmp_path / "config.json").write_text('{"network": {}, "train": {}}')
    with pytest.raises(
        rundir.RunDirError, match=r"config.json: not a run configuration \(KeyError: 'dataset'\)"
    ):
        rundir.read_config(str(tmp_path))


def test_snapshots_listed_found_and_loaded(tmp_path):
    run = str(tmp_path)
    rundir.write_config(run, tiny_config(), rundir.DatasetEntry("/data/x", 8, "x"))
    with pytest.raises(rundir.RunDirError, match="has the run saved a snapshot yet"):
        rundir.latest_snapshot(run)
    g = networks.build_generator(TINY, 4)
    for kimg in (12, 3):
        g.save(os.path.join(run, rundir.snapshot_name(kimg)))
    assert rundir.snapshot_name(3.9) == "network-snapshot-000003.keras"
    paths = [os.path.join(run, rundir.snapshot_name(k)) for k in (3, 12)]
    assert rundir.list_snapshots(run) == [(3, paths[0]), (12, paths[1])]
    assert rundir.find_snapshot(run, None) == (12, paths[1])
    assert rundir.find_snapshot(run, "3") == (3, paths[0])
    assert rundir.find_snapshot(run, paths[1]) == (None, paths[1])
    with pytest.raises(
        rundir.RunDirError, match=r"no snapshot at kimg 5 in .* \(available: 3, 12\)"
    ):
        rundir.find_snapshot(run, "5")
    with pytest.raises(rundir.RunDirError, match="snapshot not found"):
        rundir.find_snapshot(run, "x.keras")
    z = np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32)
    np.testing.assert_array_equal(rundir.load_generator(paths[0])(z), g(z))


def test_checkpoint_lookup(tmp_path):
    results = tmp_path / "results"
    run = str(results / "00000-a")
    os.makedirs(run)
    assert rundir.latest_checkpoint(run) is None and not rundir.has_checkpoint(run)
    with pytest.raises(checkpoint.CheckpointError, match="no checkpoint in .*00000-a/checkpoints"):
        rundir.find_checkpoint(run, "latest")
    with pytest.raises(
        checkpoint.CheckpointError, match="--resume=latest: no run with a checkpoint"
    ):
        rundir.resolve_resume("latest", str(results))
    saver = checkpoint.Saver(run)
    paths = [
        saver.save(tf.train.Checkpoint(images_seen=tf.Variable(n, dtype=tf.int64)), n)
        for n in (64, 128)
    ]
    assert rundir.has_checkpoint(run)
    assert rundir.latest_checkpoint(run) == rundir.find_checkpoint(run, "latest") == paths[-1]
    assert rundir.find_checkpoint(run, paths[0]) == paths[0]
    assert rundir.resolve_resume("latest", str(results)) == (run, paths[::-1], False)
    assert rundir.resolve_resume(run, str(results)) == (run, paths[::-1], False)
    assert rundir.resolve_resume(paths[0], str(results)) == (run, [paths[0]], True)
    with pytest.raises(
        checkpoint.CheckpointError, match="neither a run directory nor a checkpoint"
    ):
        rundir.resolve_resume(str(tmp_path / "nothing"), str(results))


def test_the_compat_checkpoint_loads_its_ema_generator_from_a_copied_run(tmp_path):
    """load_ema_generator builds the stage's generator from the run's own config.json."""
    run = tmp_path / "run"
    shutil.copytree(COMPAT, run)
    generator, kimg = rundir.load_ema_generator(str(run), str(run / "checkpoints" / "ckpt-200"))
    expected = np.load(os.path.join(COMPAT, "expected.npz"))
    assert kimg == 0.2 and generator.outputs[0].shape[1] == 8
    np.testing.assert_allclose(
        np.asarray(generator(expected["latents"])), expected["checkpoint"], atol=1e-5
    )
    with pytest.raises(checkpoint.CheckpointError, match="checkpoint not found"):
        rundir.load_ema_generator(str(run), str(run / "checkpoints" / "ckpt-999"))
    other = dataclasses.replace(
        rundir.read_config(str(run)).train, network=dataclasses.replace(TINY, latent_size=4)
    )
    rundir.write_config(str(run), other, rundir.read_config(str(run)).dataset)
    with pytest.raises(ValueError, match=r"shape \(8, 256\) .* variable with shape \(4, 256\)"):
        rundir.load_ema_generator(str(run), str(run / "checkpoints" / "ckpt-200"))


def test_read_ticks_skips_a_torn_last_line(tmp_path):
    from pgan_tf.training import rundir

    assert rundir.read_ticks(str(tmp_path)) is None
    (tmp_path / rundir.TICKS_NAME).write_text('{"tick": 1, "kimg": 4.0}\n{"tick": 2, "kim')
    assert rundir.read_ticks(str(tmp_path)) == [{"tick": 1, "kimg": 4.0}]
