"""The LSUN source: one category's LMDB (keys → encoded JPEG/WebP images), read in key order.

As the original tool, every image is center-cropped to its square and resized (Lanczos) to the
output resolution, records stay in key order (not shuffled), and a record that cannot be decoded
is skipped (LSUN has some): here each skipped record is named by its key, and counted.
"""

import io
import os

from pgan_tf.data import decoding
from pgan_tf.data.decoding import Transform
from pgan_tf.data.extras import import_extra
from pgan_tf.data.sources import batched, ordered_map
from pgan_tf.data.tfrecord_format import DatasetError


class LSUN:
    """Sequential source of the first `max_images` decodable records (all by default).

    `num_images` is an upper bound until `iterate` has run, then the number of images it gave.
    `skipped` lists one line `<lmdb_dir>: key <key>: <reason>` per undecodable record, and
    `on_skip(line)` is called with each as it is met. No decodable record at all is an error.
    """

    random_access = False
    labels = None

    def __init__(self, lmdb_dir, resolution=256, max_images=None, on_skip=None):
        lmdb = import_extra("lmdb", "lsun", f"{lmdb_dir}: reading LSUN")
        if not os.path.exists(lmdb_dir):
            raise DatasetError(f"{lmdb_dir}: no such file or directory")
        try:
            self.env = lmdb.open(
                lmdb_dir, readonly=True, lock=False, readahead=False, max_readers=64
            )
        except lmdb.Error as e:
            raise DatasetError(f"{lmdb_dir}: not an LMDB database ({e})") from None
        self.lmdb_dir = lmdb_dir
        self.transform = Transform("center-crop", resolution, "rgb")
        self.entries = self.env.stat()["entries"]
        self.num_images = self.entries if max_images is None else min(self.entries, max_images)
        if not self.num_images:
            raise DatasetError(f"{lmdb_dir}: no images (empty database)")
        self.on_skip = on_skip
        self.skipped = []

    def check(self):
        pass  # the values are only known by decoding them; `iterate` checks each

    def _decode(self, item):
        """(uint8 HWC image, None), or (None, the line naming the record and why it is bad)."""
        key, value = item
        where = f"{self.lmdb_dir}: key {key.decode('utf-8', 'replace')}"
        try:
            return decoding.decode(io.BytesIO(value), where, self.transform), None
        except DatasetError as e:
            return None, str(e)

    def _items(self):
        with self.env.begin(write=False) as txn:
            for key, value in txn.cursor():
                yield bytes(key), bytes(value)

    def _images(self):
        wanted, given = self.num_images, 0
        for image, problem in ordered_map(self._decode, self._items()):
            if problem is not None:
                self.skipped.append(problem)
                if self.on_skip is not None:
                    self.on_skip(problem)
                continue
            yield image
            given += 1
            if given == wanted:
                break
        if not given:
            first = self.skipped[0].removeprefix(f"{self.lmdb_dir}: ")
            raise DatasetError(
                f"{self.lmdb_dir}: none of its {len(self.skipped)} record(s) could be decoded "
                f"(the first: {first})"
            )
        self.num_images = given

    def iterate(self, batch_size=64):
        return batched(self._images(), batch_size)
