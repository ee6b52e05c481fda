"""The on-disk dataset format of the original PGGAN `dataset_tool.py`, byte for byte.

A dataset directory `<dir>` holds one uncompressed TFRecord file per resolution,
`<dir>/<basename(dir)>-rKK.tfrecords` with KK = log2(resolution) from 02 (4×4) up to the full
resolution (`res_log2`; a file holds the *level* KK; the original's code calls it lod, which in
the schedule is the level of detail, counting the other way), and optionally
`<basename>-rxx.labels` (float32 one-hot `[n, classes]`, `np.save`d).
Each record is a `tf.train.Example` with two features: `shape` (int64 `[C, H, W]`) and `data`
(the raw uint8 image in CHW order). Level k−1 is the 2×2 box average of level k computed in
float32 and carried in float (the unrounded values are averaged again); every written level is
`rint(x).clip(0, 255).astype(uint8)`. Records are written in the order
`np.random.RandomState(123).shuffle(np.arange(n))` of the input list.

Images handed to `DatasetWriter` are uint8 NHWC batches (C = 1 or 3); files hold CHW.
"""

import contextlib
import os
import re
import shutil

import numpy as np

from pgan_tf.core import atomic
from pgan_tf.core.resolution import MIN_RES_LOG2, res_log2

SHUFFLE_SEED = 123
LABELS_SUFFIX = "-rxx.labels"
_LEVEL_RE = re.compile(r"^(?P<prefix>.+)-r(?P<level>\d\d)\.tfrecords$")


class DatasetError(ValueError):
    """Bad input to a dataset tool or an unusable dataset directory.

    The message is one line, `<file>: <reason>`, fit to show a user as it is.
    """


# ---------------------------------------------------------------------------------------------
# Names.


def dataset_name(tfrecord_dir):
    """The file-name prefix the original tool uses: the directory's base name."""
    return os.path.basename(os.path.normpath(tfrecord_dir))


def tfrecord_filename(tfrecord_dir: str, level: int, name: str = None) -> str:
    """`<dir>/<name>-rKK.tfrecords`, KK = `level`, the res_log2 of its images (name defaults to
    the directory's base name)."""
    name = dataset_name(tfrecord_dir) if name is None else name
    return os.path.join(tfrecord_dir, f"{name}-r{level:02d}.tfrecords")


def labels_filename(tfrecord_dir, name=None):
    """`<dir>/<name>-rxx.labels`."""
    name = dataset_name(tfrecord_dir) if name is None else name
    return os.path.join(tfrecord_dir, name + LABELS_SUFFIX)


def parse_tfrecord_filename(filename: str) -> tuple:
    """`(prefix, level)` of a level file name, or None if it is not one."""
    m = _LEVEL_RE.match(os.path.basename(filename))
    return (m.group("prefix"), int(m.group("level"))) if m else None


# ---------------------------------------------------------------------------------------------
# Order, pyramid, records.


def shuffled_order(num_images):
    """The original tool's record order: RandomState(123) shuffle of arange(n)."""
    order = np.arange(num_images)
    np.random.RandomState(SHUFFLE_SEED).shuffle(order)
    return order


def downsample(images):
    """One 2×2 box-filter step of NHWC (or HWC) images in float32, summed in the original's
    order: (a + b + c + d) * 0.25, left to right."""
    x = np.asarray(images).astype(np.float32, copy=False)
    return (
        x[..., 0::2, 0::2, :]
        + x[..., 0::2, 1::2, :]
        + x[..., 1::2, 0::2, :]
        + x[..., 1::2, 1::2, :]
    ) * np.float32(0.25)


def quantize(x):
    """A float level as written to disk: rint, clip to [0, 255], uint8."""
    return np.rint(x).clip(0, 255).astype(np.uint8)


