"""Tiny inputs for `create_from_hdf5`, `create_svhn`, `create_mnistrgb` and `create_lsun`, made
deterministically, and the digests of the datasets made from them.

tests/fixtures/dataset_tool/original_digests.json holds the digests of the datasets that the
original `dataset_tool.py` (tkarras/progressive_growing_of_gans, master) wrote from these very
inputs. It was made outside the repository: each `make_*` below wrote its input into a scratch
folder, the original's `create_*` function ran on it under `tensorflow.compat.v1` imported as
`tensorflow` (Python -O, so its asserts on the full datasets' sizes do not fire; `tostring`
renamed `tobytes`, `PIL.Image.ANTIALIAS` = `LANCZOS` for NumPy 2 / Pillow 13; no `cv2`, so its
LSUN path decodes with its PIL fallback), with the arguments in `ORIGINAL_CALLS`, and
`digests()` of each output was saved. The tests run ours on the same inputs and compare.
"""

import gzip
import hashlib
import io
import os
import pickle
import struct

import numpy as np
import PIL.Image

# Arguments after (tfrecord_dir, input) for each subcommand, as passed to the original.
ORIGINAL_CALLS = {
    "hdf5": dict(shuffle=1),
    "svhn": {},
    "mnistrgb": dict(num_images=30, random_seed=5),
    "lsun": dict(resolution=16),
    "lsun_max3": dict(resolution=8, max_images=3),  # the first 3 decodable: keys 0000 0001 0003
}
LSUN_BAD_KEY = b"0002"  # the third record


def _idx(dims, data):
    return bytes([0, 0, 8, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims) + data


def make_hdf5(folder, n=6, res=16, channels=3, classes=3, seed=0):
    """`folder/tiny.h5` in the Theano-era layout (`data1x1` .. `dataRxR`, uint8 [n, C, r, r],
    gzip-compressed and chunked as h5tool.py wrote them) and `folder/tiny-labels.npy` (one-hot
    float32). Returns (path, full-resolution NCHW images, labels)."""
    import h5py

    rng = np.random.RandomState(seed)
    images = rng.randint(0, 256, (n, channels, res, res)).astype(np.uint8)
    labels = np.eye(classes, dtype=np.float32)[rng.randint(0, classes, n)]
    path = os.path.join(folder, "tiny.h5")
    with h5py.File(path, "w") as f:
        level = images.astype(np.float32)
        r = res
        while r >= 1:
            f.create_dataset(
                f"data{r}x{r}",
                data=np.uint8(np.clip(np.round(level), 0, 255)),
                maxshape=(None, channels, r, r),
                chunks=(-(-128 // (channels * r * r)), channels, r, r),
                compression="gzip",
                compression_opts=4,
            )
            level = (
                level[:, :, 0::2, 0::2]
                + level[:, :, 0::2, 1::2]
                + level[:, :, 1::2, 0::2]
                + level[:, :, 1::2, 1::2]
            ) * 0.25
            r //= 2
    np.save(os.path.join(folder, "tiny-labels.npy"), labels)
    return path, images, labels


def make_svhn(folder, sizes=(4, 3, 5), seed=0):
    """`train_1.pkl` .. `train_3.pkl` as the original reads them: pickled (protocol 2) tuples
    (uint8 [n, 3, 32, 32], uint8 [n]); the labels cover 0..9. Returns (NCHW images, labels)."""
    rng = np.random.RandomState(seed)
    n = sum(sizes)
    images = rng.randint(0, 256, (n, 3, 32, 32)).astype(np.uint8)
    labels = rng.permutation(np.arange(n) % 10).astype(np.uint8)
    start = 0
    for i, size in enumerate(sizes):
        part = (images[start : start + size], labels[start : start + size])
        with open(os.path.join(folder, f"train_{i + 1}.pkl"), "wb") as f:
            pickle.dump(part, f, protocol=2)
        start += size
    return images, labels


def make_mnist_images(folder, n=20, seed=0):
    """`train-images-idx3-ubyte.gz` of n random 28×28 digits; returns them."""
    digits = np.random.RandomState(seed).randint(0, 256, (n, 28, 28)).astype(np.uint8)
    with gzip.open(os.path.join(folder, "train-images-idx3-ubyte.gz"), "wb") as f:
        f.write(_idx(digits.shape, digits.tobytes()))
    return digits


def lsun_records(seed=0):
    """[(key, encoded image)] in key order: JPEG and WebP of several shapes, and one record
    (key LSUN_BAD_KEY, the None in the list) that is not an image."""
    rng = np.random.RandomState(seed)
    records = []
    shapes = [(48, 32, "JPEG"), (32, 40, "WEBP"), None, (40, 40, "JPEG"), (64, 36, "WEBP")]
    for i, shape in enumerate(shapes):
        key = f"{i:04d}".encode()
        if shape is None:
            records.append((key, b"\xff\xd8\xff not really a jpeg"))
            continue
        w, h, fmt = shape
        t = np.linspace(0, 1, max(w, h))
        a, b, c = rng.uniform(0, 255, 2), rng.uniform(0, 255), rng.uniform(0, 255, 3)
        img = (a[0] * t[None, :w, None] + a[1] * t[:h, None, None] + b * c / 255 + c) % 256
        buf = io.BytesIO()
        PIL.Image.fromarray(img.astype(np.uint8)).save(buf, fmt, quality=90)
        records.append((key, buf.getvalue()))
    return records


def make_lsun(path, records):
    import lmdb

    env = lmdb.open(path, map_size=1 << 24)
    with env.begin(write=True) as txn:
        for key, value in records:
            txn.put(key, value)
    env.close()


def _records(path):
    """The raw records of an uncompressed TFRecord file (length, CRC, data, CRC framing)."""
    with open(path, "rb") as f:
        raw = f.read()
    out, pos = [], 0
    while pos < len(raw):
        (length,) = struct.unpack("<Q", raw[pos : pos + 8])
        out.append(raw[pos + 12 : pos + 12 + length])
        pos += 16 + length
    return out


def digests(tfrecord_dir):
    """{file suffix: sha256} of a dataset: per level, of every record's shape (int64 LE) and
    image bytes in record order (the records' content, whatever order protobuf wrote the two
    features in); for the labels file, of its bytes."""
    import tensorflow as tf

    out = {}
    for name in sorted(os.listdir(tfrecord_dir)):
        path = os.path.join(tfrecord_dir, name)
        suffix = name.rsplit("-", 1)[-1]
        h = hashlib.sha256()
        if name.endswith(".tfrecords"):
            for record in _records(path):
                feature = tf.train.Example.FromString(record).features.feature
                h.update(np.asarray(feature["shape"].int64_list.value, "<i8").tobytes())
                h.update(feature["data"].bytes_list.value[0])
        else:
            with open(path, "rb") as f:
                h.update(f.read())
        out[suffix] = h.hexdigest()
    return out
