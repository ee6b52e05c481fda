"""MNIST sources: the digits with their labels (`create_mnist`) and MNIST-RGB (`create_mnistrgb`).

Both read the training idx files as downloaded (gzipped, or not) and pad the 28×28 digits to
32×32 with zeros, as the original tool. MNIST-RGB, the original tool's stacked-MNIST variant, makes
each image of three digits drawn at random, one per colour channel.
"""

import gzip
import os

import numpy as np

from pgan_tf.core.labels import one_hot
from pgan_tf.data.sources import ArraySource, find_file
from pgan_tf.data.tfrecord_format import DatasetError

IMAGE_FILES = ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte", "train-images.idx3-ubyte")
LABEL_FILES = ("train-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte", "train-labels.idx1-ubyte")


def read_idx(path, ndim):
    """The uint8 array of an idx file (the MNIST format) with `ndim` dimensions."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DatasetError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from None
    if len(raw) < 4 + 4 * ndim or raw[:3] != b"\0\0\x08" or raw[3] != ndim:
        raise DatasetError(f"{path}: not an idx file of unsigned bytes with {ndim} dimension(s)")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise DatasetError(f"{path}: truncated: holds {data.size} bytes, the header says {dims}")
    return data.reshape(dims)


def _digits(mnist_dir):
    """(path, uint8 [n, 32, 32]): the training digits, zero-padded from 28×28."""
    if not os.path.isdir(mnist_dir):
        raise DatasetError(f"{mnist_dir}: no such directory")
    path = find_file(mnist_dir, *IMAGE_FILES)
    images = read_idx(path, 3)
    if images.shape[1:] != (28, 28):
        raise DatasetError(f"{path}: images are {images.shape[1:]}, expected 28x28")
    if not len(images):
        raise DatasetError(f"{path}: no images")
    return path, np.pad(images, [(0, 0), (2, 2), (2, 2)], "constant")


def mnist(mnist_dir):
    """MNIST's training digits, padded to 32², with their 10-class labels."""
    _, images = _digits(mnist_dir)
    labels_path = find_file(mnist_dir, *LABEL_FILES)
    labels = read_idx(labels_path, 1)
    if len(labels) != len(images):
        raise DatasetError(
            f"{labels_path}: {len(labels)} labels for {len(images)} images; expected one label each"
        )
    if labels.size and labels.max() > 9:
        raise DatasetError(f"{labels_path}: labels outside 0..9")
    return ArraySource(images[..., None], one_hot(labels, 10), mnist_dir)


def mnist_rgb_picks(num_digits, num_images, seed):
    """int64 [num_images, 3]: the digits of each MNIST-RGB image (red, green, blue).

    The original draws `RandomState(seed).randint(num_digits, size=3)` once per image; one draw of
    size (num_images, 3) takes the same numbers from the generator in the same order.
    """
    return np.random.RandomState(seed).randint(num_digits, size=(num_images, 3))


class MnistRGB:
    """`num_images` RGB images, each channel a padded MNIST digit picked at random (no labels).

    Written in the order drawn, not shuffled, as the original.
    """

    random_access = True
    labels = None

    def __init__(self, mnist_dir, num_images=1000000, seed=123):
        if num_images < 1:
            raise DatasetError(f"--num_images: must be >= 1, got {num_images}")
        self.where, self.digits = _digits(mnist_dir)
        self.num_images = num_images
        self.picks = mnist_rgb_picks(len(self.digits), num_images, seed)

    def check(self):
        pass  # the digits were checked when read

    def read(self, indices, batch_size=256):
        for i in range(0, len(indices), batch_size):
            picks = self.picks[np.asarray(indices[i : i + batch_size])]
            yield self.digits[picks].transpose(0, 2, 3, 1)
