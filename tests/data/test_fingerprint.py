"""A dataset's identity: the same after a move or a copy, different when the content is."""

import shutil

import numpy as np
import pytest
from dataset_helpers import random_images

from pgan_tf.data import dataset, fingerprint
from pgan_tf.data.tfrecord_format import DatasetWriter


def _write(path, images, labels=None):
    with DatasetWriter(str(path)) as w:
        w.add_images(images)
        if labels is not None:
            w.add_labels(labels)
        w.commit()
    info = dataset.inspect(str(path))
    return fingerprint.identify(info, dataset.labels_file(info))


def test_a_moved_or_renamed_copy_has_the_same_identity(tmp_path):
    images = random_images(9, 8, 3, seed=1)
    labels = np.eye(3, dtype=np.float32)[np.arange(9) % 3]
    first = _write(tmp_path / "a", images, labels)
    shutil.copytree(tmp_path / "a", tmp_path / "elsewhere" / "b")
    moved = fingerprint.identify(dataset.inspect(str(tmp_path / "elsewhere" / "b")), None)
    assert [f.role for f in first.files] == ["r02", "r03", "labels"]
    assert first.files[0].records == 9 and first.path == str(tmp_path / "a")
    assert fingerprint.differences(first, moved) == ["labels is missing"]
    info = dataset.inspect(str(tmp_path / "elsewhere" / "b"))
    again = fingerprint.identify(info, dataset.labels_file(info))
    assert fingerprint.differences(first, again) == []
    assert fingerprint.DatasetIdentity.from_json(first.to_json()) == first


def test_other_content_or_counts_are_named(tmp_path):
    images = random_images(9, 8, 3, seed=1)
    base = _write(tmp_path / "a", images)
    other = images.copy()
    other[4, 0, 0, 0] ^= 0x40  # one pixel of one image
    changed = _write(tmp_path / "b", other)
    assert fingerprint.differences(base, changed) == [
        "r02 has other content",
        "r03 has other content",
    ]
    fewer = _write(tmp_path / "c", images[:8])
    assert fingerprint.differences(base, fewer) == [
        "r02 holds 8 records, was 9",
        "r03 holds 8 records, was 9",
    ]


@pytest.mark.parametrize("where", [0, 1 << 20, (3 << 20) - 1])
def test_a_large_file_is_hashed_in_samples_that_include_both_ends(tmp_path, monkeypatch, where):
    monkeypatch.setattr(fingerprint, "FULL_HASH_BYTES", 1 << 20)
    monkeypatch.setattr(fingerprint, "SAMPLES", 3)
    monkeypatch.setattr(fingerprint, "SAMPLE_BYTES", 1 << 20)
    data = bytearray(np.random.default_rng(0).integers(0, 256, 3 << 20, dtype=np.uint8).tobytes())
    path = tmp_path / "f"
    path.write_bytes(data)
    before = fingerprint.file_digest(str(path))
    data[where] ^= 1  # inside the first, middle and last sample
    path.write_bytes(data)
    assert fingerprint.file_digest(str(path)) != before
