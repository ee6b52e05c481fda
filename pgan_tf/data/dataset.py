"""Reads a multi-resolution TFRecord dataset (written by `data_prep/create_tfrecords.py` or the
original PGGAN `dataset_tool.py`) as `tf.data` pipelines.

    info = inspect(path)                       # what the directory holds, checked
    ds = make_dataset(path, 32, 64, input_context=ctx)   # float NHWC in [-1, 1]
    for batch in iterate_uint8(path, 32, 256): ...                    # uint8 NHWC, file order

Records are parsed a batch at a time (`tf.io.parse_example` + `decode_raw` on the batch), so
the pipeline's cost per image is a memcpy and a cast.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import struct
import threading

import numpy as np
import tensorflow as tf

from pgan_tf.core.resolution import MIN_RES_LOG2, res_log2, resolutions_up_to
from pgan_tf.data.tfrecord_format import (  # noqa: F401  (DatasetError is part of this module's API)
    LABELS_SUFFIX,
    DatasetError,
    decode_example,
    parse_tfrecord_filename,
    tfrecord_filename,
)

# The original reader's shuffle buffer was given in MB (shuffle_mb=4096); the buffer in records
# is capped so that it holds at most this many bytes of raw images.
MAX_SHUFFLE_BYTES = 4096 << 20
_READ_BUFFER_BYTES = 16 << 20


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    path: str
    name: str
    resolutions: tuple  # every resolution in the directory, ascending: (4, 8, ..., max)
    max_resolution: int
    num_channels: int
    num_images: int
    label_size: int  # 0 without a labels file


def _read_exactly(f, n, path):
    data = f.read(n)
    if len(data) != n:
        raise DatasetError(f"{path}: truncated TFRecord file")
    return data


def _first_record(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", _read_exactly(f, 8, path))
        f.seek(4, os.SEEK_CUR)
        return _read_exactly(f, length, path)


def count_records(path):
    """Number of records in a TFRecord file, from the length headers (the data is not read).

    Records of one level all have the same size, so this is usually two reads; otherwise it
    walks the headers.
    """
    size = os.path.getsize(path)
    if size == 0:
        return 0
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", _read_exactly(f, 8, path))
        step = length + 16  # length, its CRC, data, data CRC
        if size % step == 0:
            f.seek(size - step)
            if struct.unpack("<Q", _read_exactly(f, 8, path))[0] == length:
                return size // step
        count, pos = 0, 0
        while pos < size:
            f.seek(pos)
            (length,) = struct.unpack("<Q", _read_exactly(f, 8, path))
            pos += length + 16
            count += 1
        if pos != size:
            raise DatasetError(f"{path}: truncated TFRecord file")
        return count


def _level_files(path):
    """{level: file} of the directory's single dataset (level = log2(resolution)), and its name."""
    found = {}
    for f in sorted(glob.glob(os.path.join(glob.escape(path), "*.tfrecords"))):
        parsed = parse_tfrecord_filename(f)
        if parsed is not None:
            found.setdefault(parsed[0], {})[parsed[1]] = f
    if not found:
        raise DatasetError(f"{path}: no <name>-rKK.tfrecords files (not a dataset directory?)")
    if len(found) > 1:
        own = os.path.basename(os.path.normpath(path))
        if own not in found:
            raise DatasetError(
                f"{path}: holds several datasets ({', '.join(sorted(found))}); expected one"
            )
        return own, found[own]
    return next(iter(found.items()))


