"""A dataset's identity: what its files hold, not where they are.

Training checkpoints store it instead of the `tf.data` iterator state (which names the files by
path), so a run resumes exactly after its dataset moved, from another working directory or on
another machine, and notices when the data itself is different.

Per file: its size, its record count and a SHA-256 of its content: the whole file up to
`FULL_HASH_BYTES`, else `SAMPLES` evenly spaced blocks of `SAMPLE_BYTES` (first and last
included), so that a 90 GB 1024² level costs 16 MiB of reading, not 90 GB.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os

from pgan_tf.core.resolution import MIN_RES_LOG2, res_log2
from pgan_tf.data.tfrecord_format import DatasetError, tfrecord_filename

FULL_HASH_BYTES = 16 << 20
SAMPLES = 16
SAMPLE_BYTES = 1 << 20


def file_digest(path: str) -> str:
    """SHA-256 of the file's content (whole, or sampled blocks of a large file), hex."""
    size = os.path.getsize(path)
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        if size <= FULL_HASH_BYTES:
            while block := f.read(1 << 20):
                h.update(block)
        else:
            step = (size - SAMPLE_BYTES) / (SAMPLES - 1)
            for i in range(SAMPLES):
                f.seek(int(round(i * step)))
                h.update(f.read(SAMPLE_BYTES))
    return h.hexdigest()


@dataclasses.dataclass(frozen=True)
class FileIdentity:
    role: str  # "r02" ... for a level (its -rKK), "labels" for the labels file: no name, no path
    size: int
    records: int  # 0 for the labels file
    digest: str


@dataclasses.dataclass(frozen=True)
class DatasetIdentity:
    """What a dataset directory holds; `path` is where it was, for messages only."""

    path: str
    files: tuple[FileIdentity, ...]

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> DatasetIdentity:
        d = json.loads(text)
        return cls(d["path"], tuple(FileIdentity(**f) for f in d["files"]))


def identify(info, labels_path: str | None = None) -> DatasetIdentity:
    """The identity of the dataset `info` (a checked `dataset.DatasetInfo`: every level holds
    `num_images` records): every level file, and the labels file if one is given."""
    parts = [
        (f"r{level:02d}", tfrecord_filename(info.path, level, info.name), info.num_images)
        for level in range(MIN_RES_LOG2, res_log2(info.max_resolution) + 1)
    ]
    if labels_path:
        parts.append(("labels", labels_path, 0))
    try:
        files = tuple(
            FileIdentity(role, os.path.getsize(path), records, file_digest(path))
            for role, path, records in parts
        )
    except OSError as e:
        raise DatasetError(f"{e.filename}: cannot read ({e.strerror})") from None
    return DatasetIdentity(os.path.abspath(info.path), files)


def differences(saved: DatasetIdentity, current: DatasetIdentity) -> list[str]:
    """What differs between two identities, as short phrases (empty: the same data)."""
    before = {f.role: f for f in saved.files}
    now = {f.role: f for f in current.files}
    found = [f"{name} is missing" for name in sorted(before.keys() - now.keys())]
    found += [f"{name} was not there" for name in sorted(now.keys() - before.keys())]
    for name in sorted(before.keys() & now.keys()):
        a, b = before[name], now[name]
        if a.records != b.records:
            found.append(f"{name} holds {b.records} records, was {a.records}")
        elif a.size != b.size:
            found.append(f"{name} is {b.size} bytes, was {a.size}")
        elif a.digest != b.digest:
            found.append(f"{name} has other content")
    return found
