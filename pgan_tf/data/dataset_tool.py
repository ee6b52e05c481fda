"""What `data_prep/create_tfrecords.py` does, as functions: create a dataset from a source,
describe, extract and compare datasets.

Every `create_*` function checks its input, writes every level into a temporary directory
next to `tfrecord_dir` and moves it into place only when all went well (an existing non-empty
target only with overwrite=True), then returns the new dataset's `DatasetInfo`. Bad input
raises `DatasetError` (`<file>: <reason>`) and leaves the target as it was.
"""

import os
import shutil
import sys

import numpy as np

from pgan_tf.core import atomic
from pgan_tf.core.progress import CountProgress
from pgan_tf.core.resolution import res_log2
from pgan_tf.data import decoding, hdf5_archive, lsun, mnist, sources, svhn, tfds_source
from pgan_tf.data.tfrecord_format import (
    DatasetError,
    DatasetWriter,
    check_target,
    make_temp_dir,
    shuffled_order,
)


def _say(progress, msg):
    if progress:
        print(msg, file=sys.stderr, flush=True)


def write(tfrecord_dir, source, *, shuffle=True, overwrite=False, progress=True, batch_size=64):
    """Writes `source` (see `pgan_tf.data.sources`) as a dataset; returns its DatasetInfo.

    shuffle: records in RandomState(123) order of the source's order, as the original tool.
    Sequential sources are spooled to a temporary uint8 file when shuffled.
    """
    from pgan_tf.data.dataset import inspect

    bar = CountProgress(source.num_images) if progress else None
    with DatasetWriter(tfrecord_dir, overwrite=overwrite, progress=bar) as writer:
        source.check()
        order = None  # a sequential source's order is known once it is read
        if source.random_access:
            n = source.num_images
            order = shuffled_order(n) if shuffle else np.arange(n)
            batches = source.read(order, batch_size)
        elif not shuffle:
            batches = source.iterate(batch_size)
        else:
            spooled = _spool(source, writer.tmp_dir, batch_size, progress)
            order = shuffled_order(len(spooled))
            batches = (
                spooled[order[i : i + batch_size]] for i in range(0, len(spooled), batch_size)
            )
        for batch in batches:
            writer.add_images(batch)
        if not source.random_access and shuffle:
            del spooled, batches
            os.remove(os.path.join(writer.tmp_dir, _SPOOL))
        # Sequential sources know their labels, and their count if they skip records, once read.
        labels, n = source.labels, source.num_images
        order = np.arange(n) if order is None else order
        if writer.num_images != n:
            raise DatasetError(
                f"{tfrecord_dir}: the source gave {writer.num_images} images, expected {n}"
            )
        if labels is not None:
            writer.add_labels(labels[order])
        writer.commit()
    if bar:
        bar.done()
    return inspect(tfrecord_dir)


_SPOOL = "spool.npy"


def _spool(source, tmp_dir, batch_size, progress):
    """Reads a sequential source once into a uint8 memmap [n, H, W, C] (for shuffled writing); n is
    the count it announced, an upper bound for a source that skips records."""
    _say(
        progress,
        f"reading {source.num_images} images in source order (spooled to disk for shuffling)",
    )
    spooled, i = None, 0
    bar = CountProgress(source.num_images, "read") if progress else None
    for batch in source.iterate(batch_size):
        if spooled is None:
            spooled = _open_spool(
                os.path.join(tmp_dir, _SPOOL), (source.num_images, *batch.shape[1:])
            )
        if i + len(batch) > source.num_images:
            raise DatasetError(
                f"{getattr(source, 'name', 'source')}: holds more images than it announced "
                f"({source.num_images})"
            )
        spooled[i : i + len(batch)] = batch
        i += len(batch)
        if bar:
            bar(i)
    if i != source.num_images:  # read after the source is exhausted: what it says it gave
        raise DatasetError(
            f"{getattr(source, 'name', 'source')}: gave {i} images, expected {source.num_images}"
        )
    return spooled[:i]


