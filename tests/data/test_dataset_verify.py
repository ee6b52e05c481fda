"""`create_tfrecords.py verify`: every record of every level, each problem reported by file,
record and byte offset; plus dataset creation on a full disk (injected and real)."""

import os
import subprocess
import sys

import numpy as np
import pytest
from dataset_helpers import leftovers, random_images
from fault_helpers import fill, flip_bytes, small_filesystem, truncate

from pgan_tf.data import dataset_verify, tfrecord_format
from pgan_tf.data.tfrecord_format import DatasetError, DatasetWriter, encode_example

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "data_prep", "create_tfrecords.py")


def make(path, n=6, res=16, labels=True):
    with DatasetWriter(str(path)) as w:
        w.add_images(random_images(n, res, 3, seed=1))
        if labels:
            w.add_labels(np.eye(3, dtype=np.float32)[np.arange(n) % 3])
        w.commit()
    return str(path)


def level(d, k):
    return os.path.join(d, f"{os.path.basename(d)}-r{k:02d}.tfrecords")


def record_size(d, k):
    return os.path.getsize(level(d, k)) // 6


def test_intact_dataset(tmp_path):
    problems, summary = dataset_verify.verify(make(tmp_path / "ds"))
    assert problems == []
    assert summary == [
        "checked 18 records in 3 level(s) (4x4, 8x8, 16x16), 6 images; labels 3 classes"
    ]


def test_crc_mismatch_names_file_record_and_offset_and_goes_on(tmp_path):
    d = make(tmp_path / "ds")
    step = record_size(d, 4)
    flip_bytes(level(d, 4), 2 * step + 40, 64)  # data of record 2
    flip_bytes(level(d, 4), 4 * step, 4)  # length header of record 4
    flip_bytes(level(d, 2), 5 * record_size(d, 2) + 30, 8)
    problems, _ = dataset_verify.verify(d)
    assert problems == [
        f"{level(d, 4)}: record 2 at byte offset {2 * step}: data checksum mismatch",
        f"{level(d, 4)}: record 4 at byte offset {4 * step}: length header checksum mismatch",
        f"{level(d, 2)}: record 5 at byte offset {5 * record_size(d, 2)}: data checksum mismatch",
    ]


def test_truncated_file_and_record_counts(tmp_path):
    d = make(tmp_path / "ds")
    step = record_size(d, 3)
    truncate(level(d, 3), 5 * step + 20)
    problems, _ = dataset_verify.verify(d)
    assert problems == [
        f"{level(d, 3)}: record 5 at byte offset {5 * step}: truncated: "
        f"the record needs {step - 20} more bytes "
        f"than the file has",
    ]
    truncate(level(d, 3), 4 * step)
    problems, _ = dataset_verify.verify(d)
    assert problems == [f"{level(d, 3)}: holds 4 records, ds-r04.tfrecords holds 6"]


def _rewrite_record(path, index, image_chw):
    """Replaces record `index` of a level file with a valid record holding another image."""
    import tensorflow as tf

    records = [bytes(r) for r in tf.data.TFRecordDataset(path).as_numpy_iterator()]
    records[index] = encode_example(image_chw)
    with tf.io.TFRecordWriter(path) as w:
        for r in records:
            w.write(r)


def test_levels_must_be_box_averages_and_shapes_right(tmp_path):
    d = make(tmp_path / "ds")
    step3, step2 = record_size(d, 3), record_size(d, 2)
    other = random_images(1, 8, 3, seed=9)[0].transpose(2, 0, 1)
    _rewrite_record(level(d, 3), 1, other)  # a valid record with the wrong content
    _rewrite_record(level(d, 2), 3, np.zeros((3, 8, 8), np.uint8))  # an 8x8 image in the 4x4 level
    problems, _ = dataset_verify.verify(d)
    assert len(problems) == 3
    assert problems[0].startswith(
        f"{level(d, 3)}: record 1 at byte offset {step3}: is not the 2x2 "
        f"average of record 1 of ds-r04.tfrecords (differs by up to "
    )
    assert problems[1].startswith(
        f"{level(d, 2)}: record 1 at byte offset {step2}: is not the 2x2 "
        f"average of record 1 of ds-r03.tfrecords"
    )
    assert (
        problems[2] == f"{level(d, 2)}: record 3 at byte offset {3 * step2}: "
        "shape [3, 8, 8], expected [C, 4, 4] with C 1 or 3"
    )


