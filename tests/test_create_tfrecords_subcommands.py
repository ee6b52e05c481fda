"""The command lines of `create_mnistrgb`, `create_svhn`, `create_from_hdf5` (the original tool's
arguments) and `create_lsun`'s report of skipped records, through `main()`."""

import io

import numpy as np
import PIL.Image
import pytest
from dataset_helpers import assert_dataset_equals, read_level
from original_tool_inputs import make_hdf5, make_lsun, make_mnist_images, make_svhn

from pgan_tf import create_tfrecords
from pgan_tf.data.tfrecord_format import shuffled_order


def test_create_mnistrgb_count_and_seed_arguments(tmp_path, capsys):
    digits = make_mnist_images(str(tmp_path))
    argv = ["create_mnistrgb", str(tmp_path / "ds"), str(tmp_path), "--num_images", "9"]
    assert create_tfrecords.main(argv + ["--random_seed", "4", "--quiet"]) == 0
    assert capsys.readouterr().out.startswith(f"Added 9 images to {tmp_path / 'ds'}: 32x32, 3 ")
    picks = np.random.RandomState(4).randint(len(digits), size=(9, 3))
    padded = np.pad(digits, [(0, 0), (2, 2), (2, 2)])
    assert_dataset_equals(str(tmp_path / "ds"), padded[picks].transpose(0, 2, 3, 1))
    with pytest.raises(SystemExit) as e:
        create_tfrecords.main(argv[:-1] + ["0"])
    assert e.value.code == 2 and "--num_images: must be >= 1, got 0" in capsys.readouterr().err


def test_create_svhn_and_its_error(tmp_path, capsys):
    images, labels = make_svhn(str(tmp_path))
    assert create_tfrecords.main(["create_svhn", str(tmp_path / "ds"), str(tmp_path)]) == 0
    assert ", 10-class labels." in capsys.readouterr().out
    order = shuffled_order(len(images))
    assert_dataset_equals(
        str(tmp_path / "ds"),
        images.transpose(0, 2, 3, 1)[order],
        np.eye(10, dtype=np.float32)[labels[order]],
    )
    (tmp_path / "train_3.pkl").unlink()
    assert create_tfrecords.main(["create_svhn", str(tmp_path / "ds2"), str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'train_3.pkl'}: not found") and err.count("\n") == 1


def test_create_from_hdf5_shuffle_argument(tmp_path, capsys):
    path, images, labels = make_hdf5(str(tmp_path), n=4, res=8)
    argv = ["create_from_hdf5", str(tmp_path / "ds"), path, "--shuffle", "0", "--quiet"]
    assert create_tfrecords.main(argv) == 0
    assert "levels 4..8, 3-class labels." in capsys.readouterr().out
    assert_dataset_equals(str(tmp_path / "ds"), images.transpose(0, 2, 3, 1), labels)


def test_create_lsun_names_each_skipped_record_and_counts_them(tmp_path, capsys):
    buf = io.BytesIO()
    PIL.Image.fromarray(np.full((8, 12, 3), 90, np.uint8)).save(buf, "PNG")
    db = str(tmp_path / "db")
    make_lsun(db, [(b"a", b"junk"), (b"b", buf.getvalue()), (b"c", b"\x89PNG broken")])
    argv = ["create_lsun", str(tmp_path / "ds"), db, "--resolution", "4", "--quiet"]
    assert create_tfrecords.main(argv) == 0
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert [line.split(": ")[:2] for line in lines] == [
        [f"skipped {db}", "key a"],
        [f"skipped {db}", "key c"],
    ]
    assert out.startswith(f"Added 1 images to {tmp_path / 'ds'}: 4x4")
    assert out.endswith(" Skipped 2 undecodable record(s), each named on stderr.\n")
    np.testing.assert_array_equal(read_level(str(tmp_path / "ds"), 4), np.full((1, 4, 4, 3), 90))
