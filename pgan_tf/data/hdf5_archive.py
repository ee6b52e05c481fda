"""The legacy HDF5 archive of the Theano-era PGGAN tool (`h5tool.py`), read by `create_from_hdf5`.

Such an archive holds one uint8 dataset per resolution, `data1x1`, `data2x2`, ... up to the full
`dataNxN`, each `[n, C, H, W]`; labels, if any, sit beside it in `<archive minus .h5>-labels.npy`.
As the original tool, only the largest dataset named `data*` (by width) is read; the labels file is
taken as it is (any `[n, k]` array, written as float32).
"""

import os

import numpy as np

from pgan_tf.core.resolution import is_resolution
from pgan_tf.data.extras import import_extra
from pgan_tf.data.tfrecord_format import DatasetError


def labels_path(hdf5_filename):
    """The original tool's labels file of an archive: `<name minus extension>-labels.npy`."""
    return os.path.splitext(hdf5_filename)[0] + "-labels.npy"


def _open(hdf5_filename):
    h5py = import_extra("h5py", "hdf5", f"{hdf5_filename}: reading HDF5 archives")
    if not os.path.isfile(hdf5_filename):
        what = "is a directory" if os.path.isdir(hdf5_filename) else "no such file"
        raise DatasetError(f"{hdf5_filename}: {what}")
    try:
        return h5py, h5py.File(hdf5_filename, "r")
    except OSError as e:
        raise DatasetError(f"{hdf5_filename}: not an HDF5 file ({e})") from None


def _load_labels(path, num_images):
    try:
        labels = np.load(path)
    except Exception as e:  # noqa: BLE001 - any failure to load means a bad file
        raise DatasetError(f"{path}: not a NumPy array file ({type(e).__name__}: {e})") from None
    if labels.ndim != 2 or labels.shape[0] != num_images:
        raise DatasetError(
            f"{path}: labels have shape {list(labels.shape)}, expected [{num_images}, classes]"
        )
    try:
        return labels.astype(np.float32)
    except (TypeError, ValueError) as e:
        raise DatasetError(f"{path}: labels are not numbers ({e})") from None


class HDF5Archive:
    """Random-access source of the largest `data*` dataset of a legacy archive, CHW → HWC."""

    random_access = True

    def __init__(self, hdf5_filename):
        self.where = hdf5_filename
        h5py, self.file = _open(hdf5_filename)
        try:
            self._pick(h5py)
            path = labels_path(hdf5_filename)
            self.labels = _load_labels(path, self.num_images) if os.path.isfile(path) else None
        except BaseException:
            self.file.close()
            raise

    def _pick(self, h5py):
        """The original's choice: the first of the widest `data*` datasets (h5py lists names in
        sorted order)."""
        levels = [
            (name, value)
            for name, value in self.file.items()
            if name.startswith("data") and isinstance(value, h5py.Dataset)
        ]
        if not levels:
            found = ", ".join(self.file.keys()) or "nothing"
            raise DatasetError(f"{self.where}: no dataset named data* (holds {found})")
        for name, value in levels:
            if value.ndim != 4:
                raise DatasetError(
                    f"{self.where}: {name} has shape {list(value.shape)}, expected [n, C, H, W]"
                )
        self.name, self.data = max(levels, key=lambda item: item[1].shape[3])
        self.num_images = self.data.shape[0]

    def check(self):
        n, c, h, w = self.data.shape
        where = f"{self.where}: {self.name}"
        if self.data.dtype != np.uint8:
            raise DatasetError(f"{where}: images are {self.data.dtype}, expected uint8")
        if h != w or not is_resolution(h) or c not in (1, 3):
            raise DatasetError(
                f"{where}: images are {c}x{h}x{w} (CxHxW); expected square power-of-two RGB or "
                "grayscale"
            )
        if not n:
            raise DatasetError(f"{where}: no images")

    def read(self, indices, batch_size=64):
        """Batches in the order of `indices`; each batch read in increasing index order (as
        h5py's selections must be) and put back in order."""
        for i in range(0, len(indices), batch_size):
            idx = np.asarray(indices[i : i + batch_size])
            ascending = np.argsort(idx, kind="stable")
            try:
                chunk = self.data[idx[ascending]]
            except OSError as e:
                raise DatasetError(f"{self.where}: {self.name}: cannot read ({e})") from None
            batch = np.empty_like(chunk)
            batch[ascending] = chunk
            yield batch.transpose(0, 2, 3, 1)

    def close(self):
        self.file.close()
