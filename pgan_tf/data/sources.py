"""Image sources for the dataset writer: folders of images, CIFAR-10/100, CelebA and the built-in
synthetic dataset (TFDS, MNIST, LSUN, SVHN and HDF5 archives have modules of their own).

Every source has `num_images`, `labels` (float32 one-hot `[n, classes]` in source order, or
None), `check()` (cheap checks of every image, before anything is written) and either
`read(indices, batch_size)` (random access: uint8 NHWC batches in the order of `indices`) or
`iterate(batch_size)` (sequential sources: batches in source order; `labels` is filled as they
are read). Bad input raises `DatasetError` whose message is `<file>: <reason>`.

What one image may be and how it is made fit (`Transform`, decoding errors) is the policy of
`decoding.py`; the sources here only find, read and order the images.
"""

import concurrent.futures
import glob
import os
import pickle

import numpy as np

from pgan_tf.core.labels import one_hot
from pgan_tf.core.resolution import is_resolution
from pgan_tf.data import decoding
from pgan_tf.data.decoding import Transform
from pgan_tf.data.tfrecord_format import DatasetError

NO_TRANSFORM = Transform()  # images as they are (a frozen dataclass: safe to share)


def _num_workers():
    return max(1, min(8, os.cpu_count() or 1))


# ---------------------------------------------------------------------------------------------
# Parallel, ordered decoding.


def ordered_map(fn, items, workers=None, in_flight=None):
    """Yields fn(item) for each item in order, computed by a thread pool (PIL decodes without
    the GIL), with a bounded number of items in flight."""
    workers = workers or _num_workers()
    in_flight = in_flight or 4 * workers
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        pending = []
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= in_flight:
                    yield pending.pop(0).result()
            while pending:
                yield pending.pop(0).result()
        finally:
            for f in pending:
                f.cancel()


def batched(arrays, batch_size):
    """Stacks an iterable of equal-shape arrays into batches of `batch_size` (the last smaller)."""
    batch = []
    for a in arrays:
        batch.append(a)
        if len(batch) == batch_size:
            yield np.stack(batch)
            batch = []
    if batch:
        yield np.stack(batch)


# ---------------------------------------------------------------------------------------------
# Sources.


class ArraySource:
    """Images already in memory (uint8 NHWC) with optional one-hot labels."""

    random_access = True

    def __init__(self, images, labels=None, where=""):
        self.images = images
        self.labels = labels
        self.where = where
        self.num_images = len(images)

    def check(self):
        if not self.num_images:
            raise DatasetError(f"{self.where}: no images")
        _, h, w, c = self.images.shape
        if h != w or not is_resolution(h) or c not in (1, 3):
            raise DatasetError(
                f"{self.where}: images are {w}x{h}x{c}; expected square power-of-two RGB or "
                "grayscale"
            )

    def read(self, indices, batch_size=64):
        for i in range(0, len(indices), batch_size):
            yield self.images[np.asarray(indices[i : i + batch_size])]


class ImageFolder:
    """The files directly in a folder (not subfolders), in sorted order, as the original tool
    (`sorted(glob(dir/*))`: names starting with '.' are not read)."""

    random_access = True
    labels = None

    def __init__(self, image_dir, transform=NO_TRANSFORM):
        self.image_dir = image_dir
        self.transform = transform
        if not os.path.exists(image_dir):
            raise DatasetError(f"{image_dir}: no such directory")
        if not os.path.isdir(image_dir):
            raise DatasetError(f"{image_dir}: not a directory")
        try:
            os.listdir(image_dir)
        except OSError as e:
            raise DatasetError(f"{image_dir}: cannot read ({e.strerror})") from None
        self.files = sorted(glob.glob(os.path.join(glob.escape(image_dir), "*")))
        if not self.files:
            raise DatasetError(f"{image_dir}: no input images found (empty folder)")
        self.num_images = len(self.files)
        self.shape = None  # (H, W, C) every image becomes

    def _header(self, path):
        """(width, height, mode, rawmode) from the file's header, without decoding the pixels."""
        if os.path.isdir(path):
            raise DatasetError(
                f"{path}: is a directory (images are read directly from IMAGE_DIR, not from "
                "subfolders)"
            )
        return decoding.read_header(path)

    def check(self):
        """Reads every header: sizes, modes, channels agree and are accepted."""
        first = None
        for path, (w, h, mode, rawmode) in zip(self.files, ordered_map(self._header, self.files)):
            shape = (self.transform.output_size(w, h, path),) * 2 + (
                self.transform.channels(mode, path, rawmode),
            )
            if first is None:
                first, self.shape = path, shape
            elif shape != self.shape:
                if shape[2] != self.shape[2]:
                    raise DatasetError(
                        f"{path}: has {shape[2]} channel(s) ({mode}) but {os.path.basename(first)} "
                        f"has {self.shape[2]} (mixed RGB and grayscale; {decoding.CONVERT_HINT})"
                    )
                raise DatasetError(
                    f"{path}: mixed sizes: {w}x{h} but {os.path.basename(first)} is "
                    f"{self.shape[1]}x{self.shape[0]} (pass --resolution N, with --transform "
                    "center-crop for non-square images)"
                )

    def load(self, path):
        """uint8 HWC array of one file, decoded and transformed; DatasetError if corrupt."""
        arr = decoding.decode(path, path, self.transform)
        if self.shape is not None and arr.shape != self.shape:
            raise DatasetError(f"{path}: decodes to {arr.shape}, expected {self.shape}")
        return arr

    def read(self, indices, batch_size=64):
        return batched(ordered_map(self.load, [self.files[i] for i in indices]), batch_size)


