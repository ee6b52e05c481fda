"""Checks every record of every level of a dataset directory and reports each problem.

What is checked, per level file: the TFRecord framing (each record's length header and its
CRC32C, the data CRC32C, a file that ends mid-record), then each record as the format wants it
(a `tf.train.Example` with exactly `shape` = [C, res, res] and `data` of C·res·res bytes); across
levels: the same record count everywhere, the same channels, and that record i of level k−1 is
the 2×2 box average of record i of level k within rounding (|difference| <= 1: each level is
rounded from an exact float average, so two roundings apart at most); and the labels file
(loadable, [n, classes], one-hot). A damaged record is stepped over (by its length header when
that is intact, else by the level's record size, which is the same for every record), so one
bad record does not hide the rest.

The data CRC is checked by TensorFlow's C++ record reader; the 8-byte length headers here.
"""

import os
import struct

import numpy as np

from pgan_tf.core import tf_compat
from pgan_tf.core.errors import first_line
from pgan_tf.core.resolution import MIN_RES_LOG2
from pgan_tf.data.tfrecord_format import (
    DatasetError,
    dataset_name,
    labels_filename,
    parse_tfrecord_filename,
    tfrecord_filename,
)

_HEADER = 12  # uint64 length + masked CRC32C of it
_FOOTER = 4  # masked CRC32C of the data
MAX_REPORTED_PER_LEVEL = 100


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def masked_crc32c(data):
    """TFRecord's masked CRC32C (Castagnoli) of `data` (pure Python: used for 8-byte headers)."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def scan_records(path):
    """Yields (index, byte offset, record bytes or None, problem or None) for each record slot of a
    TFRecord file; a damaged record yields its problem, then the scan goes on after it."""
    import tensorflow as tf

    size = os.path.getsize(path)
    reader = tf_compat.record_reader(path)
    step = None  # the level's record size on disk, from the first record with an intact header
    offset, index = 0, 0
    with open(path, "rb") as f:
        while offset < size:
            f.seek(offset)
            header = f.read(_HEADER)
            if len(header) < _HEADER:
                yield (
                    index,
                    offset,
                    None,
                    f"truncated: the file ends {len(header)} bytes into a record header",
                )
                return
            length, crc = struct.unpack("<QI", header)
            if masked_crc32c(header[:8]) != crc:
                if step is None:
                    yield (
                        index,
                        offset,
                        None,
                        (
                            "length header checksum mismatch; no intact header before it to "
                            "step by, rest of the file not checked"
                        ),
                    )
                    return
                yield index, offset, None, "length header checksum mismatch"
                offset, index = offset + step, index + 1
                continue
            end = offset + _HEADER + length + _FOOTER
            if end > size:
                yield (
                    index,
                    offset,
                    None,
                    f"truncated: the record needs {end - size} more bytes than the file has",
                )
                return
            step = step or end - offset
            try:
                record, _ = reader.read(offset)
            except tf.errors.DataLossError:
                yield index, offset, None, "data checksum mismatch"
            else:
                yield index, offset, record, None
            offset, index = end, index + 1


def _parse(record, resolution):
    """(uint8 CHW image, None) or (None, problem) for one record of a level."""
    import tensorflow as tf

    try:
        ex = tf.train.Example.FromString(record)
    except Exception as e:  # noqa: BLE001 - any parse failure is the problem reported
        return None, f"not a tf.train.Example ({type(e).__name__})"
    keys = sorted(ex.features.feature)
    if keys != ["data", "shape"]:
        return None, f"features {keys}, expected ['data', 'shape']"
    shape = list(ex.features.feature["shape"].int64_list.value)
    values = ex.features.feature["data"].bytes_list.value
    if len(shape) != 3 or shape[1:] != [resolution, resolution] or shape[0] not in (1, 3):
        return None, f"shape {shape}, expected [C, {resolution}, {resolution}] with C 1 or 3"
    if len(values) != 1 or len(values[0]) != int(np.prod(shape)):
        got = len(values[0]) if len(values) == 1 else f"{len(values)} values"
        return None, f"data holds {got} bytes, shape {shape} needs {int(np.prod(shape))}"
    return np.frombuffer(values[0], np.uint8).reshape(shape), None


def box_average(chw):
    """The 2×2 box average of a CHW image, in float32 (the format's downsampling step)."""
    x = chw.astype(np.float32)
    return (x[:, 0::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 0::2] + x[:, 1::2, 1::2]) * np.float32(
        0.25
    )


def _levels(tfrecord_dir):
    """(name, {level: path}) of the directory's dataset (the directory's own name if several)."""
    found = {}
    for f in sorted(os.listdir(tfrecord_dir)):
        parsed = parse_tfrecord_filename(f)
        if parsed is not None:
            found.setdefault(parsed[0], {})[parsed[1]] = os.path.join(tfrecord_dir, f)
    if not found:
        raise DatasetError(
            f"{tfrecord_dir}: no <name>-rKK.tfrecords files (not a dataset directory?)"
        )
    own = dataset_name(tfrecord_dir)
    name = own if own in found else min(found)
    return name, found[name]


def verify(tfrecord_dir, progress=None):
    """(problems, summary): every problem found, one line each (`<file>: ...`), and a summary.

    progress(count) is called as records of the top level are checked.
    """
    if not os.path.isdir(tfrecord_dir):
        raise DatasetError(f"{tfrecord_dir}: no such dataset directory")
    name, files = _levels(tfrecord_dir)
    problems = _missing_levels(tfrecord_dir, name, files)
    present = sorted((k for k in files if k >= MIN_RES_LOG2), reverse=True)  # largest first
    counts = _check_records(files, present, _Report(problems, files), progress)
    problems += _count_mismatches(files, present, counts)
    num_images = max(counts.values())
    labels_note = _check_labels(tfrecord_dir, name, num_images, problems)
    sizes = ", ".join(f"{2**k}x{2**k}" for k in sorted(present))
    summary = (
        f"checked {sum(counts.values())} records in {len(present)} level(s) ({sizes}), "
        f"{num_images} images; "
    )
    return problems, [summary + labels_note]


def _missing_levels(tfrecord_dir, name, files):
    """A line for each level below the top one that has no file."""
    return [
        f"{tfrecord_filename(tfrecord_dir, level, name)}: missing level ({2**level}x{2**level})"
        for level in range(MIN_RES_LOG2, max(files))
        if level not in files
    ]


class _Report:
    """report(level, line) appends `<level's file>: <line>` to `problems`, at most
    MAX_REPORTED_PER_LEVEL lines per file, then one line saying that more were found."""

    def __init__(self, problems, files):
        self.problems, self.files = problems, files
        self.reported = dict.fromkeys(files, 0)

    def __call__(self, level, line):
        self.reported[level] += 1
        if self.reported[level] <= MAX_REPORTED_PER_LEVEL:
            self.problems.append(f"{self.files[level]}: {line}")
        elif self.reported[level] == MAX_REPORTED_PER_LEVEL + 1:
            self.problems.append(
                f"{self.files[level]}: more problems; only the first {MAX_REPORTED_PER_LEVEL} "
                "are listed"
            )


def _check_records(files, present, report, progress):
    """{level: records in its file}: reads the levels side by side, record i of each together,
    checks every record alone and against the 2×2 average of the level above it."""
    active = {k: scan_records(files[k]) for k in present}
    counts = dict.fromkeys(present, 0)
    channels = None
    while active:
        images, channels = _next_records(active, counts, channels, report)
        _check_averages(images, files, report)
        if progress is not None and images:
            progress(max(counts.values()))
    return counts


def _next_records(active, counts, channels, report):
    """({level: (image, offset, index)} of the next good record of each level, the dataset's
    channels). A level whose file is done leaves `active`; a bad record is reported, left out."""
    images = {}
    for level in list(active):
        item = next(active[level], None)
        if item is None:
            del active[level]
            continue
        index, offset, record, problem = item
        counts[level] = index + 1
        if problem is None:
            image, problem = _parse(record, 2**level)
        if problem is not None:
            report(level, f"record {index} at byte offset {offset}: {problem}")
            continue
        if channels is None:
            channels = image.shape[0]
        elif image.shape[0] != channels:
            report(
                level,
                f"record {index} at byte offset {offset}: {image.shape[0]} channels, the "
                f"dataset has {channels}",
            )
            continue
        images[level] = (image, offset, index)
    return images, channels


def _check_averages(images, files, report):
    """Reports each record that is not, within rounding, the 2×2 average of the level above's."""
    for level, (image, offset, index) in images.items():
        finer = images.get(level + 1)
        if finer is None:
            continue
        diff = np.abs(box_average(finer[0]) - image.astype(np.float32)).max()
        if diff > 1.0:
            report(
                level,
                f"record {index} at byte offset {offset}: is not the 2x2 average of record "
                f"{index} of {os.path.basename(files[level + 1])} (differs by up to {diff:g})",
            )


def _count_mismatches(files, present, counts):
    """A line for each level holding another number of records than the top level."""
    top_count = counts[present[0]]
    return [
        f"{files[level]}: holds {counts[level]} records, "
        f"{os.path.basename(files[present[0]])} holds {top_count}"
        for level in present
        if counts[level] != top_count
    ]


def _check_labels(tfrecord_dir, name, num_images, problems):
    path = labels_filename(tfrecord_dir, name)
    others = sorted(f for f in os.listdir(tfrecord_dir) if f.endswith(".labels"))
    if not os.path.isfile(path):
        if others:
            problems.append(
                f"{os.path.join(tfrecord_dir, others[0])}: labels file not named "
                f"{os.path.basename(path)}"
            )
        return "no labels"
    try:
        labels = np.load(path)
    except Exception as e:  # noqa: BLE001 - any load failure is the problem reported
        problems.append(f"{path}: not a NumPy labels file ({first_line(e, with_type=True)})")
        return "labels unreadable"
    if labels.ndim != 2 or labels.shape[0] != num_images:
        problems.append(
            f"{path}: labels have shape {list(labels.shape)}, expected [{num_images}, classes]"
        )
        return "labels of the wrong shape"
    onehot = np.all((labels == 0) | (labels == 1), axis=1) & (labels.sum(axis=1) == 1)
    if not onehot.all():
        bad = np.flatnonzero(~onehot)
        problems.append(f"{path}: {len(bad)} row(s) are not one-hot (first: row {bad[0]})")
    return f"labels {labels.shape[1]} classes"
