"""SVHN (`create_svhn`): the original tool's three pickles (against its output on the same
pickles; fixture: see tests/original_tool_inputs.py), and SVHN's own `train_32x32.mat`."""

import json
import os
import pickle
import sys

import numpy as np
import pytest
import scipy.io
from dataset_helpers import assert_dataset_equals
from original_tool_inputs import digests, make_svhn

from pgan_tf.data import dataset_tool
from pgan_tf.data.tfrecord_format import DatasetError, shuffled_order

FIXTURE = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), "fixtures", "dataset_tool", "original_digests.json"
)


def test_pickles_with_labels_as_the_original(tmp_path):
    """The labels cover 0..9, so the original's one-hot width (max label + 1) is ours, 10."""
    images, labels = make_svhn(str(tmp_path))
    info = dataset_tool.create_svhn(str(tmp_path / "svhn"), str(tmp_path), progress=False)
    assert (info.num_images, info.max_resolution, info.num_channels, info.label_size) == (
        12,
        32,
        3,
        10,
    )
    order = shuffled_order(12)
    want = images.transpose(0, 2, 3, 1)[order]
    assert_dataset_equals(str(tmp_path / "svhn"), want, np.eye(10, dtype=np.float32)[labels[order]])
    with open(FIXTURE) as f:
        assert digests(str(tmp_path / "svhn")) == json.load(f)["svhn"]


def test_mat_file_images_in_file_order_and_label_10_is_digit_0(tmp_path):
    rng = np.random.RandomState(2)
    x = rng.randint(0, 256, (32, 32, 3, 7)).astype(np.uint8)  # SVHN's layout: [32, 32, 3, n]
    y = np.array([[10], [1], [2], [10], [9], [5], [3]], np.uint8)
    scipy.io.savemat(tmp_path / "train_32x32.mat", {"X": x, "y": y}, do_compression=True)
    info = dataset_tool.create_svhn(str(tmp_path / "ds"), str(tmp_path), progress=False)
    assert info.label_size == 10
    order = shuffled_order(7)
    digits = np.array([0, 1, 2, 0, 9, 5, 3])
    assert_dataset_equals(
        str(tmp_path / "ds"),
        np.moveaxis(x, -1, 0)[order],
        np.eye(10, dtype=np.float32)[digits[order]],
    )
    scipy.io.savemat(tmp_path / "train_32x32.mat", {"X": x, "y": y[:, 0] * 0 + 11})
    with pytest.raises(DatasetError, match=r"train_32x32\.mat: labels outside 1\.\.10"):
        dataset_tool.create_svhn(str(tmp_path / "ds2"), str(tmp_path), progress=False)
    scipy.io.savemat(tmp_path / "train_32x32.mat", {"X": x})
    with pytest.raises(DatasetError, match=r"train_32x32\.mat: has no variable 'y'"):
        dataset_tool.create_svhn(str(tmp_path / "ds2"), str(tmp_path), progress=False)


def test_bad_inputs_are_refused_in_one_line(tmp_path, monkeypatch):
    with pytest.raises(DatasetError, match=r"has neither train_1\.pkl .* nor train_32x32\.mat"):
        dataset_tool.create_svhn(str(tmp_path / "ds"), str(tmp_path), progress=False)
    make_svhn(str(tmp_path))
    os.remove(tmp_path / "train_2.pkl")
    with pytest.raises(DatasetError, match=r"train_2\.pkl: not found \(the original tool reads"):
        dataset_tool.create_svhn(str(tmp_path / "ds"), str(tmp_path), progress=False)
    (tmp_path / "train_2.pkl").write_bytes(b"junk")
    with pytest.raises(DatasetError, match=r"train_2\.pkl: not a pickle of \(images, labels\)"):
        dataset_tool.create_svhn(str(tmp_path / "ds"), str(tmp_path), progress=False)
    with open(tmp_path / "train_2.pkl", "wb") as f:
        pickle.dump((np.zeros((2, 3, 32, 32), np.uint8), np.array([3, 10], np.uint8)), f)
    with pytest.raises(DatasetError, match=r"train_2\.pkl: labels outside 0\.\.9"):
        dataset_tool.create_svhn(str(tmp_path / "ds"), str(tmp_path), progress=False)
    with open(tmp_path / "train_2.pkl", "wb") as f:
        pickle.dump((np.zeros((2, 32, 32, 3), np.uint8), np.array([3, 1], np.uint8)), f)
    with pytest.raises(DatasetError, match=r"train_2\.pkl: images are \[2, 32, 32, 3\], expected"):
        dataset_tool.create_svhn(str(tmp_path / "ds"), str(tmp_path), progress=False)
    assert not (tmp_path / "ds").exists()
    for name in ("train_1.pkl", "train_2.pkl", "train_3.pkl"):
        os.remove(tmp_path / name)
    (tmp_path / "train_32x32.mat").write_bytes(b"junk")
    monkeypatch.setitem(sys.modules, "scipy.io", None)  # as if scipy were not installed
    with pytest.raises(DatasetError, match=r"train_32x32\.mat: reading SVHN's \.mat file needs"):
        dataset_tool.create_svhn(str(tmp_path / "ds"), str(tmp_path), progress=False)
