"""A TFDS image dataset as a source of the dataset writer (`sources.py`'s interface): the builder
found by name, prepared from the user's manual files or downloaded only when asked, its image and
label features picked, every failure one line naming the dataset and what to do.
"""

import os

import numpy as np

from pgan_tf.core.errors import first_line
from pgan_tf.core.labels import one_hot
from pgan_tf.data import decoding
from pgan_tf.data.sources import NO_TRANSFORM, batched
from pgan_tf.data.tfrecord_format import DatasetError


class TFDS:
    """An image dataset from TensorFlow Datasets, by name (`cifar10`, `celeb_a_hq/1024`, …).

    Reads what is prepared in `data_dir`. Prepares it (`download_and_prepare`) only when asked:
    `download=True`, or `manual_dir` given for a builder that registers no download URLs (it is
    then built from the local files alone, as `celeb_a_hq` is). Labels when the dataset has a
    ClassLabel feature. Sequential, in TFDS's file order.
    """

    random_access = False

    def __init__(
        self,
        name,
        split="train",
        data_dir=None,
        manual_dir=None,
        download=False,
        transform=NO_TRANSFORM,
        image_key=None,
        label_key=None,
    ):
        import tensorflow_datasets as tfds

        self.name, self.split, self.transform = name, split, transform
        where = f"tfds:{name}"
        data_dir = os.path.expanduser(data_dir) if data_dir else None
        manual_dir = os.path.expanduser(manual_dir) if manual_dir else None
        try:
            builder = tfds.builder(name, data_dir=data_dir)
        except Exception as e:  # noqa: BLE001 - TFDS raises many types for an unknown name
            raise DatasetError(
                f"{where}: unknown or unloadable TFDS dataset ({first_line(e, with_type=True)})"
            ) from None
        if not builder.is_prepared():
            _prepare(builder, where, manual_dir, download)
        self.builder = builder
        features = builder.info.features
        self.image_key = image_key or _pick_feature(
            features, tfds.features.Image, "image", where, required=True
        )
        self.label_key = label_key or _pick_feature(
            features, tfds.features.ClassLabel, "label", where, required=False
        )
        self.num_classes = features[self.label_key].num_classes if self.label_key else 0
        try:
            self.num_images = builder.info.splits[split].num_examples
        except Exception as e:  # noqa: BLE001
            raise DatasetError(
                f"{where}: no split {split!r} (has {', '.join(builder.info.splits)}): {e}"
            ) from None
        if not self.num_images:
            raise DatasetError(f"{where}: split {split!r} is empty")
        self.labels = None

    def check(self):
        pass  # checked per image as it is read

    def iterate(self, batch_size=64):
        import tensorflow as tf

        ds = self.builder.as_dataset(split=self.split, shuffle_files=False)
        keys = (self.image_key, self.label_key) if self.label_key else (self.image_key,)
        ds = ds.map(lambda ex: tuple(ex[k] for k in keys), num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.prefetch(tf.data.AUTOTUNE)
        labels = []
        first = []

        def convert(item):
            i, ex = item
            where = f"tfds:{self.name}[{self.split}] example {i}"
            labels.extend(ex[1:2])
            arr = self.transform.apply(decoding.array_to_pil(np.asarray(ex[0]), where), where)
            if not first:
                first.append(arr.shape)
            elif arr.shape != first[0]:
                raise DatasetError(
                    f"{where}: mixed sizes: {arr.shape} but example 0 is {first[0]} "
                    "(pass --resolution N, with --transform center-crop for non-square images)"
                )
            return arr

        try:
            yield from batched(map(convert, enumerate(ds.as_numpy_iterator())), batch_size)
        except (
            tf.errors.OpError
        ) as e:  # e.g. prepared images that are not the shape the builder declares
            raise DatasetError(
                f"tfds:{self.name}[{self.split}]: the data prepared in {self.builder.data_dir} "
                f"cannot be read ({first_line(e, with_type=True)}); delete that folder and "
                "prepare it again from correct files"
            ) from None
        if self.label_key:
            self.labels = one_hot(labels, self.num_classes)


def _manual_files(builder):
    """What the builder reads from manual_dir, in one line.

    TFDS's `celeb_a_hq/R` reads `manual_dir/dataRxR.tar`, a tar of R×R PNGs (its config's
    `file_name`); the page its instructions link to now makes TFRecords, not these tars.
    """
    if builder.name == "celeb_a_hq":
        res = builder.builder_config.resolution
        return f"{builder.builder_config.file_name}, one tar of the {res}x{res} PNG images"
    return "the files TFDS says to download yourself: " + " ".join(
        str(builder.MANUAL_DOWNLOAD_INSTRUCTIONS).split()
    )


def _registered_urls(builder, where):
    """How many URLs the builder downloads from (TFDS registers each with its checksum)."""
    try:
        return len(builder.url_infos or {})
    except ModuleNotFoundError as e:
        raise DatasetError(_missing_module(where, e)) from None


def _missing_module(where, e):
    return (
        f"{where}: TFDS needs the Python package {e.name!r} to prepare this dataset (pip install "
        f"{e.name})"
    )


def _check_manual_files(builder, where, manual_dir):
    """The manual files a builder reads, checked before TFDS starts, naming the exact file
    wanted."""
    if not os.path.isdir(manual_dir):
        raise DatasetError(f"{manual_dir}: no such directory (--manual_dir)")
    if builder.name == "celeb_a_hq":
        path = os.path.join(manual_dir, builder.builder_config.file_name)
        if not os.path.isfile(path):
            raise DatasetError(
                f"{path}: not found ({where} reads {_manual_files(builder)}; from a folder of them "
                f"run `tar -cf {path} -C FOLDER .`, or skip TFDS: create_from_images TFRECORD_DIR "
                "FOLDER)"
            )


def _prepare(builder, where, manual_dir, download):
    """Runs the builder's download_and_prepare when the flags allow it, else says what to pass."""
    import tensorflow_datasets as tfds

    manual = bool(builder.MANUAL_DOWNLOAD_INSTRUCTIONS)
    if not download:
        if manual_dir is None:
            need = (
                f"--manual_dir DIR holding {_manual_files(builder)}"
                if manual
                else "--download to let TFDS download and prepare it"
            )
            raise DatasetError(f"{where}: not prepared in {builder.data_dir} (pass {need})")
        if _registered_urls(builder, where):
            raise DatasetError(
                f"{where}: needs downloads besides the files in --manual_dir (pass --download too)"
            )
    if manual_dir is not None:
        _check_manual_files(builder, where, manual_dir)
    config = tfds.download.DownloadConfig(manual_dir=manual_dir, try_download_gcs=download)
    try:
        builder.download_and_prepare(download_config=config)
    except ModuleNotFoundError as e:
        raise DatasetError(_missing_module(where, e)) from None
    except Exception as e:  # noqa: BLE001 - report TFDS's reason in one line
        hint = f"; --manual_dir must hold {_manual_files(builder)}" if manual else ""
        why = first_line(e, with_type=True)
        raise DatasetError(f"{where}: download_and_prepare failed ({why}){hint}") from None


def _pick_feature(features, kind, preferred, where, required):
    if preferred in features and isinstance(features[preferred], kind):
        return preferred
    found = [k for k, v in features.items() if isinstance(v, kind)]
    if found:
        return found[0]
    if required:
        raise DatasetError(
            f"{where}: has no {kind.__name__} feature (features: {', '.join(features)})"
        )
    return None
