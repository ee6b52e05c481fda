"""Image sets scored without a run (`evaluate --images --reference`): a folder of PNG/JPEG files,
read in sorted file-name order (IS depends on the order through its splits), or a dataset
(TFRecord) directory at its largest resolution, in record order."""

import os

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


class ImageSetError(ValueError):
    """A folder without images, an unreadable image, or images of different shapes (one line)."""


def image_files(folder):
    """Sorted paths of the PNG/JPEG files directly inside folder."""
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(IMAGE_SUFFIXES))
    return [os.path.join(folder, n) for n in names]


def _is_dataset(path):
    return any(n.endswith(".tfrecords") for n in os.listdir(path))


def _read_image(path):
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode if image.mode in ("L", "RGB") else "RGB"
            array = np.asarray(image.convert(mode), np.uint8)
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageSetError(f"{path}: not a readable image ({e})") from None
    return array[..., None] if array.ndim == 2 else array


class ImageSet:
    """uint8 NHWC batches of one set; len() is its image count, resolution its height."""

    def __init__(self, path):
        if not os.path.isdir(path):
            raise FileNotFoundError(2, "No such directory", path)
        self.path = path
        self.dataset = _is_dataset(path)
        if self.dataset:
            from pgan_tf.data.dataset import inspect

            info = inspect(path)
            self.count, self.resolution = info.num_images, info.max_resolution
            self.channels = info.num_channels
            return
        self.files = image_files(path)
        if not self.files:
            raise ImageSetError(f"{path}: holds no .png, .jpg or .jpeg files")
        first = _read_image(self.files[0])
        self.count, self.resolution, self.channels = len(self.files), first.shape[0], first.shape[2]
        self._shape = first.shape

    def __len__(self):
        return self.count

    def batches(self, batch_size, limit=None):
        """Yields uint8 NHWC batches of the first `limit` images (all by default)."""
        limit = self.count if limit is None else min(limit, self.count)
        if self.dataset:
            from pgan_tf.data.dataset import iterate_uint8

            yield from iterate_uint8(self.path, self.resolution, batch_size, max_images=limit)
            return
        for start in range(0, limit, batch_size):
            images = [_read_image(f) for f in self.files[start : min(start + batch_size, limit)]]
            for f, image in zip(self.files[start:], images):
                if image.shape != self._shape:
                    raise ImageSetError(
                        f"{f}: shape {image.shape}, but {self.files[0]} has {self._shape}"
                    )
            yield np.stack(images)


class BatchStream:
    """generate_fn(n, seed) that ignores the seed and returns the next n images of a stream."""

    def __init__(self, batches):
        self._batches = iter(batches)
        self._buffer = np.zeros((0,), np.uint8)

    def __call__(self, n, seed):
        parts, have = [], 0
        if len(self._buffer):
            parts, have = [self._buffer], len(self._buffer)
        while have < n:
            batch = next(self._batches)
            parts.append(batch)
            have += len(batch)
        joined = np.concatenate(parts)
        self._buffer = joined[n:]
        return joined[:n]


def json_key(key):
    """A metric key as --json names it: FID → fid, IS_mean → is_mean, MS-SSIM → ms_ssim."""
    return key.lower().replace("-", "_")


def evaluate_sets(
    images,
    reference,
    metrics,
    *,
    num_images=None,
    inception_path=None,
    seed=0,
    batch_size=64,
    log=print,
    progress=None,
):
    """Scores the image set at `images` (as generated) against `reference` (as reals); returns
    {metric key: value, 'num_images': n}. Both sets are cut to the smaller count (and to
    num_images when given)."""
    from pgan_tf.metrics.registry import applicable_metrics, compute_metrics, parse_metric_names

    names = parse_metric_names(metrics)
    fakes, reals = ImageSet(images), ImageSet(reference)
    count = min(len(fakes), len(reals), num_images or len(fakes))
    if {"fid", "is"} & set(names):
        from pgan_tf.metrics.fid import InceptionFeatures

        inception_path = InceptionFeatures(inception_path)
    names, skipped = applicable_metrics(names, fakes.resolution)
    for name, reason in skipped.items():
        log(f"skipped {name}: {reason}")
    values = compute_metrics(
        names,
        BatchStream(fakes.batches(batch_size, count)),
        lambda n: reals.batches(batch_size, n),
        num_images=count,
        seed=seed,
        inception_path=inception_path,
        batch_size=batch_size,
        progress=progress,
    )
    log(f"{count} images of {images} against {count} of {reference}")
    return values


def dataset_slice(dataset_path, resolution, batch_size, skip, take):
    """uint8 batches of the reals [skip, skip + take) at a resolution."""
    from pgan_tf.data.dataset import iterate_uint8

    seen = 0
    for batch in iterate_uint8(dataset_path, resolution, batch_size, max_images=skip + take):
        lo, hi = max(skip - seen, 0), min(skip + take - seen, len(batch))
        seen += len(batch)
        if hi > lo:
            yield batch[lo:hi]


def drawn_reals(dataset_path, resolution, batch_size, take, *, mirror=False, seed=0):
    """The reals as the original's evaluation draws them: in file order, starting over when the
    dataset is exhausted (its loader repeats without shuffling), and, for a run trained with
    mirroring, each image flipped left-right with p = 0.5 (its apply_mirror_augment)."""
    rng = np.random.default_rng(seed)
    seen = 0
    while seen < take:
        before = seen
        for batch in dataset_slice(dataset_path, resolution, batch_size, 0, take - seen):
            if mirror:
                flip = rng.random(len(batch)) < 0.5
                batch = np.array(batch)
                batch[flip] = batch[flip, :, ::-1]
            seen += len(batch)
            yield batch
        if seen == before:
            raise ValueError(f"{dataset_path}: no images at {resolution}²")


def count_reals(dataset_path, resolution, limit, batch_size=256):
    """Number of real images available, counting no further than limit."""
    return sum(len(b) for b in dataset_slice(dataset_path, resolution, batch_size, 0, limit))