class CelebA(ImageFolder):
    """CelebA aligned images (218×178), cropped to 128² around (cx, cy) as the original tool.

    Reads `img_align_celeba_png/*.png` as the original does, or else the JPEG distribution's
    `img_align_celeba/*.jpg`.
    """

    def __init__(self, celeba_dir, cx=89, cy=121):
        if not os.path.isdir(celeba_dir):
            raise DatasetError(f"{celeba_dir}: no such directory")
        for sub in ("img_align_celeba_png", "img_align_celeba"):
            if os.path.isdir(os.path.join(celeba_dir, sub)):
                break
        else:
            raise DatasetError(
                f"{celeba_dir}: has neither img_align_celeba_png/ nor img_align_celeba/"
            )
        super().__init__(os.path.join(celeba_dir, sub))
        if not (64 <= cx <= 178 - 64 and 64 <= cy <= 218 - 64):
            raise DatasetError(
                f"{celeba_dir}: crop centre ({cx}, {cy}) puts the 128x128 crop outside the 178x218 "
                "images"
            )
        self.cx, self.cy = cx, cy
        self.shape = (128, 128, 3)

    def check(self):
        for path, (w, h, mode, rawmode) in zip(self.files, ordered_map(self._header, self.files)):
            if (w, h) != (178, 218):
                raise DatasetError(f"{path}: image is {w}x{h}, expected CelebA's aligned 178x218")
            if mode != "RGB" or decoding.is_16bit(mode, rawmode):
                raise DatasetError(f"{path}: image has mode {mode}, expected 8-bit RGB")

    def load(self, path):
        import PIL.Image

        with decoding.decoding_errors(path), PIL.Image.open(path) as img:
            arr = np.asarray(img)
        if arr.shape != (218, 178, 3):
            raise DatasetError(f"{path}: image is {arr.shape}, expected (218, 178, 3)")
        return arr[self.cy - 64 : self.cy + 64, self.cx - 64 : self.cx + 64]


def find_file(where, *names):
    """The first of `names` that is a file in `where`; a DatasetError naming the first if none."""
    for name in names:
        path = os.path.join(where, name)
        if os.path.isfile(path):
            return path
    raise DatasetError(f"{os.path.join(where, names[0])}: not found")


def _unpickle(path):
    try:
        with open(path, "rb") as f:
            return pickle.load(f, encoding="latin1")
    except OSError as e:
        raise DatasetError(f"{path}: cannot read ({e.strerror})") from None
    except Exception as e:  # noqa: BLE001 - any unpickling failure means a bad file
        raise DatasetError(f"{path}: not a CIFAR python pickle ({type(e).__name__}: {e})") from None


def _cifar_dir(cifar_dir, marker, subdir):
    if not os.path.isdir(cifar_dir):
        raise DatasetError(f"{cifar_dir}: no such directory")
    if not os.path.exists(os.path.join(cifar_dir, marker)) and os.path.isdir(
        os.path.join(cifar_dir, subdir)
    ):
        return os.path.join(cifar_dir, subdir)
    return cifar_dir


def _cifar_images(path, data, n_classes, label_key):
    try:
        images = np.asarray(data["data"], np.uint8)
        labels = np.asarray(data[label_key], np.int64)
    except (KeyError, TypeError, ValueError) as e:
        raise DatasetError(f"{path}: not a CIFAR batch (missing or bad {e})") from None
    if images.ndim != 2 or images.shape[1] != 3 * 32 * 32 or len(labels) != len(images):
        raise DatasetError(
            f"{path}: data is {images.shape} with {len(labels)} labels, expected [n, 3072] and n "
            "labels"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise DatasetError(f"{path}: labels outside 0..{n_classes - 1}")
    return images.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def cifar10(cifar_dir):
    """CIFAR-10 python batches `data_batch_1..5` (the `cifar-10-batches-py` folder), with labels."""
    cifar_dir = _cifar_dir(cifar_dir, "data_batch_1", "cifar-10-batches-py")
    images, labels = [], []
    for batch in range(1, 6):
        path = find_file(cifar_dir, f"data_batch_{batch}")
        x, y = _cifar_images(path, _unpickle(path), 10, "labels")
        images.append(x)
        labels.append(y)
    return ArraySource(np.concatenate(images), one_hot(np.concatenate(labels), 10), cifar_dir)


def cifar100(cifar_dir):
    """CIFAR-100 python `train` file (the `cifar-100-python` folder), with the 100 fine labels."""
    cifar_dir = _cifar_dir(cifar_dir, "train", "cifar-100-python")
    path = find_file(cifar_dir, "train")
    images, labels = _cifar_images(path, _unpickle(path), 100, "fine_labels")
    return ArraySource(images, one_hot(labels, 100), cifar_dir)


class Synthetic:
    """The built-in procedural dataset (`pgan_tf.data.synthetic`), labels = mode ids."""

    random_access = True

    def __init__(self, num_images, resolution, seed=0):
        from pgan_tf.data import synthetic

        if not is_resolution(resolution):
            raise DatasetError(f"--resolution: must be a power of two >= 4, got {resolution}")
        if num_images < 1:
            raise DatasetError(f"--num_images: must be >= 1, got {num_images}")
        self._synthetic = synthetic
        self.resolution = resolution
        self.num_images = num_images
        self.params = synthetic.sample_params(num_images, seed)
        self.labels = one_hot(
            synthetic.mode_id(self.params["shape"], self.params["colour"]), synthetic.NUM_MODES
        )

    def check(self):
        pass

    def read(self, indices, batch_size=64):
        batch_size = max(batch_size, (1 << 20) // (self.resolution * self.resolution))
        for i in range(0, len(indices), batch_size):
            idx = np.asarray(indices[i : i + batch_size])
            yield self._synthetic.render(
                {k: v[idx] for k, v in self.params.items()}, self.resolution
            )
