"""`create_celebahq` against the original tool's output on a fake CelebA, and its behaviour: the
counts check and --partial, --strict, a wrong delta, the md5 manifest, reproducible files.

The fixture `tests/fixtures/celebahq/original.json` was made in a scratch directory by running
the original `dataset_tool.py create_celebahq` (its code unmodified but for the relaxations
listed in the file's `made_by`: the 202,599 / 30 counts, the Pillow-3.1.1 and libjpeg-8d checks,
Pillow's removed ANTIALIAS alias) under tensorflow.compat.v1 and NumPy 1.26 on
`celebahq_fake.write_fake(root, md5s)`: it holds the fake JPEGs' sha256 (the inputs), the proc_md5
and final_md5 the original computed (its asserts on), and the sha256 of every record it wrote.
"""

import hashlib
import json
import os

import PIL.Image
import pytest
import tensorflow as tf
from celebahq_fake import jpeg_name, write_fake

from pgan_tf import create_tfrecords
from pgan_tf.data import dataset_tool
from pgan_tf.data.tfrecord_format import DatasetError

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "celebahq", "original.json")
ORIGINAL = json.load(open(FIXTURE))
MD5S = {int(k): tuple(v) for k, v in ORIGINAL["md5"].items()}
CHEAP = (0, 2, 3)  # small faces that need no padding (the padding's blur takes ~10 s an image)


def _fake(root, present=None, md5s=MD5S):
    celeba, deltas, jpeg_sha = write_fake(str(root), md5s, present)
    for name, sha in jpeg_sha.items():  # same inputs as the original's run, or the test is void
        assert sha == ORIGINAL["jpeg_sha256"][name], f"{name}: Pillow's JPEG encoder changed"
    return celeba, deltas


def _record_hashes(tfrecord_dir):
    name = os.path.basename(tfrecord_dir)
    return {
        level: [
            hashlib.sha256(r).hexdigest()
            for r in tf.data.TFRecordDataset(
                os.path.join(tfrecord_dir, f"{name}-r{level}.tfrecords")
            ).as_numpy_iterator()
        ]
        for level in ORIGINAL["records_sha256"]
    }


def _files(tfrecord_dir):
    return {f: open(os.path.join(tfrecord_dir, f), "rb").read() for f in os.listdir(tfrecord_dir)}


def _manifest(tfrecord_dir):
    name = os.path.basename(tfrecord_dir)
    return open(os.path.join(tfrecord_dir, f"{name}-md5.txt")).read().splitlines()


@pytest.mark.slow
def test_records_equal_the_original_tools(tmp_path):
    """All eight faces (shrink, crop, upscale and padding each run): every record of every level
    is the original's, byte for byte, in its order."""
    celeba, deltas = _fake(tmp_path / "in")
    out = str(tmp_path / "celebahq")
    info, summary = dataset_tool.create_celebahq(out, celeba, deltas, partial=True, progress=False)
    assert info.num_images == 8 and info.max_resolution == 1024
    assert summary == "md5 check: 8 images; proc_md5 matched 8, final_md5 matched 8"
    assert _record_hashes(out) == ORIGINAL["records_sha256"]
    for level, sha in ORIGINAL["files_sha256"].items():
        data = open(os.path.join(out, f"celebahq-r{level}.tfrecords"), "rb").read()
        assert hashlib.sha256(data).hexdigest() == sha, level


def test_partial_build_matches_the_original_md5s_and_is_reproducible(tmp_path):
    """Three faces present of image_list.txt's eight: --partial builds those three, every md5 as
    the original's; two runs (1 and 2 threads) write the same bytes."""
    celeba, deltas = _fake(tmp_path / "in", present=CHEAP)
    a, b = str(tmp_path / "a" / "celebahq"), str(tmp_path / "b" / "celebahq")
    info, summary = dataset_tool.create_celebahq(
        a, celeba, deltas, partial=True, num_threads=1, progress=False
    )
    dataset_tool.create_celebahq(b, celeba, deltas, partial=True, num_threads=2, progress=False)
    assert info.num_images == 3
    assert summary == "md5 check: 3 images; proc_md5 matched 3, final_md5 matched 3"
    lines = _manifest(a)
    assert lines[0] == "# " + summary
    assert lines[1].split("\t") == ["idx", "orig_file", "record", "proc_md5", "final_md5"]
    records = {0: 0, 2: 1, 3: 2}  # RandomState(123) shuffles arange(3) to [0, 1, 2]
    assert [line.split("\t") for line in lines[2:]] == [
        [str(i), jpeg_name(i), str(records[i]), "ok", "ok"] for i in CHEAP
    ]
    assert _files(a) == _files(b)


def test_counts_are_checked_unless_partial(tmp_path, capsys):
    celeba, deltas = _fake(tmp_path / "in", present=(0,))
    out = tmp_path / "celebahq"
    code = create_tfrecords.main(["create_celebahq", str(out), celeba, deltas, "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert err == (
        f"error: {celeba}/img_celeba: holds 1 JPEGs, expected 202599; pass --partial to build "
        "from the rows of image_list.txt whose files are present\n"
    )
    assert not out.exists() and os.listdir(tmp_path) == ["in"]


def test_a_wrong_delta_is_one_line_naming_the_image_and_nothing_is_written(tmp_path, capsys):
    celeba, deltas = _fake(tmp_path / "in", present=(0,))
    jpeg = os.path.join(celeba, "img_celeba", jpeg_name(0))
    PIL.Image.open(jpeg).save(jpeg, quality=80)  # not the JPEG whose bytes are the delta's key
    out = tmp_path / "celebahq"
    code = create_tfrecords.main(
        ["create_celebahq", str(out), celeba, deltas, "--partial", "--quiet"]
    )
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert err == (
        f"error: {deltas}/deltas00000.zip: delta00000.dat (image 0): does not decrypt with the key "
        f"of {jpeg} (a different or altered JPEG, or not this image's delta)\n"
    )
    assert not out.exists() and os.listdir(tmp_path) == ["in"]


def test_strict_stops_at_the_first_md5_mismatch(tmp_path):
    wrong = {**MD5S, 0: ("0" * 32, MD5S[0][1])}
    celeba, deltas = _fake(tmp_path / "in", present=(0,), md5s=wrong)
    out = str(tmp_path / "celebahq")
    with pytest.raises(DatasetError) as e:
        dataset_tool.create_celebahq(out, celeba, deltas, partial=True, strict=True, progress=False)
    assert str(e.value) == (
        f"{celeba}/img_celeba/{jpeg_name(0)}: image 0: md5 {MD5S[0][0]} is not image_list.txt's "
        f"proc_md5 {'0' * 32} (--strict)"
    )
    assert os.listdir(tmp_path) == ["in"]
    # Without --strict: built, and the manifest says which md5 differs.
    _, summary = dataset_tool.create_celebahq(out, celeba, deltas, partial=True, progress=False)
    assert summary.startswith("md5 check: 1 images; proc_md5 matched 0, final_md5 matched 1 (")
    assert _manifest(out)[2].split("\t") == ["0", jpeg_name(0), "0", "differs", "ok"]
