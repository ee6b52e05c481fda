"""LSUN LMDB: key order, center-crop + Lanczos resize, and undecodable records skipped, named and
counted, as the original tool (whose output on the same database is in the fixture, see
tests/original_tool_inputs.py)."""

import io
import json
import os

import lmdb
import numpy as np
import PIL.Image
import pytest
from dataset_helpers import assert_dataset_equals, leftovers, read_level
from original_tool_inputs import (
    LSUN_BAD_KEY,
    ORIGINAL_CALLS,
    digests,
    lsun_records,
    make_lsun,
)

from pgan_tf.data import dataset_tool
from pgan_tf.data.tfrecord_format import DatasetError

FIXTURE = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), "fixtures", "dataset_tool", "original_digests.json"
)


def _expected(value, res):
    """An LSUN image as the original makes it: decoded, centred square crop, Lanczos resize."""
    dec = np.asarray(PIL.Image.open(io.BytesIO(value)).convert("RGB"))
    h, w = dec.shape[:2]
    s = min(w, h)
    crop = dec[(h - s) // 2 : (h + s) // 2, (w - s) // 2 : (w + s) // 2]
    return np.asarray(PIL.Image.fromarray(crop).resize((res, res), PIL.Image.LANCZOS))


def _smooth(res, seed):
    rng = np.random.RandomState(seed)
    t = np.linspace(0, 1, res)
    a, b, c = rng.uniform(0, 255, 3)
    img = a * t[None, :, None] + b * t[:, None, None] + c * np.ones((1, 1, 3))
    return (img % 256).astype(np.uint8)


def test_lsun_lmdb_center_crop_resize_in_key_order(tmp_path):
    records = []
    for i, (w, h, fmt) in enumerate(
        [(48, 32, "JPEG"), (32, 40, "WEBP"), (40, 40, "JPEG"), (64, 36, "WEBP")]
    ):
        buf = io.BytesIO()
        PIL.Image.fromarray(_smooth(64, i)[:h, :w]).save(buf, fmt, quality=90)
        records.append((f"{i:040x}".encode(), buf.getvalue()))
    db = str(tmp_path / "bedroom_lmdb")
    make_lsun(db, records)
    info, skipped = dataset_tool.create_lsun(str(tmp_path / "ds"), db, 16, progress=False)
    assert (info.num_images, skipped) == (4, [])
    want = np.stack([_expected(v, 16) for _, v in records])
    assert_dataset_equals(str(tmp_path / "ds"), want)  # not shuffled, as the original
    dataset_tool.create_lsun(str(tmp_path / "ds3"), db, 8, max_images=3, progress=False)
    assert read_level(str(tmp_path / "ds3"), 8).shape == (3, 8, 8, 3)
    with pytest.raises(DatasetError, match=r"nope: no such file or directory"):
        dataset_tool.create_lsun(str(tmp_path / "ds2"), str(tmp_path / "nope"), progress=False)


def test_undecodable_record_is_skipped_named_and_counted_as_the_original(tmp_path, capsys):
    records = lsun_records()
    db = str(tmp_path / "lsun_lmdb")
    make_lsun(db, records)
    info, skipped = dataset_tool.create_lsun(str(tmp_path / "lsun"), db, 16, progress=False)
    good = [v for k, v in records if k != LSUN_BAD_KEY]
    assert info.num_images == len(good) == 4
    assert len(skipped) == 1 and skipped[0].startswith(f"{db}: key 0002: ")
    assert capsys.readouterr().err.splitlines() == [f"skipped {skipped[0]}"]
    assert_dataset_equals(str(tmp_path / "lsun"), np.stack([_expected(v, 16) for v in good]))
    with open(FIXTURE) as f:
        original = json.load(f)
    assert ORIGINAL_CALLS["lsun"] == dict(resolution=16)
    assert digests(str(tmp_path / "lsun")) == original["lsun"]
    # --max_images counts decodable records: the first three are keys 0000, 0001, 0003.
    info, skipped = dataset_tool.create_lsun(
        str(tmp_path / "lsun_max3"), db, **ORIGINAL_CALLS["lsun_max3"], progress=False
    )
    assert (info.num_images, len(skipped)) == (3, 1)
    assert digests(str(tmp_path / "lsun_max3")) == original["lsun_max3"]
    assert_dataset_equals(
        str(tmp_path / "lsun_max3"), np.stack([_expected(v, 8) for v in good[:3]])
    )


def test_a_database_of_only_undecodable_records_is_an_error(tmp_path, capsys):
    db = str(tmp_path / "db")
    make_lsun(db, [(b"k1", b"not an image"), (b"k2", b"\xff\xd8\xff broken jpeg")])
    with pytest.raises(
        DatasetError,
        match=r"db: none of its 2 record\(s\) could be decoded \(the first: key k1: not an image",
    ):
        dataset_tool.create_lsun(str(tmp_path / "ds"), db, 8, progress=False)
    err = capsys.readouterr().err.splitlines()
    assert [line.split(": key ")[1].split(":")[0] for line in err] == ["k1", "k2"]
    assert leftovers(str(tmp_path)) == [] and not (tmp_path / "ds").exists()


def test_decoding_errors_keep_their_reason(tmp_path):
    """A DatasetError raised while decoding keeps its own reason (it is not re-wrapped)."""
    buf = io.BytesIO()
    PIL.Image.fromarray(np.zeros((8, 8), np.float32)).save(buf, "TIFF")  # mode F
    make_lsun(str(tmp_path / "db"), [(b"k1", buf.getvalue())])
    with pytest.raises(
        DatasetError, match=r"key k1: floating-point image \(mode F\) cannot be converted\)$"
    ):
        dataset_tool.create_lsun(
            str(tmp_path / "ds"), str(tmp_path / "db"), resolution=8, progress=False
        )


def test_an_empty_database_is_an_error(tmp_path):
    env = lmdb.open(str(tmp_path / "empty"), map_size=1 << 20)
    env.close()
    with pytest.raises(DatasetError, match=r"empty: no images \(empty database\)"):
        dataset_tool.create_lsun(str(tmp_path / "ds"), str(tmp_path / "empty"), progress=False)
