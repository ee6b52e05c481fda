"""The SVHN source of `create_svhn`: the 73,257 training digits (32×32 RGB) with 10-class labels.

The original tool reads `train_1.pkl`, `train_2.pkl`, `train_3.pkl` from SVHN_DIR: pickles (its
authors' own conversion, which was never published) of `(images uint8 [n, 3, 32, 32], labels
[n] in 0..9)`, concatenated in that order. Those are read first, as the original. Since the
public SVHN download is the MATLAB file `train_32x32.mat` (`X` [32, 32, 3, n], `y` [n, 1] in 1..10,
10 standing for the digit 0), that file is read when the pickles are absent: images in file order,
label 10 → 0, which gives the original's label range; that its pickles hold the same order is an
assumption, as its conversion is not published. Reading the .mat needs scipy.
"""

import os
import pickle

import numpy as np

from pgan_tf.core.labels import one_hot
from pgan_tf.data.extras import import_extra
from pgan_tf.data.sources import ArraySource
from pgan_tf.data.tfrecord_format import DatasetError

PICKLES = ("train_1.pkl", "train_2.pkl", "train_3.pkl")
MAT_FILE = "train_32x32.mat"


def _check(path, images, labels, low, high):
    if images.dtype != np.uint8 or images.ndim != 4 or len(labels) != len(images):
        raise DatasetError(
            f"{path}: images are {images.dtype} {list(images.shape)} with {len(labels)} labels; "
            "expected uint8 and one label each"
        )
    if labels.size and (labels.min() < low or labels.max() > high):
        raise DatasetError(f"{path}: labels outside {low}..{high}")


def _read_pickle(path):
    """(uint8 NCHW images, int64 labels) of one of the original's pickles."""
    try:
        with open(path, "rb") as f:
            data = pickle.load(f, encoding="latin1")
        images, labels = np.asarray(data[0]), np.asarray(data[1]).reshape(-1)
    except OSError as e:
        raise DatasetError(f"{path}: cannot read ({e.strerror or e})") from None
    except Exception as e:  # noqa: BLE001 - any failure here means a bad file
        raise DatasetError(
            f"{path}: not a pickle of (images, labels) ({type(e).__name__}: {e})"
        ) from None
    _check(path, images, labels, 0, 9)
    if images.shape[1:] != (3, 32, 32):
        raise DatasetError(f"{path}: images are {list(images.shape)}, expected [n, 3, 32, 32]")
    return images, labels.astype(np.int64)


def _read_mat(path):
    """(uint8 NCHW images, int64 labels 0..9) of SVHN's `train_32x32.mat`."""
    scipy_io = import_extra("scipy.io", "svhn", f"{path}: reading SVHN's .mat file")
    try:
        mat = scipy_io.loadmat(path)
        images, labels = np.asarray(mat["X"]), np.asarray(mat["y"]).reshape(-1)
    except KeyError as e:
        raise DatasetError(f"{path}: has no variable {e} (expected X and y)") from None
    except Exception as e:  # noqa: BLE001 - scipy raises many types for a bad file
        raise DatasetError(f"{path}: not a MATLAB file ({type(e).__name__}: {e})") from None
    images = np.moveaxis(images, -1, 0) if images.ndim == 4 else images
    _check(path, images, labels, 1, 10)
    if images.shape[1:] != (32, 32, 3):
        raise DatasetError(
            f"{path}: X is {list(np.moveaxis(images, 0, -1).shape)}, expected [32, 32, 3, n]"
        )
    return images.transpose(0, 3, 1, 2), labels.astype(np.int64) % 10


def svhn(svhn_dir):
    """The SVHN training set with one-hot labels, from the original's pickles or the .mat."""
    if not os.path.isdir(svhn_dir):
        raise DatasetError(f"{svhn_dir}: no such directory")
    paths = [os.path.join(svhn_dir, name) for name in PICKLES]
    mat = os.path.join(svhn_dir, MAT_FILE)
    if any(os.path.isfile(p) for p in paths):
        for p in paths:
            if not os.path.isfile(p):
                raise DatasetError(f"{p}: not found (the original tool reads {', '.join(PICKLES)})")
        parts = [_read_pickle(p) for p in paths]
        images = np.concatenate([x for x, _ in parts])
        labels = np.concatenate([y for _, y in parts])
    elif os.path.isfile(mat):
        images, labels = _read_mat(mat)
    else:
        raise DatasetError(
            f"{svhn_dir}: has neither {PICKLES[0]} (the original tool's pickles) nor {MAT_FILE} "
            "(SVHN's download of the cropped digits)"
        )
    return ArraySource(images.transpose(0, 2, 3, 1), one_hot(labels, 10), svhn_dir)