def pyramid(images):
    """uint8 NHWC (or HWC) images → list of uint8 levels, full resolution first, down to 4×4.

    The float result of each 2×2 average (not the rounded one) feeds the next level.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"images must be uint8, got {images.dtype}")
    levels = [images]
    x = images
    while levels[-1].shape[-2] > 4:
        x = downsample(x)
        levels.append(quantize(x))
    return levels


def encode_example(chw):
    """Serialized tf.train.Example of one uint8 CHW image, as the original writes it."""
    import tensorflow as tf

    chw = np.ascontiguousarray(chw, dtype=np.uint8)
    ex = tf.train.Example(
        features=tf.train.Features(
            feature={
                "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=chw.shape)),
                "data": tf.train.Feature(bytes_list=tf.train.BytesList(value=[chw.tobytes()])),
            }
        )
    )
    # Map entries in key order ("data", "shape"): protobuf's deterministic serialization. The
    # default one follows the backend's map order (upb: hash order, which may change from one
    # process to the next; the original's C++ or pure-Python protobuf: hash or insertion order),
    # so only this gives reproducible files. Readers do not depend on the order.
    return ex.SerializeToString(deterministic=True)


def decode_example(record):
    """uint8 CHW array of one serialized record (NumPy; for tools and tests, not training)."""
    import tensorflow as tf

    ex = tf.train.Example.FromString(bytes(record))
    shape = list(ex.features.feature["shape"].int64_list.value)
    data = ex.features.feature["data"].bytes_list.value[0]
    return np.frombuffer(data, np.uint8).reshape(shape)


# ---------------------------------------------------------------------------------------------
# Writer.


def check_target(tfrecord_dir, overwrite):
    """Refuses a target that exists (and is not an empty directory) unless overwrite."""
    if os.path.lexists(tfrecord_dir):
        if not os.path.isdir(tfrecord_dir):
            raise DatasetError(f"{tfrecord_dir}: exists and is not a directory")
        if os.listdir(tfrecord_dir) and not overwrite:
            raise DatasetError(
                f"{tfrecord_dir}: already exists and is not empty (pass --overwrite to replace it)"
            )


def make_temp_dir(target: str) -> str:
    """`atomic.make_temp_dir` next to `target`, its failure as a DatasetError."""
    try:
        return atomic.make_temp_dir(target)
    except atomic.WriteError as e:
        raise DatasetError(f"{e.path}: cannot create a directory there ({e.reason})") from None


class DatasetWriter:
    """Writes a multi-resolution dataset; nothing appears at the target until `commit()`.

    Every level is written into a temporary directory next to the target, which replaces the
    target at the end (an existing non-empty target only with overwrite=True). On any error, or
    when used as a context manager that exits with an exception, the temporary directory is
    removed and the target is left as it was.

        with DatasetWriter(dir) as w:
            for batch in batches:          # uint8 NHWC, in the order the records should have
                w.add_images(batch)
            w.add_labels(onehot)           # optional, [n, classes], same order
            w.commit()
    """

    @contextlib.contextmanager
    def _writing(self, final_path):
        """A failed write (disk full, permissions, I/O error) inside the block drops the temporary
        directory and raises DatasetError naming the file as it would have been called."""
        try:
            with atomic.reported(final_path):
                yield
        except atomic.WriteError as e:
            self.abort()
            raise DatasetError(
                f"{final_path}: cannot write: {e.reason} (nothing was written to "
                f"{self.tfrecord_dir})"
            ) from None

    def __init__(self, tfrecord_dir, *, overwrite=False, progress=None):
        self.tfrecord_dir = os.path.normpath(tfrecord_dir)
        self.name = dataset_name(self.tfrecord_dir)
        self.overwrite = overwrite
        self.progress = progress
        check_target(self.tfrecord_dir, overwrite)
        self.tmp_dir = make_temp_dir(self.tfrecord_dir)
        self.shape = None  # (H, W, C) of the full resolution
        self.num_images = 0
        self.has_labels = False
        self._writers = []
        self._closed = False

    # The level files, full resolution first.
    def _open(self, shape):
        import tensorflow as tf

        h, w, c = shape
        if c not in (1, 3):
            raise DatasetError(f"{self.tfrecord_dir}: images must have 1 or 3 channels, got {c}")
        if h != w:
            raise DatasetError(f"{self.tfrecord_dir}: images must be square, got {w}x{h}")
        try:
            top = res_log2(h)
        except ValueError:
            raise DatasetError(
                f"{self.tfrecord_dir}: image size must be a power of two >= 4, got {w}x{h}"
            ) from None
        self.shape = tuple(shape)
        for level in range(top, MIN_RES_LOG2 - 1, -1):
            path = tfrecord_filename(self.tmp_dir, level, self.name)
            self._writers.append(tf.io.TFRecordWriter(path))

    def add_images(self, images):
        """Appends a uint8 NHWC batch (or one HWC image) to every level."""
        images = np.asarray(images)
        if images.ndim == 3:
            images = images[None]
        if images.dtype != np.uint8 or images.ndim != 4:
            raise ValueError(f"expected uint8 NHWC images, got {images.dtype} {images.shape}")
        if self.shape is None:
            self._open(images.shape[1:])
        elif images.shape[1:] != self.shape:
            raise DatasetError(
                f"{self.tfrecord_dir}: image {self.num_images} has shape {images.shape[1:]}, "
                f"expected {self.shape}"
            )
        levels = range(res_log2(self.shape[0]), 0, -1)
        for level, writer, pixels in zip(levels, self._writers, pyramid(images)):
            with self._writing(tfrecord_filename(self.tfrecord_dir, level, self.name)):
                for img in pixels:
                    writer.write(encode_example(img.transpose(2, 0, 1)))
        self.num_images += len(images)
        if self.progress is not None:
            self.progress(self.num_images)

    def add_labels(self, labels):
        """float32 one-hot `[n, classes]` in record order, saved as `<name>-rxx.labels`."""
        labels = np.asarray(labels, dtype=np.float32)
        if labels.ndim != 2 or labels.shape[0] != self.num_images:
            raise ValueError(f"labels must be [{self.num_images}, classes], got {labels.shape}")
        with (
            self._writing(labels_filename(self.tfrecord_dir, self.name)),
            open(labels_filename(self.tmp_dir, self.name), "wb") as f,
        ):
            np.save(f, labels)
            f.flush()
            os.fsync(f.fileno())
        self.has_labels = True

    def commit(self):
        """Closes the files and moves the dataset into place."""
        if not self.num_images:
            self.abort()
            raise DatasetError(f"{self.tfrecord_dir}: no images to write")
        top = res_log2(self.shape[0])
        for level, w in zip(range(top, 0, -1), self._writers):
            with self._writing(tfrecord_filename(self.tfrecord_dir, level, self.name)):
                w.flush()
                w.close()
                atomic.fsync_file(tfrecord_filename(self.tmp_dir, level, self.name))
        self._writers = []
        check_target(self.tfrecord_dir, self.overwrite)
        with self._writing(self.tfrecord_dir):
            atomic.install_dir(self.tmp_dir, self.tfrecord_dir, replace=True)
        self._closed = True

    def abort(self):
        """Drops everything written so far; the target is untouched."""
        for w in self._writers:
            try:
                w.close()
            except Exception:  # noqa: BLE001 - cleanup must go on
                pass
        self._writers = []
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if not self._closed:
            self.abort()
        return False
