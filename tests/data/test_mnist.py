"""MNIST idx files: `create_mnist` (digits padded to 32², with labels) and `create_mnistrgb` (three
random digits per image, one per channel), the latter against the original tool's output on the
same input (fixture: see tests/original_tool_inputs.py)."""

import gzip
import json
import os

import numpy as np
import pytest
from dataset_helpers import assert_dataset_equals
from original_tool_inputs import ORIGINAL_CALLS, digests, make_mnist_images

from pgan_tf.data import dataset_tool
from pgan_tf.data.mnist import mnist_rgb_picks
from pgan_tf.data.tfrecord_format import DatasetError, shuffled_order

FIXTURE = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), "fixtures", "dataset_tool", "original_digests.json"
)


def _idx(dims, data):
    return (
        bytes([0, 0, 8, len(dims)])
        + b"".join(int(d).to_bytes(4, "big") for d in dims)
        + data.tobytes()
    )


def test_mnist_idx_padded_to_32_with_labels(tmp_path):
    rng = np.random.RandomState(0)
    x = rng.randint(0, 256, (6, 28, 28)).astype(np.uint8)
    y = np.array([3, 1, 4, 1, 5, 9], np.uint8)
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(_idx(x.shape, x))
    with gzip.open(tmp_path / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(_idx(y.shape, y))
    info = dataset_tool.create_mnist(str(tmp_path / "ds"), str(tmp_path), progress=False)
    assert (info.num_channels, info.max_resolution, info.label_size) == (1, 32, 10)
    padded = np.pad(x, [(0, 0), (2, 2), (2, 2)])[..., None]
    order = shuffled_order(6)
    assert_dataset_equals(
        str(tmp_path / "ds"), padded[order], np.eye(10, dtype=np.float32)[y[order]]
    )
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(_idx(x.shape, x)[:-10])
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte\.gz: truncated"):
        dataset_tool.create_mnist(str(tmp_path / "ds2"), str(tmp_path), progress=False)


def test_mnistrgb_picks_are_the_originals_one_draw_of_three_per_image():
    rnd = np.random.RandomState(7)
    per_image = np.stack([rnd.randint(60000, size=3) for _ in range(50)])
    np.testing.assert_array_equal(mnist_rgb_picks(60000, 50, 7), per_image)


def test_mnistrgb_three_random_digits_per_image_as_the_original(tmp_path):
    digits = make_mnist_images(str(tmp_path))  # images only: MNIST-RGB reads no labels
    args = ORIGINAL_CALLS["mnistrgb"]
    info = dataset_tool.create_mnistrgb(
        str(tmp_path / "mnistrgb"), str(tmp_path), **args, progress=False
    )
    assert (info.num_images, info.num_channels, info.max_resolution, info.label_size) == (
        30,
        3,
        32,
        0,
    )
    padded = np.pad(digits, [(0, 0), (2, 2), (2, 2)])
    rnd = np.random.RandomState(args["random_seed"])
    want = np.stack(
        [padded[rnd.randint(len(digits), size=3)].transpose(1, 2, 0) for _ in range(30)]
    )
    assert_dataset_equals(str(tmp_path / "mnistrgb"), want)  # in the order drawn, not shuffled
    with open(FIXTURE) as f:
        assert digests(str(tmp_path / "mnistrgb")) == json.load(f)["mnistrgb"]


def test_mnistrgb_refuses_bad_input(tmp_path):
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte\.gz: not found"):
        dataset_tool.create_mnistrgb(str(tmp_path / "ds"), str(tmp_path), 5, progress=False)
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(_idx((2, 14, 14), np.zeros((2, 14, 14), np.uint8)))
    with pytest.raises(DatasetError, match=r"images are \(14, 14\), expected 28x28"):
        dataset_tool.create_mnistrgb(str(tmp_path / "ds"), str(tmp_path), 5, progress=False)
    with pytest.raises(DatasetError, match=r"--num_images: must be >= 1, got 0"):
        dataset_tool.create_mnistrgb(str(tmp_path / "ds"), str(tmp_path), 0, progress=False)
    assert not (tmp_path / "ds").exists()
