"""What `data_prep/create_tfrecords.py` creates, as functions: a dataset from a source (describing,
extracting, comparing and verifying datasets is `pgan_tf.data.dataset_inspect`).

Every `create_*` function checks its input, writes every level into a temporary directory
next to `tfrecord_dir` and moves it into place only when all went well (an existing non-empty
target only with overwrite=True), then returns the new dataset's `DatasetInfo`. Bad input
raises `DatasetError` (`<file>: <reason>`) and leaves the target as it was.
"""

import os
import sys

import numpy as np

from pgan_tf.core import atomic
from pgan_tf.core.progress import CountProgress
from pgan_tf.data import decoding, hdf5_archive, lsun, mnist, sources, svhn, tfds_source
from pgan_tf.data.tfrecord_format import (
    DatasetError,
    DatasetWriter,
    check_target,
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