def _open_spool(path, shape):
    """A uint8 memmap with its whole size allocated up front: a full disk is an ENOSPC here, not a
    SIGBUS when a page of a sparse mapping is first written."""
    spooled = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=shape)
    try:
        with atomic.reported(path):
            fd = os.open(path, os.O_RDWR)
            try:
                if hasattr(os, "posix_fallocate"):
                    os.posix_fallocate(fd, 0, os.path.getsize(path))
            finally:
                os.close(fd)
    except atomic.WriteError as e:
        del spooled
        raise DatasetError(f"{path}: cannot spool the images for shuffling: {e.reason}") from None
    return spooled


# ---------------------------------------------------------------------------------------------
# Subcommands.


def create_from_images(
    tfrecord_dir,
    image_dir,
    shuffle=True,
    *,
    overwrite=False,
    transform="none",
    resolution=None,
    convert=None,
    progress=True,
):
    """Every file directly in `image_dir` (sorted by name), all square, power-of-two, same size,
    RGB or grayscale — or made so by `transform`/`resolution`/`convert`."""
    source = sources.ImageFolder(image_dir, decoding.Transform(transform, resolution, convert))
    _say(progress, f"loading {source.num_images} images from {image_dir}")
    return write(tfrecord_dir, source, shuffle=shuffle, overwrite=overwrite, progress=progress)


def create_cifar10(tfrecord_dir, cifar10_dir, *, overwrite=False, progress=True):
    return write(tfrecord_dir, sources.cifar10(cifar10_dir), overwrite=overwrite, progress=progress)


def create_cifar100(tfrecord_dir, cifar100_dir, *, overwrite=False, progress=True):
    return write(
        tfrecord_dir, sources.cifar100(cifar100_dir), overwrite=overwrite, progress=progress
    )


def create_mnist(tfrecord_dir, mnist_dir, *, overwrite=False, progress=True):
    return write(tfrecord_dir, mnist.mnist(mnist_dir), overwrite=overwrite, progress=progress)


def create_mnistrgb(
    tfrecord_dir, mnist_dir, num_images=1000000, random_seed=123, *, overwrite=False, progress=True
):
    """Each image three random MNIST digits, one per channel, in the order drawn (as the
    original: `RandomState(random_seed)`, not shuffled, no labels)."""
    source = mnist.MnistRGB(mnist_dir, num_images, random_seed)
    return write(
        tfrecord_dir, source, shuffle=False, overwrite=overwrite, progress=progress, batch_size=256
    )


def create_svhn(tfrecord_dir, svhn_dir, *, overwrite=False, progress=True):
    """SVHN's training digits with labels (see `pgan_tf.data.svhn` for the files read)."""
    return write(tfrecord_dir, svhn.svhn(svhn_dir), overwrite=overwrite, progress=progress)


def create_from_hdf5(tfrecord_dir, hdf5_filename, shuffle=True, *, overwrite=False, progress=True):
    """The largest level of a Theano-era HDF5 archive, with `<archive>-labels.npy` if present."""
    source = hdf5_archive.HDF5Archive(hdf5_filename)
    _say(progress, f"loading {source.num_images} images from {hdf5_filename}:{source.name}")
    try:
        return write(tfrecord_dir, source, shuffle=shuffle, overwrite=overwrite, progress=progress)
    finally:
        source.close()


def _warn(line):
    """One line on stderr, shown whatever the progress setting; clears a progress line first."""
    clear = "\r\033[K" if sys.stderr.isatty() else ""
    print(clear + line, file=sys.stderr, flush=True)


def create_lsun(
    tfrecord_dir, lmdb_dir, resolution=256, max_images=None, *, overwrite=False, progress=True
):
    """Key order, not shuffled (as the original); center-crop + Lanczos resize to `resolution`.

    Undecodable records are skipped, as the original, each named on stderr (`skipped <lmdb_dir>:
    key <key>: <reason>`). Returns (DatasetInfo, the skipped lines).
    """
    source = lsun.LSUN(lmdb_dir, resolution, max_images, on_skip=lambda m: _warn(f"skipped {m}"))
    info = write(tfrecord_dir, source, shuffle=False, overwrite=overwrite, progress=progress)
    return info, source.skipped