def inspect(path):
    """What a dataset directory holds, after checking that every level from 4×4 up to the
    largest is present, with images of the expected shape and the same count at every level."""
    if not os.path.isdir(path):
        raise DatasetError(f"{path}: no such dataset directory")
    name, files = _level_files(path)
    top = max(files)
    channels, count = None, None
    for level in range(MIN_RES_LOG2, top + 1):
        f = files.get(level)
        if f is None:
            raise DatasetError(
                f"{tfrecord_filename(path, level, name)}: missing: a dataset needs every level "
                f"from 4x4 up to {2**top}x{2**top}"
            )
        try:
            shape = decode_example(_first_record(f)).shape
        except DatasetError:
            raise
        except Exception as e:  # noqa: BLE001 - any parse failure means the file is not ours
            raise DatasetError(f"{f}: not a dataset record ({type(e).__name__})") from None
        res = 2**level
        if (
            len(shape) != 3
            or shape[1:] != (res, res)
            or shape[0] not in (1, 3)
            or (channels and shape[0] != channels)
        ):
            raise DatasetError(
                f"{f}: records have shape {list(shape)}, expected [{channels or 'C'}, {res}, {res}]"
            )
        channels = shape[0]
        n = count_records(f)
        if count is not None and n != count:
            raise DatasetError(
                f"{f}: holds {n} images but the other levels hold {count} (incomplete dataset?)"
            )
        count = n
    label_size = 0
    labels_path = _labels_path(path, name)
    if labels_path:
        labels = _load_labels(labels_path, count)
        label_size = labels.shape[1]
    return DatasetInfo(
        path=path,
        name=name,
        resolutions=resolutions_up_to(2**top),
        max_resolution=2**top,
        num_channels=channels,
        num_images=count,
        label_size=label_size,
    )


def labels_file(info: DatasetInfo) -> str | None:
    """The labels file of dataset `info`, or None."""
    return _labels_path(info.path, info.name) if info.label_size else None


def _labels_path(path, name):
    own = os.path.join(path, name + LABELS_SUFFIX)
    if os.path.isfile(own):
        return own
    others = sorted(glob.glob(os.path.join(glob.escape(path), "*.labels")))
    return others[0] if others else None  # as the original reader: the first *.labels


def _load_labels(labels_path, num_images):
    try:
        labels = np.load(labels_path)
    except Exception as e:  # noqa: BLE001
        raise DatasetError(
            f"{labels_path}: not a NumPy labels file ({type(e).__name__}: {e})"
        ) from None
    if labels.ndim != 2 or labels.shape[0] != num_images:
        raise DatasetError(
            f"{labels_path}: labels have shape {labels.shape}, expected [{num_images}, classes]"
        )
    return labels.astype(np.float32, copy=False)


def _level(path, resolution, info=None):
    info = info or inspect(path)
    if resolution not in info.resolutions:
        raise DatasetError(
            f"{path}: has no {resolution}x{resolution} level (it has {list(info.resolutions)})"
        )
    return info, tfrecord_filename(path, res_log2(resolution), info.name)


def _parse_batch(records, shape):
    """A batch of serialized records → uint8 NCHW, as stored."""
    data = tf.io.parse_example(records, {"data": tf.io.FixedLenFeature([], tf.string)})["data"]
    return tf.reshape(
        tf.io.decode_raw(data, tf.uint8), [records.shape[0] or -1, *shape]
    )  # static batch if known


def _to_nhwc(chw):
    return tf.transpose(chw, [0, 2, 3, 1])


