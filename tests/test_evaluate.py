"""End-to-end test of the evaluate command on a tiny run directory: two snapshots of a tiny
generator and a tiny synthetic dataset at 16² built with create_synthetic."""

import io
import json
import os
import subprocess
import sys

import pytest
from cli_helpers import run_main

from pgan_tf.evaluate import _progress_printer, format_table, select_snapshots
from pgan_tf.model.networks import NetworkConfig, build_generator
from pgan_tf.training import rundir
from pgan_tf.training.config import DataConfig, TrainConfig
from pgan_tf.training.schedule import ScheduleConfig

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_select_snapshots():
    snaps = [(0, "a"), (10, "b"), (20, "c")]
    assert select_snapshots(snaps, "all") == snaps
    assert select_snapshots(snaps, "latest") == [(20, "c")]
    assert select_snapshots(snaps, "20,0") == [(20, "c"), (0, "a")]
    with pytest.raises(ValueError, match="no snapshot at kimg \\[5\\]"):
        select_snapshots(snaps, "5")
    with pytest.raises(ValueError, match="all, latest or kimg"):
        select_snapshots(snaps, "newest")
    with pytest.raises(ValueError, match="no network-snapshot"):
        select_snapshots([], "all")


def test_format_table_aligns_columns():
    rows = [
        {"snapshot": "reals-vs-reals", "kimg": None, "resolution": 16, "SWD": 1.23456},
        {
            "snapshot": "network-snapshot-000010.keras",
            "kimg": 10,
            "resolution": 16,
            "SWD": 120.0,
            "FID": 3.0,
        },
    ]
    lines = format_table(rows).splitlines()
    assert len(lines) == 3 and len({len(line) for line in lines}) == 1
    assert lines[0].split() == ["snapshot", "kimg", "resolution", "SWD", "FID"]
    assert lines[1].split() == ["reals-vs-reals", "-", "16", "1.235", "-"]


def test_format_table_puts_swd_levels_finest_first_and_bookkeeping_last():
    rows = [
        {
            "snapshot": "s",
            "kimg": 1,
            "resolution": 32,
            "skipped": [],
            "SWDx1e3_16": 2.0,
            "SWDx1e3_avg": 3.0,
            "MS-SSIM": 0.1,
            "SWDx1e3_32": 4.0,
            "seconds": 1.0,
        },
        {"snapshot": "t", "kimg": 2, "resolution": 8, "skipped": ["swd"], "seconds": 0.5},
    ]
    lines = format_table(rows).splitlines()
    assert lines[0].split() == [
        "snapshot",
        "kimg",
        "resolution",
        "SWDx1e3_32",
        "SWDx1e3_16",
        "SWDx1e3_avg",
        "MS-SSIM",
        "seconds",
        "skipped",
    ]
    assert lines[1].split()[-1] == "-" and lines[2].split()[-1] == "swd"


def _event_scalars(logdir):
    """{tag: {step: value}} read back from the TensorBoard event files of a directory."""
    import tensorflow as tf
    from tensorflow.core.util import event_pb2

    out = {}
    for name in os.listdir(logdir):
        for record in tf.data.TFRecordDataset(os.path.join(logdir, name)):
            event = event_pb2.Event.FromString(record.numpy())
            for value in event.summary.value:
                out.setdefault(value.tag, {})[event.step] = float(tf.make_ndarray(value.tensor))
    return out


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from pgan_tf.data.dataset_tool import create_synthetic

    root = tmp_path_factory.mktemp("run")
    data = str(root / "synth")
    create_synthetic(data, num_images=64, resolution=16, seed=0, progress=False)
    run = root / "00000-tiny"
    run.mkdir()
    config = NetworkConfig(fmap_base=32, fmap_max=16, latent_size=8)
    train = TrainConfig(
        network=config,
        schedule=ScheduleConfig(resolution=16, total_kimg=10),
        data=DataConfig(path=data, resolution=16),
    )
    rundir.write_config(str(run), train, rundir.DatasetEntry(data, 16, "synth"))
    for kimg in (0, 10):
        import keras

        keras.utils.set_random_seed(kimg)
        build_generator(config, 16).save(str(run / rundir.snapshot_name(kimg)))
    return str(run)