def create_celeba(tfrecord_dir, celeba_dir, cx=89, cy=121, *, overwrite=False, progress=True):
    source = sources.CelebA(celeba_dir, cx, cy)
    _say(progress, f"loading {source.num_images} CelebA images from {source.image_dir}")
    return write(tfrecord_dir, source, overwrite=overwrite, progress=progress)


def create_celebahq(
    tfrecord_dir,
    celeba_dir,
    delta_dir,
    *,
    num_threads=None,
    num_tasks=100,
    partial=False,
    strict=False,
    overwrite=False,
    progress=True,
):
    """CelebA-HQ 1024x1024 from CelebA's JPEGs, landmarks and the published deltas, as the
    original's `create_celebahq` (see `pgan_tf.data.celebahq_inputs`), in its record order.
    Also writes `<name>-md5.txt`: per image, whether its proc_md5 / final_md5 matched. Returns
    (DatasetInfo, the manifest's summary line)."""
    from pgan_tf.data import celebahq_inputs
    from pgan_tf.data.dataset import inspect

    celebahq_inputs.require_packages()
    inputs = celebahq_inputs.Inputs(celeba_dir, delta_dir, partial)
    check_target(tfrecord_dir, overwrite)
    rows = inputs.rows
    order = shuffled_order(len(rows))
    _say(progress, f"building {len(rows)} CelebA-HQ images from {celeba_dir} and {delta_dir}")
    bar = CountProgress(len(rows), eta=True) if progress else None
    checks = {}
    with DatasetWriter(tfrecord_dir, overwrite=overwrite, progress=bar) as writer:
        images = sources.ordered_map(
            lambda i: inputs.image(rows[i], strict), order, num_threads, num_tasks
        )
        for record, (i, image) in enumerate(zip(order, images)):
            writer.add_images(image.pixels.transpose(1, 2, 0))
            checks[i] = (record, image.proc_ok, image.final_ok)
        manifest, summary = celebahq_inputs.md5_manifest(rows, checks)
        _write_manifest(writer, manifest)
        writer.commit()
    if bar:
        bar.done()
    return inspect(tfrecord_dir), summary


def _write_manifest(writer, text):
    name = f"{writer.name}-md5.txt"
    try:
        with atomic.reported(name), open(os.path.join(writer.tmp_dir, name), "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    except atomic.WriteError as e:
        raise DatasetError(
            f"{os.path.join(writer.tfrecord_dir, name)}: cannot write: {e.reason}"
        ) from None


def create_from_tfds(
    tfrecord_dir,
    name,
    split="train",
    *,
    data_dir=None,
    manual_dir=None,
    download=False,
    shuffle=True,
    overwrite=False,
    transform="none",
    resolution=None,
    convert=None,
    progress=True,
):
    """A TFDS image dataset by name (e.g. `cifar10`, `celeb_a_hq/1024`), labels from its
    ClassLabel feature if it has one. Downloads only with download=True; prepares from
    `manual_dir` alone when the builder downloads nothing else (see `tfds_source.TFDS`)."""
    check_target(tfrecord_dir, overwrite)  # before TFDS spends any time
    source = tfds_source.TFDS(
        name,
        split,
        data_dir=data_dir,
        manual_dir=manual_dir,
        download=download,
        transform=decoding.Transform(transform, resolution, convert),
    )
    return write(tfrecord_dir, source, shuffle=shuffle, overwrite=overwrite, progress=progress)


def create_synthetic(
    tfrecord_dir, *, num_images, resolution, seed=0, shuffle=True, overwrite=False, progress=True
):
    """The built-in procedural dataset (`pgan_tf.data.synthetic`), with mode ids as labels."""
    source = sources.Synthetic(num_images, resolution, seed)
    return write(
        tfrecord_dir,
        source,
        shuffle=shuffle,
        overwrite=overwrite,
        progress=progress,
        batch_size=256,
    )


# ---------------------------------------------------------------------------------------------
# Looking at datasets.


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