def make_dataset(
    path: str,
    resolution: int,
    batch_size: int,
    *,
    labels: bool = False,
    shuffle: bool = True,
    shuffle_buffer: int = 4096,
    seed: int = None,
    repeat: bool = True,
    drop_remainder: bool = True,
    input_context=None,
    prefetch: bool = True,
    start_batch: int = 0,
    legacy_order: bool = False,
) -> tf.data.Dataset:
    """Batches of float32 NHWC images in [-1, 1] (x / 127.5 − 1) at `resolution`, or
    (images, float32 one-hot labels) with labels=True.

    batch_size is the global batch; with a `tf.distribute.InputContext` this pipeline reads
    its shard of the records and batches `ctx.get_per_replica_batch_size(batch_size)`.
    shuffle_buffer is in records, capped at MAX_SHUFFLE_BYTES of images. The records on disk are
    already in shuffled order (the writer's RandomState(123) order). No augmentation here: the
    training step mirrors the reals itself (`--mirror`), from the checkpointed random generator.

    The repeated stream is a pure function of (`seed`, the data): epoch e is shuffled with a seed
    of its own, so the stream after `start_batch` batches is rebuilt exactly by skipping at most
    one epoch of records (what a checkpoint stores instead of the iterator's state, which names
    the files by path). `legacy_order` builds the pipeline of checkpoints written before that,
    whose saved iterator state only restores into it.
    """
    info, filename = _level(path, resolution)
    if labels and not info.label_size:
        raise DatasetError(f"{path}: labels were asked for but the dataset has no -rxx.labels file")
    shape = (info.num_channels, resolution, resolution)
    ds = tf.data.TFRecordDataset(filename, buffer_size=_READ_BUFFER_BYTES)
    if labels:
        onehot = _load_labels(_labels_path(path, info.name), info.num_images)
        ds = tf.data.Dataset.zip((ds, tf.data.Dataset.from_tensor_slices(onehot)))
    records = info.num_images
    if input_context is not None:
        pipelines, index = input_context.num_input_pipelines, input_context.input_pipeline_id
        ds = ds.shard(pipelines, index)
        records = (records - index + pipelines - 1) // pipelines
        batch_size = input_context.get_per_replica_batch_size(batch_size)
        if seed is not None:
            seed = seed + index
    buffer = max(1, min(shuffle_buffer, MAX_SHUFFLE_BYTES // int(np.prod(shape))))
    if legacy_order:
        ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True) if shuffle else ds
        ds = ds.repeat() if repeat else ds
    elif repeat:
        ds = _epochs(ds, records, start_batch * batch_size, buffer if shuffle else 0, seed)
    elif shuffle:
        ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=False)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)

    def to_float(records):
        return tf.cast(_to_nhwc(_parse_batch(records, shape)), tf.float32) * (1 / 127.5) - 1

    def with_labels(records, onehot):
        return to_float(records), onehot

    ds = ds.map(with_labels if labels else to_float, num_parallel_calls=tf.data.AUTOTUNE)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds


def _epochs(records, count, start, buffer, seed):
    """The endless stream of `records` (`count` of them), epoch after epoch, from record `start`
    of that stream on; each epoch shuffled (buffer > 0) with the seed `seed * 1_000_003 + e`."""
    if count <= 0:
        raise DatasetError("no records to read (an empty dataset or shard)")
    first_epoch, offset = divmod(start, count)
    base = (seed or 0) * 1_000_003

    def epoch(e):
        if not buffer:
            return records
        return records.shuffle(buffer, seed=base + e, reshuffle_each_iteration=False)

    return tf.data.Dataset.range(first_epoch, np.iinfo(np.int64).max).flat_map(epoch).skip(offset)


def release_in_background(holder: list) -> threading.Thread:
    """Empties `holder` (a list holding the last references to spent input iterators) on a daemon
    thread, and returns that thread.

    Deleting a training iterator on the thread that ran it stalled the stage switch for 0-57 s
    (measured on the quickstart, 2 CPU cores, TensorFlow 2.21); released on a thread of its own
    it takes milliseconds and the switch does not wait for it. The caller must drop its own
    references first, or the last one to go decides the thread.
    """
    thread = threading.Thread(target=holder.clear, name="release-input-iterator", daemon=True)
    thread.start()
    return thread


def iterate_uint8(path, resolution, batch_size, max_images=None):
    """uint8 NHWC NumPy batches at `resolution`, in file order, no augmentation."""
    info, filename = _level(path, resolution)
    shape = (info.num_channels, resolution, resolution)
    ds = tf.data.TFRecordDataset(filename, buffer_size=_READ_BUFFER_BYTES)
    if max_images is not None:
        ds = ds.take(max_images)
    ds = ds.batch(batch_size).map(
        lambda r: _to_nhwc(_parse_batch(r, shape)), num_parallel_calls=tf.data.AUTOTUNE
    )
    return ds.prefetch(tf.data.AUTOTUNE).as_numpy_iterator()


def read_labels(path):
    """The dataset's float32 one-hot labels `[n, classes]` in record order, or None."""
    info = inspect(path)
    labels_path = _labels_path(path, info.name)
    return _load_labels(labels_path, info.num_images) if labels_path else None
