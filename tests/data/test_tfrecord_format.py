"""The on-disk format, byte for byte: names, Example bytes, pyramid, order, labels, writer."""

import os
import struct

import numpy as np
import pytest
import tensorflow as tf
from dataset_helpers import (
    assert_dataset_equals,
    leftovers,
    random_images,
    reference_levels,
    snapshot,
)

from pgan_tf.data import tfrecord_format as fmt
from pgan_tf.data.tfrecord_format import DatasetError, DatasetWriter


def test_file_names():
    assert fmt.tfrecord_filename("/data/celebahq", 10) == "/data/celebahq/celebahq-r10.tfrecords"
    assert fmt.tfrecord_filename("/data/celebahq/", 2) == "/data/celebahq/celebahq-r02.tfrecords"
    assert fmt.labels_filename("datasets/cifar10") == os.path.join(
        "datasets/cifar10", "cifar10-rxx.labels"
    )
    assert fmt.parse_tfrecord_filename("/x/my-set-r05.tfrecords") == ("my-set", 5)
    assert fmt.parse_tfrecord_filename("/x/my-set-rxx.labels") is None


def test_shuffled_order_is_the_original_tools():
    want = np.arange(1000)
    np.random.RandomState(123).shuffle(want)
    np.testing.assert_array_equal(fmt.shuffled_order(1000), want)


@pytest.mark.parametrize("channels", [1, 3])
def test_pyramid_matches_block_means(channels):
    images = random_images(5, 64, channels, seed=channels)
    levels = fmt.pyramid(images)
    ref = reference_levels(images)
    assert [lv.shape[1] for lv in levels] == [64, 32, 16, 8, 4]
    for lv in levels:
        assert lv.dtype == np.uint8
        np.testing.assert_array_equal(lv, ref[lv.shape[1]])


def test_pyramid_carries_the_float_not_the_rounded_level():
    # 16×16 → 8×8 gives four 2×2 groups of [0.5, 0.5, 0.5, 0.75]; carried: 0.5625 → 1, but
    # averaging the rounded 8×8 level ([0, 0, 0, 1] → 0.25) would give 0.
    half = np.array([[1, 0], [0, 1]])  # mean 0.5
    three_q = np.array([[1, 1], [1, 0]])  # mean 0.75
    quad = np.block([[half, half], [half, three_q]])
    img = np.tile(quad, (4, 4)).astype(np.uint8)[None, :, :, None]
    levels = fmt.pyramid(img)
    assert levels[1][0, 0, 0, 0] == 0  # rint(0.5) = 0 (half to even), as the original
    assert levels[2][0, 0, 0, 0] == 1
    rounded_cascade = np.rint(levels[1].astype(np.float32).reshape(1, 4, 2, 4, 2, 1).mean((2, 4)))
    assert rounded_cascade[0, 0, 0, 0] == 0


def _varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        out += bytes([b | (0x80 if v else 0)])
        if not v:
            return out


def _field(num, payload):  # length-delimited protobuf field
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def _example_wire_bytes(chw):
    """tf.train.Example wire bytes built by hand from the protobuf encoding rules."""
    data_feature = _field(1, _field(1, chw.tobytes()))  # Feature.bytes_list(1) → BytesList.value(1)
    packed = b"".join(_varint(d) for d in chw.shape)
    shape_feature = _field(
        3, _field(1, packed)
    )  # Feature.int64_list(3) → Int64List.value(1), packed
    entries = _field(1, _field(1, b"data") + _field(2, data_feature))
    entries += _field(1, _field(1, b"shape") + _field(2, shape_feature))
    return _field(1, entries)  # Example.features(1) → Features.feature(1) map entries, key order


