"""The train command's refusals, stops and dry run: a bad dataset, a diverged loss, Ctrl-C,
workers without a dataset, two workers from TF_CONFIG, --dry_run. Apart from tests/test_train.py
(whose module fixture trains five runs) so the two run in parallel under pytest-xdist."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from cli_helpers import free_port
from test_train import REPO, TINY, final_state, train


def test_bad_dataset_dir_is_a_clear_error(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pgan_tf.train",
            f"--dataset_dir={tmp_path}/missing",
            "--resolution=8",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error:") and "missing" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_workers_do_not_create_the_dataset_together(tmp_path):
    """With several workers the synthetic set is not made on the fly (they would race)."""
    from pgan_tf.train import ensure_dataset
    from pgan_tf.training import config as config_lib

    flags = config_lib.parse_flags(
        [f"--dataset_dir={tmp_path}/data", "--create_synthetic=16", "--resolution=8", "--seed=5"]
    )
    config = config_lib.config_from_flags(flags)
    with pytest.raises(
        config_lib.ConfigError,
        match=r"with 2 workers create it before starting them: python "
        r"data_prep/create_tfrecords.py create_synthetic .*/data "
        r"--resolution 8 --num_images 16 --seed 5",
    ):
        ensure_dataset(config, num_workers=2)
    assert not os.path.exists(tmp_path / "data")
    assert ensure_dataset(config).num_images == 16


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    proc = train(
        tmp_path, "--total_kimg=0.2", "--lr_dict=8:1e30", "--network_snapshot_ticks=1", check=False
    )
    assert proc.returncode == 1  # a runtime failure: the flags were valid
    assert "error: non-finite loss" in proc.stderr and "Traceback" not in proc.stderr
    run_dir = os.path.join(tmp_path, "results", "00000-pgan-data-8")
    path, state = final_state(run_dir)
    assert proc.stderr.strip().endswith(
        f"Last good checkpoint: {path}. Try a lower --lr_base or float32."
    )
    assert all(np.all(np.isfinite(v)) for v in state.values())


def test_sigint_saves_a_checkpoint_and_resumes(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "pgan_tf.train",
        f"--dataset_dir={tmp_path}/data",
        "--create_synthetic=48",
        f"--result_dir={tmp_path}/results",
        *TINY,
        "--total_kimg=1000",
        "--desc=sig",
    ]
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    for line in proc.stdout:
        if line.startswith("tick 2"):
            proc.send_signal(2)
            break
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err  # 128 + SIGINT: stopped, not finished
    assert "Stopped by SIGINT" in out
    run_dir = os.path.join(tmp_path, "results", "00000-sig")
    path, _ = final_state(run_dir)
    seen = tf.train.load_checkpoint(path).get_tensor("images_seen/.ATTRIBUTES/VARIABLE_VALUE")
    assert seen >= 64
    resumed = train(tmp_path, f"--total_kimg={seen / 1000 + 0.016}", f"--resume={run_dir}")
    assert f"Resumed from {path}" in resumed.stdout and "Done" in resumed.stdout


@pytest.mark.slow
def test_multi_worker_from_tf_config(tmp_path):
    """Two worker processes on loopback, selected by TF_CONFIG: both finish, the chief writes the
    run."""
    subprocess.run(
        [
            sys.executable,
            "data_prep/create_tfrecords.py",
            "create_synthetic",
            f"{tmp_path}/data",
            "--resolution=8",
            "--num_images=48",
            "--quiet",
        ],
        cwd=REPO,
        check=True,
    )
    workers = [f"127.0.0.1:{free_port()}" for _ in range(2)]
    procs = []
    for index in range(2):
        env = dict(
            os.environ,
            TF_CONFIG=json.dumps(
                {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
            ),
        )
        cmd = [
            sys.executable,
            "-m",
            "pgan_tf.train",
            f"--dataset_dir={tmp_path}/data",
            f"--result_dir={tmp_path}/results",
            *TINY,
            "--total_kimg=0.2",
            "--desc=mw",
        ]
        procs.append(
            subprocess.Popen(
                cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, out + err
    assert "2 replica(s) (MultiWorkerMirroredStrategy, 2 worker(s))" in outs[0][0]
    assert "Run directory" in outs[0][0] and "Run directory" not in outs[1][0]
    run_dir = os.path.join(tmp_path, "results", "00000-mw")
    _, state = final_state(run_dir)
    assert all(np.all(np.isfinite(v)) for v in state.values())
    assert os.listdir(os.path.join(tmp_path, "results")) == ["00000-mw"]


def test_dry_run_prints_config_and_schedule_quietly(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "data_prep/create_tfrecords.py",
            "create_synthetic",
            f"{tmp_path}/data",
            "--resolution=16",
            "--num_images=16",
            "--quiet",
        ],
        cwd=REPO,
        check=True,
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pgan_tf.train",
            f"--dataset_dir={tmp_path}/data",
            "--dry_run",
            "--total_kimg=3000",
            "--minibatch_dict=16:8",
            f"--result_dir={tmp_path}/results",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no TensorFlow start-up lines on the console
    config = json.loads(proc.stdout[: proc.stdout.index("\nstage")])
    assert config["schedule"]["resolution"] == 16 and config["network"]["num_channels"] == 3
    table = proc.stdout[proc.stdout.index("stage") :].splitlines()
    assert len(table) == 1 + 5  # 4, 8-fade, 8, 16-fade, 16
    assert table[-1].split()[:3] == ["4", "16", "no"] and table[-1].split()[5] == "8"
    assert not os.path.exists(tmp_path / "results")  # a dry run creates no run directory
