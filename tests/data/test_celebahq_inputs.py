"""The CelebA-HQ delta set as the original reads it: image_list.txt, the zips' names, the key made
from the JPEG's bytes, Fernet + bz2, the md5 manifest, and the missing-package message."""

import base64
import bz2
import hashlib

import cryptography.fernet
import numpy as np
import pytest
from celebahq_fake import encrypted_delta

from pgan_tf.data import celebahq_inputs as ci
from pgan_tf.data.tfrecord_format import DatasetError

HEADER = "idx orig_idx orig_file proc_md5 final_md5"


def test_image_list_columns_by_header_and_zip_names():
    text = "orig_file idx orig_idx final_md5 proc_md5\n000002.jpg 1234 1 f p\n"
    (row,) = ci.parse_image_list(text)
    assert row == ci.Row(1234, 1, "000002.jpg", "p", "f")
    assert (row.zip_name, row.member_name) == ("deltas01000.zip", "delta01234.dat")
    assert ci.Row(29999, 0, "", "", "").zip_name == "deltas29000.zip"
    with pytest.raises(DatasetError, match=r"^l.txt: the header must name the columns idx "):
        ci.parse_image_list("idx orig_file\n0 a.jpg\n", "l.txt")
    with pytest.raises(DatasetError, match=r"^l.txt: line 2: not a row of"):
        ci.parse_image_list(HEADER + "\nx 0 a.jpg p f\n", "l.txt")


def test_key_is_pbkdf2_sha256_of_the_jpeg_salted_with_its_name():
    jpeg = bytes(range(256)) * 10
    raw = hashlib.pbkdf2_hmac("sha256", jpeg, b"000001.jpg", 100_000, 32)
    assert ci.fernet_key(jpeg, "000001.jpg") == base64.urlsafe_b64encode(raw)


def test_decrypt_fernet_bz2_and_errors():
    jpeg = b"\xff\xd8 not really a jpeg"
    delta = np.random.RandomState(0).randint(0, 256, ci.DELTA_SHAPE).astype(np.uint8)
    token = cryptography.fernet.Fernet(ci.fernet_key(jpeg, "000009.jpg")).encrypt(
        bz2.compress(delta.tobytes())
    )
    np.testing.assert_array_equal(ci.decrypt_delta(token, jpeg, "000009.jpg", "z: d"), delta)
    fake = encrypted_delta(delta, jpeg, "000009.jpg")  # the test generator's reproducible tokens
    np.testing.assert_array_equal(ci.decrypt_delta(fake, jpeg, "000009.jpg", "z: d"), delta)
    with pytest.raises(DatasetError, match=r"^z: d: does not decrypt with the key of 000008.jpg "):
        ci.decrypt_delta(token, jpeg, "000008.jpg", "z: d")  # the salt is the file name
    with pytest.raises(DatasetError, match=r"^z: d: does not decrypt with the key of /c/x.jpg "):
        ci.decrypt_delta(token, jpeg + b"!", "000009.jpg", "z: d", "/c/x.jpg")
    short = cryptography.fernet.Fernet(ci.fernet_key(jpeg, "a.jpg")).encrypt(bz2.compress(b"ab"))
    with pytest.raises(DatasetError, match=r"^z: d: decrypted, but not a bz2 \[3, 1024, 1024\]"):
        ci.decrypt_delta(short, jpeg, "a.jpg", "z: d")


def test_md5_manifest():
    rows = [ci.Row(5, 5, "000006.jpg", "", ""), ci.Row(9, 9, "000010.jpg", "", "")]
    text, summary = ci.md5_manifest(rows, {0: (1, True, True), 1: (0, False, True)})
    assert summary.startswith("md5 check: 2 images; proc_md5 matched 1, final_md5 matched 2 (")
    assert text.splitlines() == [
        "# " + summary,
        "idx\torig_file\trecord\tproc_md5\tfinal_md5",
        "5\t000006.jpg\t1\tok\tok",
        "9\t000010.jpg\t0\tdiffers\tok",
    ]
    _, all_ok = ci.md5_manifest(rows[:1], {0: (0, True, True)})
    assert all_ok == "md5 check: 1 images; proc_md5 matched 1, final_md5 matched 1"


def test_missing_packages_name_the_extra(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "scipy" else real(name, *a)
    )
    with pytest.raises(DatasetError) as e:
        ci.require_packages()
    assert str(e.value) == "create_celebahq: needs scipy (pip install 'pgan_tf[celebahq]')"