def test_example_bytes_match_a_hand_built_example():
    chw = np.arange(3 * 8 * 8, dtype=np.uint8).reshape(3, 8, 8) * 7
    hand = tf.train.Example(
        features=tf.train.Features(
            feature={
                "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=[3, 8, 8])),
                "data": tf.train.Feature(bytes_list=tf.train.BytesList(value=[chw.tobytes()])),
            }
        )
    )
    got = fmt.encode_example(chw)
    # Protobuf's canonical (deterministic) serialization writes map entries in key order. The
    # default serialization of the installed backend may use another order (upb: hash order,
    # which can change from one process to the next), so the writer always asks for this one.
    assert got == hand.SerializeToString(deterministic=True)
    assert got == _example_wire_bytes(chw)
    np.testing.assert_array_equal(fmt.decode_example(got), chw)


def _masked_crc(data):
    crc = 0xFFFFFFFF  # CRC-32C (Castagnoli), reflected, as TFRecord uses
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def test_written_files_are_the_original_tools_bytes(tmp_path):
    images = random_images(6, 8, 3, seed=1)
    labels = np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 0, 1]]
    target = str(tmp_path / "tiny")
    with DatasetWriter(target) as w:
        w.add_images(images[:4])
        w.add_images(images[4:])
        w.add_labels(labels)
        w.commit()
    assert sorted(os.listdir(target)) == [
        "tiny-r02.tfrecords",
        "tiny-r03.tfrecords",
        "tiny-rxx.labels",
    ]
    for res, level in reference_levels(images).items():
        want = b""
        for img in level:
            rec = _example_wire_bytes(np.ascontiguousarray(img.transpose(2, 0, 1)))
            header = struct.pack("<Q", len(rec))
            want += (
                header
                + struct.pack("<I", _masked_crc(header))
                + rec
                + struct.pack("<I", _masked_crc(rec))
            )
        with open(fmt.tfrecord_filename(target, res.bit_length() - 1), "rb") as f:
            assert f.read() == want, f"level {res}"
    with open(fmt.labels_filename(target), "rb") as f:
        saved = f.read()
    import io

    buf = io.BytesIO()
    np.save(buf, labels)
    assert saved == buf.getvalue()
    assert_dataset_equals(target, images, labels)


def test_writer_leaves_nothing_until_commit_and_cleans_up_on_error(tmp_path):
    target = str(tmp_path / "ds")
    with pytest.raises(RuntimeError):
        with DatasetWriter(target) as w:
            w.add_images(random_images(2, 8))
            assert not os.path.exists(target)
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []
    with DatasetWriter(target) as w:
        w.add_images(random_images(2, 8))
        with pytest.raises(DatasetError, match="shape"):
            w.add_images(random_images(2, 16))
    assert os.listdir(tmp_path) == []


def test_writer_refuses_existing_target_unless_overwrite(tmp_path):
    target = tmp_path / "ds"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    before = snapshot(str(target))
    with pytest.raises(DatasetError, match=r"ds: already exists.*--overwrite"):
        DatasetWriter(str(target))
    assert snapshot(str(target)) == before
    images = random_images(3, 4, 1)
    with DatasetWriter(str(target), overwrite=True) as w:
        w.add_images(images)
        w.commit()
    assert sorted(os.listdir(target)) == ["ds-r02.tfrecords"]
    assert leftovers(str(tmp_path)) == []
    assert_dataset_equals(str(target), images)
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatasetError, match="not a directory"):
        DatasetWriter(str(tmp_path / "file"), overwrite=True)


def test_empty_target_directory_is_filled(tmp_path):
    (tmp_path / "ds").mkdir()
    with DatasetWriter(str(tmp_path / "ds")) as w:
        w.add_images(random_images(1, 4))
        w.commit()
    assert os.listdir(tmp_path / "ds") == ["ds-r02.tfrecords"]


@pytest.mark.parametrize(
    "shape,match",
    [
        ((2, 6, 6, 3), "power of two"),
        ((2, 8, 4, 3), "square"),
        ((2, 8, 8, 4), "1 or 3 channels"),
        ((2, 2, 2, 3), "power of two"),
    ],
)
def test_writer_refuses_bad_shapes(tmp_path, shape, match):
    with DatasetWriter(str(tmp_path / "ds")) as w:
        with pytest.raises(DatasetError, match=match):
            w.add_images(np.zeros(shape, np.uint8))
    assert os.listdir(tmp_path) == []