def test_labels_and_missing_level(tmp_path):
    d = make(tmp_path / "ds")
    labels = os.path.join(d, "ds-rxx.labels")
    bad = np.eye(3, dtype=np.float32)[np.arange(6) % 3]
    bad[4] = [0.5, 0.5, 0]
    np.save(open(labels, "wb"), bad)
    os.remove(level(d, 3))
    problems, _ = dataset_verify.verify(d)
    assert f"{level(d, 3)}: missing level (8x8)" in problems
    assert f"{labels}: 1 row(s) are not one-hot (first: row 4)" in problems
    np.save(open(labels, "wb"), bad[:5])
    assert (
        f"{labels}: labels have shape [5, 3], expected [6, classes]" in dataset_verify.verify(d)[0]
    )
    open(labels, "wb").write(b"garbage")
    assert any(
        p.startswith(f"{labels}: not a NumPy labels file") for p in dataset_verify.verify(d)[0]
    )


def test_cli_reports_each_problem_and_exits_1(tmp_path):
    d = make(tmp_path / "ds", labels=False)
    ok = subprocess.run(
        [sys.executable, SCRIPT, "verify", d, "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0 and ok.stdout.strip().endswith("Dataset is intact.")
    flip_bytes(level(d, 4), record_size(d, 4) + 100, 64)
    flip_bytes(level(d, 3), 3 * record_size(d, 3) + 50, 8)
    bad = subprocess.run(
        [sys.executable, SCRIPT, "verify", d, "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1 and bad.stderr == ""
    lines = bad.stdout.strip().splitlines()
    assert (
        lines[0]
        == f"{level(d, 4)}: record 1 at byte offset {record_size(d, 4)}: data checksum mismatch"
    )
    assert (
        lines[1]
        == f"{level(d, 3)}: record 3 at byte offset {3 * record_size(d, 3)}: data checksum mismatch"
    )
    assert lines[-1] == "2 problem(s) found."


# ---- dataset creation on a full disk ----------------------------------------------------------


def test_injected_write_failure_leaves_nothing(tmp_path, monkeypatch):
    import tensorflow as tf

    class FullDisk:
        def __init__(self, path):
            self.path, self.written = path, 0

        def write(self, record):
            self.written += len(record)
            if self.written > 2000:
                raise tf.errors.ResourceExhaustedError(
                    None, None, f"{self.path}; No space left on device"
                )

        def flush(self):
            pass

        def close(self):
            pass

    monkeypatch.setattr(tf.io, "TFRecordWriter", FullDisk)
    with pytest.raises(DatasetError) as info:
        make(tmp_path / "ds", n=20)
    assert str(info.value) == (
        f"{tmp_path}/ds/ds-r04.tfrecords: cannot write: No space left on device "
        f"(nothing was written to {tmp_path}/ds)"
    )
    assert os.listdir(tmp_path) == [] and leftovers(str(tmp_path)) == []


def test_labels_write_failure_leaves_nothing(tmp_path, monkeypatch):
    def full(file, arr, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tfrecord_format.np, "save", full)
    with pytest.raises(
        DatasetError, match=r"ds-rxx\.labels: cannot write: No space left on device \(ENOSPC\)"
    ):
        make(tmp_path / "ds")
    assert os.listdir(tmp_path) == []


def test_real_full_disk_cli_one_line_nothing_left(tmp_path):
    with small_filesystem(tmp_path / "small", "256k") as small:
        existing = make(os.path.join(small, "old"), n=4, res=8)
        before = sorted(os.listdir(small))
        proc = subprocess.run(
            [
                sys.executable,
                SCRIPT,
                "create_synthetic",
                os.path.join(small, "ds"),
                "--resolution",
                "32",
                "--num_images",
                "400",
                "--quiet",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 1 and proc.stdout == ""
        assert proc.stderr == (
            f"error: {small}/ds/ds-r05.tfrecords: cannot write: No space left on device "
            f"(nothing was written to {small}/ds)\n"
        )
        assert sorted(os.listdir(small)) == before and dataset_verify.verify(existing)[0] == []
        fill(small)
        proc = subprocess.run(
            [
                sys.executable,
                SCRIPT,
                "create_synthetic",
                os.path.join(small, "ds"),
                "--resolution",
                "8",
                "--num_images",
                "4",
                "--quiet",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert (
            proc.returncode == 1
            and proc.stderr.startswith("error: ")
            and len(proc.stderr.splitlines()) == 1
        )
        assert "ds" not in os.listdir(small)
