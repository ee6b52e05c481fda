"""Helpers shared by the dataset tests: an independent NumPy reference of the format, raw
record reading, and small image folders written with PIL."""

import glob
import os

import numpy as np
import PIL.Image
import tensorflow as tf


def reference_levels(images):
    """{resolution: uint8 NHWC} of the original tool's pyramid, computed independently.

    The cascaded float32 2×2 averages equal the exact block means (level k holds multiples of
    4**-k of integers <= 255, which float32 represents exactly for k <= 8), so the reference is
    rint of the float64 block mean of the full-resolution pixels.
    """
    images = np.asarray(images)
    n, h, w, c = images.shape
    out = {}
    s = 1
    while h // s >= 4:
        blocks = images.astype(np.float64).reshape(n, h // s, s, w // s, s, c).mean(axis=(2, 4))
        out[h // s] = np.rint(blocks).clip(0, 255).astype(np.uint8)
        s *= 2
    return out


def raw_records(path):
    return [bytes(r) for r in tf.data.TFRecordDataset(path).as_numpy_iterator()]


def read_level(tfrecord_dir, resolution, name=None):
    """uint8 NHWC of every record of one level, parsed with tf.train.Example (not our reader)."""
    name = name or os.path.basename(os.path.normpath(tfrecord_dir))
    path = os.path.join(tfrecord_dir, f"{name}-r{resolution.bit_length() - 1:02d}.tfrecords")
    images = []
    for rec in raw_records(path):
        ex = tf.train.Example.FromString(rec)
        shape = list(ex.features.feature["shape"].int64_list.value)
        assert sorted(ex.features.feature.keys()) == ["data", "shape"]
        data = np.frombuffer(ex.features.feature["data"].bytes_list.value[0], np.uint8).reshape(
            shape
        )
        images.append(data.transpose(1, 2, 0))
    return np.stack(images)


def assert_dataset_equals(tfrecord_dir, images, labels=None):
    """Every level equals the reference pyramid of `images` (in record order), and labels."""
    ref = reference_levels(images)
    files = sorted(glob.glob(os.path.join(tfrecord_dir, "*.tfrecords")))
    assert len(files) == len(ref), files
    for res, want in ref.items():
        got = read_level(tfrecord_dir, res)
        np.testing.assert_array_equal(got, want, err_msg=f"level {res}")
    labels_files = glob.glob(os.path.join(tfrecord_dir, "*-rxx.labels"))
    if labels is None:
        assert not labels_files
    else:
        got = np.load(labels_files[0])
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, labels)


def random_images(n, res, channels=3, seed=0):
    rng = np.random.RandomState(seed)
    # Smooth-ish content plus noise, so JPEG round trips stay meaningful.
    return rng.randint(0, 256, size=(n, res, res, channels)).astype(np.uint8)


def write_folder(folder, images, fmt="png", names=None):
    """Saves uint8 NHWC images as files; returns the paths in the given order."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i, img in enumerate(images):
        name = names[i] if names else f"img{i:04d}.{fmt}"
        path = os.path.join(folder, name)
        PIL.Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img).save(path)
        paths.append(path)
    return paths


def snapshot(path):
    """{relative path: bytes} of everything under `path` (to show it was left untouched)."""
    out = {}
    for root, dirs, files in os.walk(path):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, path)] = fh.read()
        for d in dirs:
            out[os.path.relpath(os.path.join(root, d), path) + "/"] = None
    return out


def leftovers(parent):
    """Temporary directories the writer might have left in `parent`."""
    return [n for n in os.listdir(parent) if ".tmp-" in n]


def write_celebahq_manual_dir(manual_dir, images, folder):
    """What TFDS's `celeb_a_hq/R` reads: `manual_dir/dataRxR.tar` of R×R PNGs, packed as
    `tar -cf manual_dir/dataRxR.tar -C folder .` (a `./` entry, then `./NNNNN.png`).
    Returns {file name: image}."""
    import tarfile

    res = images.shape[1]
    names = [f"{i:05d}.png" for i in range(len(images))]
    write_folder(folder, images, names=names)
    os.makedirs(manual_dir, exist_ok=True)
    with tarfile.open(os.path.join(manual_dir, f"data{res}x{res}.tar"), "w") as tar:
        tar.add(folder, arcname=".")
    return dict(zip(names, images))


def tfds_order(data_dir, name, by_name):
    """The images of `by_name` in the order of the TFDS dataset prepared in data_dir, read by
    `image/filename` (TFDS orders examples by a hash of their key)."""
    import tensorflow_datasets as tfds

    builder = tfds.builder(name, data_dir=data_dir)
    exs = list(tfds.as_numpy(builder.as_dataset(split="train", shuffle_files=False)))
    return np.stack([by_name[os.path.basename(e["image/filename"].decode())] for e in exs])
