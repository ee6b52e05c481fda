"""The inspection subcommands of `data_prep/create_tfrecords.py`, as functions: describe
(`info`), extract, compare and verify existing datasets. They read datasets only; the one that
writes (`extract`) assembles its output directory under a temporary name and moves it into place
when complete.
"""

import os
import shutil

import numpy as np

from pgan_tf.core import atomic
from pgan_tf.core.progress import CountProgress
from pgan_tf.core.resolution import res_log2
from pgan_tf.data.tfrecord_format import DatasetError, check_target, make_temp_dir


def info(tfrecord_dir):
    """Lines describing a dataset: levels, image count, channels, labels and their counts."""
    from pgan_tf.data.dataset import inspect, read_labels

    d = inspect(tfrecord_dir)
    lines = [
        f"dataset     {d.path}",
        f"name        {d.name}",
        f"images      {d.num_images}",
        f"resolution  {d.max_resolution}x{d.max_resolution} (levels "
        f"{', '.join(str(r) for r in d.resolutions)})",
        f"channels    {d.num_channels} ({'RGB' if d.num_channels == 3 else 'grayscale'})",
    ]
    if d.label_size:
        counts = read_labels(tfrecord_dir).sum(0).astype(np.int64)
        lines.append(
            f"labels      {d.label_size} classes; images per class: "
            f"{' '.join(str(c) for c in counts)}"
        )
    else:
        lines.append("labels      none")
    return lines


def extract(tfrecord_dir, output_dir, *, overwrite=False, progress=True):
    """The full-resolution images as `img%08d.png`, in record order (as the original)."""
    import PIL.Image

    from pgan_tf.data.dataset import inspect, iterate_uint8

    d = inspect(tfrecord_dir)
    check_target(output_dir, overwrite)
    tmp = make_temp_dir(output_dir)
    bar = CountProgress(d.num_images) if progress else None
    try:
        idx = 0
        for batch in iterate_uint8(tfrecord_dir, d.max_resolution, 64):
            for img in batch:
                PIL.Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img).save(
                    os.path.join(tmp, f"img{idx:08d}.png")
                )
                idx += 1
            if bar:
                bar(idx)
        atomic.install_dir(tmp, output_dir, replace=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if bar:
        bar.done()
    return idx


def _decoded(path, batch=1024):
    """(shapes [b, 3], data [b] bytes) batches of a level file, parsed, in record order."""
    import tensorflow as tf

    features = {
        "shape": tf.io.FixedLenFeature([3], tf.int64),
        "data": tf.io.FixedLenFeature([], tf.string),
    }
    ds = tf.data.TFRecordDataset(path).batch(batch).map(lambda r: tf.io.parse_example(r, features))
    for ex in ds.as_numpy_iterator():
        yield ex["shape"], ex["data"]


def compare(dir_a, dir_b, ignore_labels=False):
    """(identical: bool, report lines). Compares the images of every level (decoded, so the
    records' byte layout does not matter), and the labels."""
    from pgan_tf.data.dataset import inspect, read_labels
    from pgan_tf.data.tfrecord_format import tfrecord_filename

    a, b = inspect(dir_a), inspect(dir_b)
    lines, same = [], True
    if a.num_images != b.num_images:
        lines.append(
            f"Datasets contain different numbers of images: {a.num_images} vs {b.num_images}"
        )
        same = False
    if a.resolutions != b.resolutions:
        lines.append(
            f"Datasets have different levels: {list(a.resolutions)} vs {list(b.resolutions)}"
        )
        same = False
    for res in sorted(set(a.resolutions) & set(b.resolutions), reverse=True):
        level = res_log2(res)
        fa, fb = tfrecord_filename(dir_a, level, a.name), tfrecord_filename(dir_b, level, b.name)
        identical = total = 0
        first_diff = None
        for ba, bb in zip(_decoded(fa), _decoded(fb)):
            m = min(len(ba[0]), len(bb[0]))
            same_rows = np.all(ba[0][:m] == bb[0][:m], axis=1) & (ba[1][:m] == bb[1][:m])
            identical += int(same_rows.sum())
            if first_diff is None and not same_rows.all():
                first_diff = total + int(np.argmin(same_rows))
            total += m
        same &= identical == max(a.num_images, b.num_images)
        diff = "" if first_diff is None else f" (first difference: image {first_diff})"
        lines.append(f"{res}x{res}: identical images: {identical} / {total}{diff}")
    if not ignore_labels:
        la, lb = read_labels(dir_a), read_labels(dir_b)
        if la is None and lb is None:
            lines.append("labels: neither has labels")
        elif la is None or lb is None or la.shape != lb.shape:
            lines.append(
                f"labels: differ ({None if la is None else la.shape} vs "
                f"{None if lb is None else lb.shape})"
            )
            same = False
        else:
            n = int(np.all(la == lb, axis=1).sum())
            lines.append(f"labels: identical labels: {n} / {len(la)}")
            same &= n == len(la)
    return same, lines


def verify(tfrecord_dir, *, progress=True):
    """(problems, summary lines) of a record-by-record check of a dataset (see
    `pgan_tf.data.dataset_verify`): framing and CRCs, shapes, level-to-level averages, labels."""
    from pgan_tf.data import dataset_verify

    bar = None
    if progress:
        files = (
            [f for f in os.listdir(tfrecord_dir) if f.endswith(".tfrecords")]
            if os.path.isdir(tfrecord_dir)
            else []
        )
        top = max(files, default=None)
        from pgan_tf.data.dataset import count_records

        try:
            total = count_records(os.path.join(tfrecord_dir, top)) if top else 0
        except DatasetError:
            total = "?"
        bar = CountProgress(total, "images checked")
    problems, summary = dataset_verify.verify(tfrecord_dir, progress=bar)
    if bar:
        bar.done()
    return problems, summary
