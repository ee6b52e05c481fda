"""Legacy HDF5 archives (`create_from_hdf5`): the Theano-era layout, the largest `data*` level,
labels from `<archive>-labels.npy`, against the original tool's output on the same archive
(fixture: see tests/original_tool_inputs.py), and every refusal in one line."""

import json
import os
import sys

import h5py
import numpy as np
import pytest
from dataset_helpers import assert_dataset_equals, leftovers
from original_tool_inputs import ORIGINAL_CALLS, digests, make_hdf5

from pgan_tf.data import dataset_tool
from pgan_tf.data.hdf5_archive import labels_path
from pgan_tf.data.tfrecord_format import DatasetError, shuffled_order

FIXTURE = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), "fixtures", "dataset_tool", "original_digests.json"
)


def _nhwc(images):
    return images.transpose(0, 2, 3, 1)


def test_theano_era_archive_with_labels_as_the_original(tmp_path):
    path, images, labels = make_hdf5(str(tmp_path))
    assert labels_path(path) == str(tmp_path / "tiny-labels.npy")
    with h5py.File(path, "r") as f:  # h5py lists data16x16 first, not last: the widest is taken
        assert list(f) == ["data16x16", "data1x1", "data2x2", "data4x4", "data8x8"]
    info = dataset_tool.create_from_hdf5(
        str(tmp_path / "hdf5"), path, bool(ORIGINAL_CALLS["hdf5"]["shuffle"]), progress=False
    )
    assert (info.num_images, info.max_resolution, info.num_channels, info.label_size) == (
        6,
        16,
        3,
        3,
    )
    order = shuffled_order(6)
    assert_dataset_equals(str(tmp_path / "hdf5"), _nhwc(images)[order], labels[order])
    with open(FIXTURE) as f:
        assert digests(str(tmp_path / "hdf5")) == json.load(f)["hdf5"]


def test_unshuffled_grayscale_without_labels_and_any_label_values(tmp_path):
    path, images, _ = make_hdf5(str(tmp_path), n=5, res=8, channels=1, seed=3)
    os.remove(labels_path(path))
    dataset_tool.create_from_hdf5(str(tmp_path / "ds"), path, shuffle=False, progress=False)
    assert_dataset_equals(str(tmp_path / "ds"), _nhwc(images))
    # The original takes the labels file as it is (float32), one-hot or not.
    attributes = np.arange(10, dtype=np.float64).reshape(5, 2) / 4
    np.save(labels_path(path), attributes)
    dataset_tool.create_from_hdf5(str(tmp_path / "ds2"), path, shuffle=False, progress=False)
    assert_dataset_equals(str(tmp_path / "ds2"), _nhwc(images), attributes.astype(np.float32))


def _archive(path, **datasets):
    with h5py.File(path, "w") as f:
        for name, value in datasets.items():
            f.create_dataset(name, data=value)
    return str(path)


@pytest.mark.parametrize(
    "datasets, message",
    [
        (
            dict(images=np.zeros((2, 3, 4, 4), np.uint8)),
            r"no dataset named data\* \(holds images\)",
        ),
        (dict(data4x4=np.zeros((2, 4, 4), np.uint8)), r"data4x4 has shape \[2, 4, 4\], expected"),
        (dict(data6x6=np.zeros((2, 3, 6, 6), np.uint8)), r"data6x6: images are 3x6x6 \(CxHxW\)"),
        (dict(data4x4=np.zeros((2, 4, 4, 4), np.uint8)), r"data4x4: images are 4x4x4"),
        (dict(data4x4=np.zeros((2, 3, 4, 4), np.float32)), r"data4x4: images are float32"),
    ],
)
def test_bad_archives_are_refused_in_one_line(tmp_path, datasets, message):
    path = _archive(tmp_path / "a.h5", **datasets)
    with pytest.raises(DatasetError, match=message):
        dataset_tool.create_from_hdf5(str(tmp_path / "ds"), path, progress=False)
    assert leftovers(str(tmp_path)) == [] and not (tmp_path / "ds").exists()


def test_bad_labels_missing_file_and_missing_h5py(tmp_path, monkeypatch):
    path = _archive(tmp_path / "a.h5", data4x4=np.zeros((3, 3, 4, 4), np.uint8))
    np.save(tmp_path / "a-labels.npy", np.zeros((2, 5), np.float32))
    with pytest.raises(DatasetError, match=r"a-labels\.npy: labels have shape \[2, 5\], expected"):
        dataset_tool.create_from_hdf5(str(tmp_path / "ds"), path, progress=False)
    (tmp_path / "a-labels.npy").write_bytes(b"junk")
    with pytest.raises(DatasetError, match=r"a-labels\.npy: not a NumPy array file"):
        dataset_tool.create_from_hdf5(str(tmp_path / "ds"), path, progress=False)
    (tmp_path / "b.h5").write_bytes(b"junk")
    with pytest.raises(DatasetError, match=r"b\.h5: not an HDF5 file"):
        dataset_tool.create_from_hdf5(str(tmp_path / "ds"), str(tmp_path / "b.h5"), progress=False)
    with pytest.raises(DatasetError, match=r"c\.h5: no such file$"):
        dataset_tool.create_from_hdf5(str(tmp_path / "ds"), str(tmp_path / "c.h5"), progress=False)
    monkeypatch.setitem(sys.modules, "h5py", None)  # as if it were not installed
    with pytest.raises(
        DatasetError, match=r"a\.h5: reading HDF5 archives needs h5py \(pip install"
    ):
        dataset_tool.create_from_hdf5(str(tmp_path / "ds"), path, progress=False)
    assert not (tmp_path / "ds").exists()