def test_evaluate_command_writes_rows_events_and_table(tiny_run):
    cmd = [
        sys.executable,
        "-m",
        "pgan_tf.evaluate",
        f"--run_dir={tiny_run}",
        "--metrics=swd,ms_ssim",
        "--num_images=24",
        "--batch_size=10",
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in open(os.path.join(tiny_run, "metrics.jsonl"))]
    assert [r["snapshot"] for r in rows] == [
        "reals-vs-reals",
        "network-snapshot-000000.keras",
        "network-snapshot-000010.keras",
    ]
    assert [r["kimg"] for r in rows] == [None, 0, 10]
    for r in rows:
        assert r["resolution"] == 16
        assert {"SWDx1e3_16-24", "SWDx1e3_avg-24", "MS-SSIM-24"} <= set(r)
        assert r["protocol"] == "swd-24,ms_ssim-24"
    # random-weight generators are farther from the data than two halves of the data
    avg = "SWDx1e3_avg-24"
    assert min(rows[1][avg], rows[2][avg]) > rows[0][avg]
    assert _event_scalars(os.path.join(tiny_run, "eval"))[f"metrics/{avg}"] == {
        0: pytest.approx(rows[1][avg], rel=1e-6),
        10: pytest.approx(rows[2][avg], rel=1e-6),
    }
    table = proc.stdout.strip().splitlines()
    assert table[0].split()[:3] == ["snapshot", "kimg", "resolution"]
    assert avg in table[0].split() and "MS-SSIM-24" in table[0].split()
    assert "mirrored: False" in proc.stderr
    assert table[2].startswith("network-snapshot-000000.keras")
    assert "reals vs reals 16²: fakes 24/24" in proc.stderr


def test_evaluate_errors_are_one_line(tiny_run, capsys):
    """Usage and configuration errors (a bad flag, a missing path) exit 2 with one line. The first
    runs the real command (nothing else on stderr); the others call its `main` in this process."""
    from pgan_tf import evaluate

    args = [f"--run_dir={tiny_run}", "--metrics=fid", "--snapshots=latest"]
    proc = subprocess.run(
        [sys.executable, "-m", "pgan_tf.evaluate", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(
        "error: FID and IS need Inception-v3 weights, which are never downloaded: "
        "pass --inception_path="
    ), proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    cases = [
        (["--metrics=swd,foo"], "error: unknown metric(s) ['foo']"),
        (
            ["--inception=/missing/inception.h5"],
            "error: Inception weights not found: '/missing/inception.h5'",
        ),
        (
            ["--run_dir=/missing/run", "--metrics=swd"],
            "error: run directory not found: /missing/run",
        ),
        (["--num_imagez=3"], "error: unrecognized arguments: --num_imagez=3"),
    ]
    for extra, message in cases:
        code, _, err = run_main(evaluate.main, capsys, args + extra)
        assert code == 2, err
        assert err.strip().splitlines()[-1].startswith(message), err


def test_progress_is_plain_lines_in_a_log_and_one_line_on_a_terminal():
    log = io.StringIO()
    progress = _progress_printer("snap", stream=log, interval=3600)
    for phase in ("reals", "fakes"):
        for done in range(64, 257, 64):
            progress(phase, done, 256)
    assert log.getvalue() == "  snap: reals 64/256\n  snap: reals 256/256\n  snap: fakes 256/256\n"

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    progress = _progress_printer("snap", stream=term, interval=0)
    progress("fakes", 128, 256)
    progress("fakes", 256, 256)
    assert term.getvalue() == "\r  snap: fakes 128/256\r  snap: fakes 256/256\n"
