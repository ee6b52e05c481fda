"""End to end: a tiny progressive run (4² → 8² with fade), resume equality, 1 vs 2 replicas.

Each run is a subprocess (a fresh TensorFlow with op determinism and its own device split).
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

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
    "--steps_per_call=3",
    "--grid_size=2",
    "--shuffle_buffer=16",
    "--mirror",
    "--deterministic",
]


def train(tmp, *args, check=True):
    cmd = [
        sys.executable,
        "-m",
        "pgan_tf.train",
        f"--dataset_dir={tmp}/data",
        "--create_synthetic=48",
        f"--result_dir={tmp}/results",
        *TINY,
        *args,
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"train failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def final_state(run_dir):
    """Every model and optimizer tensor of the newest checkpoint, by name."""
    path = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    reader = tf.train.load_checkpoint(path)
    keys = [
        k
        for k in reader.get_variable_to_shape_map()
        if k.startswith(("generator", "discriminator", "g_opt", "d_opt"))
    ]
    return path, {k: reader.get_tensor(k) for k in keys}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("train")
    whole = train(
        tmp,
        "--total_kimg=0.2",
        "--desc=whole",
        "--metrics=mode_coverage",
        "--metrics_ticks=3",
        "--metrics_images=64",
        "--keep_checkpoints=all",
    )
    first = train(tmp, "--total_kimg=0.104", "--desc=stopped")
    stopped_dir = os.path.join(tmp, "results", "00001-stopped")
    pristine_dir = os.path.join(tmp, "pristine", "00001-stopped")  # resuming prunes old checkpoints
    boundary_dir = os.path.join(tmp, "boundary", "00001-stopped")
    shutil.copytree(stopped_dir, pristine_dir)
    shutil.copytree(stopped_dir, boundary_dir)
    resumed = train(tmp, "--total_kimg=0.2", f"--resume={stopped_dir}")
    # ckpt-64 was written as the 4x4 stage ended (its last tick ends exactly there): it holds the
    # 4x4 networks although 64 images is where 8x8-fade starts.
    at_boundary = train(tmp, "--total_kimg=0.2", f"--resume={boundary_dir}/checkpoints/ckpt-64")
    two = train(tmp, "--total_kimg=0.2", "--desc=two", "--num_cpu_devices=2")
    return {
        "tmp": tmp,
        "whole": (os.path.join(tmp, "results", "00000-whole"), whole),
        "stopped": (stopped_dir, first),
        "resumed": (stopped_dir, resumed),
        "boundary": (boundary_dir, at_boundary),
        "pristine": pristine_dir,
        "two": (os.path.join(tmp, "results", "00002-two"), two),
    }


def test_run_directory_has_every_output(trained):
    run_dir, proc = trained["whole"]
    names = os.listdir(run_dir)
    for expected in ("config.json", "log.txt", "reals.png", "checkpoints"):
        assert expected in names
    assert any(n.startswith("events.out.tfevents") for n in names)
    assert any(n.startswith("fakes") and n.endswith(".png") for n in names)
    assert any(n.startswith("network-snapshot-") and n.endswith(".keras") for n in names)
    log = open(os.path.join(run_dir, "log.txt")).read()
    ticks = [line for line in log.splitlines() if line.startswith("tick ")]
    assert len(ticks) >= 5 and "sec/kimg" in ticks[0] and "img/s" in ticks[0]
    assert " 4 " in ticks[0] and "fade" in log and "grew to 8x8-fade" in log
    rows = [json.loads(line) for line in open(os.path.join(run_dir, "metrics-training.jsonl"))]
    assert len(rows) >= 2 and all(0.0 <= r["coverage"] <= 1.0 for r in rows)
    assert any(line.startswith("  metrics ") and "coverage" in line for line in log.splitlines())
    config = json.load(open(os.path.join(run_dir, "config.json")))
    assert config["network"]["latent_size"] == 8 and config["dataset"]["resolution"] == 8
    from pgan_tf.training import rundir

    assert rundir.read_config(run_dir).train.network.latent_size == 8  # a run's config reads back


def test_snapshot_generates_final_resolution(trained):
    from pgan_tf.training import rundir

    run_dir, _ = trained["whole"]
    kimg, path = rundir.latest_snapshot(run_dir)
    g = rundir.load_generator(path)
    out = g(np.random.default_rng(0).normal(size=(2, 8)).astype(np.float32))
    assert out.shape == (2, 8, 8, 3)


def test_resume_ends_with_identical_weights(trained):
    stopped_dir, first = trained["stopped"]
    assert "Done: kimg 0.1" in first.stdout
    _, resumed = trained["resumed"]
    assert "Resumed from" in resumed.stdout
    path_a, whole = final_state(trained["whole"][0])
    path_b, again = final_state(stopped_dir)
    assert os.path.basename(path_a) == os.path.basename(path_b)
    assert whole.keys() == again.keys() and len(whole) > 20
    for k in whole:
        np.testing.assert_array_equal(whole[k], again[k], err_msg=k)


def test_resume_from_a_checkpoint_written_as_a_stage_ended(trained):
    from pgan_tf.training import checkpoint as ckpt
    from pgan_tf.training.schedule import stage_at

    boundary_dir, proc = trained["boundary"]
    path = os.path.join(trained["pristine"], "checkpoints", "ckpt-64")
    schedule = _config(trained["whole"][0]).schedule
    assert (
        ckpt.stage_of(path, schedule).name == "4x4" and stage_at(schedule, 0.064).name == "8x8-fade"
    )
    assert "Resumed from" in proc.stdout and "at kimg 0.1 (4x4," in proc.stdout
    _, whole = final_state(trained["whole"][0])
    _, again = final_state(boundary_dir)
    assert whole.keys() == again.keys()
    for k in whole:
        np.testing.assert_array_equal(whole[k], again[k], err_msg=k)


def test_keep_checkpoints_all_keeps_every_snapshot_resumable(trained, tmp_path):
    """`--keep_checkpoints=all` (the whole run's): a checkpoint per network snapshot stays next to
    its `.keras` snapshot; resuming a copy of the run from the oldest ends with the weights of the
    uninterrupted run."""
    run_dir = str(tmp_path / "results" / "00000-whole")
    shutil.copytree(trained["whole"][0], run_dir)
    found = sorted(
        int(n[5:-6])
        for n in os.listdir(os.path.join(run_dir, "checkpoints"))
        if n.endswith(".index")
    )
    snapshots = [n for n in os.listdir(run_dir) if n.startswith("network-snapshot-")]
    assert len(found) >= 3 and snapshots  # (names by whole kimg: one here, under 1 kimg)
    records = [json.loads(line) for line in open(os.path.join(run_dir, "ticks.jsonl"))]
    assert [r["tick"] for r in records] == list(range(1, len(records) + 1))
    assert records[-1]["kimg"] == 0.2 and found[-1] == 200
    _, whole = final_state(trained["whole"][0])
    oldest = os.path.join(run_dir, "checkpoints", f"ckpt-{found[0]}")
    proc = train(tmp_path, "--total_kimg=0.2", f"--resume={oldest}")
    assert f"Resumed from {oldest}" in proc.stdout
    _, again = final_state(run_dir)
    assert whole.keys() == again.keys()
    for k in whole:
        np.testing.assert_array_equal(whole[k], again[k], err_msg=k)


def _train_in(cwd, *args):
    """`train` from working directory `cwd` with relative paths, as the quickstart runs."""
    cmd = [sys.executable, "-m", "pgan_tf.train", "--create_synthetic=48", *TINY, *args]
    env = {**os.environ, "PYTHONPATH": REPO}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_resume_after_the_dataset_moved_from_another_directory_is_exact(trained, tmp_path):
    """The checkpoint stores the input position, not the paths: resumed with the dataset moved,
    from another working directory and a relative --dataset_dir, the run ends as the whole one."""
    run = tmp_path / "results" / "00001-stopped"
    shutil.copytree(trained["pristine"], run)
    shutil.copytree(os.path.join(trained["tmp"], "data"), tmp_path / "moved" / "renamed")
    (tmp_path / "elsewhere").mkdir()
    proc = _train_in(
        tmp_path / "elsewhere",
        "--dataset_dir=../moved/renamed",
        "--result_dir=../results",
        "--total_kimg=0.2",
        "--resume=../results/00001-stopped",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Resumed from ../results/00001-stopped/checkpoints/ckpt-104" in proc.stdout
    assert "differs" not in proc.stdout and "WARNING" not in proc.stderr
    _, whole = final_state(trained["whole"][0])
    _, again = final_state(str(run))
    assert whole.keys() == again.keys()
    for k in whole:
        np.testing.assert_array_equal(whole[k], again[k], err_msg=k)


def test_resume_on_other_data_says_so_and_goes_on(trained, tmp_path):
    run = tmp_path / "results" / "00001-stopped"
    shutil.copytree(trained["pristine"], run)
    other = tmp_path / "other"
    from pgan_tf.data.dataset_tool import create_synthetic

    create_synthetic(str(other), num_images=50, resolution=8, seed=5, progress=False)
    args = [f"--dataset_dir={other}", f"--result_dir={tmp_path}/results", f"--resume={run}"]
    refused = _train_in(tmp_path, *args, "--total_kimg=0.2")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    line = refused.stderr.strip().splitlines()[-1]
    assert line.startswith("error: the dataset differs from the one checkpoint ")
    assert "r02 holds 50 records, was 48" in line and f"now {other}" in line
    assert "--deterministic resumes only on the same data" in line
    went_on = _train_in(tmp_path, *args, "--total_kimg=0.2", "--nodeterministic")
    assert went_on.returncode == 0, went_on.stdout + went_on.stderr
    assert "continuing from the checkpoint with a fresh input order" in went_on.stdout
    assert f"then {os.path.join(trained['tmp'], 'data')}, now {other}" in went_on.stdout
    assert "Done: kimg 0.2" in went_on.stdout and "damaged" not in went_on.stdout


def test_ema_generator_loads_from_any_checkpoint(trained):
    from pgan_tf.model.layers import WeightedSum
    from pgan_tf.training import checkpoint as ckpt
    from pgan_tf.training import rundir

    run_dir, _ = trained["whole"]
    z = np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)
    g, kimg = rundir.load_ema_generator(
        run_dir, tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    )
    snap_kimg, snap = rundir.latest_snapshot(run_dir)
    assert kimg == 0.2 and snap_kimg == 0
    np.testing.assert_array_equal(g(z).numpy(), rundir.load_generator(snap)(z).numpy())
    # mid-fade: 104 images = 40 of the 64-image transition into 8x8
    fading, kimg = rundir.load_ema_generator(
        run_dir, os.path.join(trained["pristine"], "checkpoints", "ckpt-104")
    )
    alphas = [
        float(layer.alpha.numpy()) for layer in fading.layers if isinstance(layer, WeightedSum)
    ]
    assert kimg == 0.104 and alphas == [pytest.approx(40 / 64)]
    with pytest.raises(ckpt.CheckpointError, match="checkpoint not found"):
        rundir.load_ema_generator(run_dir, os.path.join(run_dir, "checkpoints", "ckpt-999"))


def _config(run_dir):
    from pgan_tf.training import rundir

    return rundir.read_config(run_dir).train


def test_two_replicas_match_one(trained):
    assert "2 replica(s)" in trained["two"][1].stdout
    _, one = final_state(trained["whole"][0])
    _, two = final_state(trained["two"][0])
    for k in one:
        if k.startswith(("generator", "discriminator")):
            np.testing.assert_allclose(one[k], two[k], rtol=1e-3, atol=1e-4, err_msg=k)


def test_export_cli_exports_a_checkpoints_ema_generator(trained, tmp_path):
    """`export_saved_model.py --checkpoint` on a real run: the SavedModel equals the checkpoint's
    EMA G."""
    from pgan_tf.model import sampling
    from pgan_tf.training import rundir

    script = os.path.join(REPO, "export", "export_saved_model.py")
    run_dir = trained["pristine"]
    path = os.path.join(run_dir, "checkpoints", "ckpt-104")
    proc = subprocess.run(
        [
            sys.executable,
            script,
            f"--run_dir={run_dir}",
            f"--checkpoint={path}",
            f"--export_base={tmp_path}",
            "--no_warmup",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"checkpoint: {path} (kimg 0.104)" in proc.stdout
    z = np.random.default_rng(1).normal(size=(3, 8)).astype(np.float32)
    served = tf.saved_model.load(os.path.join(tmp_path, "pgan", "1")).signatures["serving_default"]
    generator, _ = rundir.load_ema_generator(run_dir, path)
    np.testing.assert_array_equal(
        served(latents=tf.constant(z))["images"].numpy(), sampling.to_uint8(generator(z))
    )
    for args, message in (
        (
            ["--checkpoint=latest", "--snapshot=0"],
            "error: give --snapshot or --checkpoint, not both",
        ),
        ([f"--checkpoint={path}9"], f"error: checkpoint not found: {path}9"),
    ):
        bad = subprocess.run(
            [sys.executable, script, f"--run_dir={run_dir}", f"--export_base={tmp_path}/x", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        assert bad.returncode == 2 and bad.stderr.strip() == message
        assert not os.path.exists(tmp_path / "x")
