"""The inputs of `create_celebahq`, found, checked and turned into images: CelebA's in-the-wild
JPEGs (`<celeba>/img_celeba/*.jpg`) and landmarks (`<celeba>/Anno/list_landmarks_celeba.txt`),
and the published CelebA-HQ delta set (`<deltas>/image_list.txt`, `<deltas>/deltasNNNNN.zip`).

As the original `dataset_tool.py` reads them: `image_list.txt` has a header line and one row per
CelebA-HQ image, `idx orig_idx orig_file proc_md5 final_md5`; `orig_idx` is the row of the
landmark file, `orig_file` the JPEG. The delta of image `idx` is member `delta<idx:05d>.dat` of
`deltas<idx rounded down to 1000:05d>.zip`: a Fernet token whose key is PBKDF2-HMAC-SHA256 of the
JPEG's bytes (salt: its file name, 100,000 iterations), holding bz2 of uint8 [3, 1024, 1024]. The
image is the procedure's output (`celebahq.process`, md5 = proc_md5) plus the delta, mod 256
(md5 = final_md5).
"""

import base64
import bz2
import dataclasses
import hashlib
import importlib.util
import io
import os
import zipfile

import numpy as np

from pgan_tf.data import celebahq, decoding
from pgan_tf.data.tfrecord_format import DatasetError

EXPECTED_JPEGS = 202_599
EXPECTED_ZIPS = 30
EXPECTED_ROWS = 30_000
KDF_ITERATIONS = 100_000
DELTA_SHAPE = (3, celebahq.OUT_SIZE, celebahq.OUT_SIZE)
IMAGE_LIST_FIELDS = ("idx", "orig_idx", "orig_file", "proc_md5", "final_md5")
EXTRA = "pip install 'pgan_tf[celebahq]'"
PARTIAL_HINT = "pass --partial to build from the rows of image_list.txt whose files are present"


def require_packages():
    """The procedure needs scipy (the padding's blur) and cryptography (Fernet)."""
    missing = [m for m in ("scipy", "cryptography") if importlib.util.find_spec(m) is None]
    if missing:
        raise DatasetError(f"create_celebahq: needs {' and '.join(missing)} ({EXTRA})")


@dataclasses.dataclass(frozen=True)
class Row:
    """One row of image_list.txt."""

    idx: int
    orig_idx: int
    orig_file: str
    proc_md5: str
    final_md5: str

    @property
    def zip_name(self):
        return f"deltas{self.idx - self.idx % 1000:05d}.zip"

    @property
    def member_name(self):
        return f"delta{self.idx:05d}.dat"


def parse_image_list(text, where="image_list.txt"):
    """The rows of image_list.txt (columns found by the header's names, as the original)."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines or any(f not in lines[0] for f in IMAGE_LIST_FIELDS):
        raise DatasetError(
            f"{where}: the header must name the columns {' '.join(IMAGE_LIST_FIELDS)}"
        )
    column = {f: lines[0].index(f) for f in IMAGE_LIST_FIELDS}
    rows = []
    for number, parts in enumerate(lines[1:], start=2):
        try:
            values = {f: parts[column[f]] for f in IMAGE_LIST_FIELDS}
            rows.append(
                Row(**{**values, "idx": int(values["idx"]), "orig_idx": int(values["orig_idx"])})
            )
        except (IndexError, ValueError):
            raise DatasetError(
                f"{where}: line {number}: not a row of {IMAGE_LIST_FIELDS}"
            ) from None
    return rows


def fernet_key(jpeg_bytes, jpeg_file):
    """The delta's key: urlsafe base64 of PBKDF2-HMAC-SHA256(JPEG bytes, salt = file name)."""
    raw = hashlib.pbkdf2_hmac("sha256", jpeg_bytes, jpeg_file.encode("ascii"), KDF_ITERATIONS, 32)
    return base64.urlsafe_b64encode(raw)


def decrypt_delta(token, jpeg_bytes, jpeg_file, where, jpeg_path=None):
    """uint8 [3, 1024, 1024] of one delta token; one DatasetError line naming `where` if the key
    of this JPEG does not open it (not this image's delta, or the JPEG is not the original)."""
    import cryptography.fernet

    try:
        data = cryptography.fernet.Fernet(fernet_key(jpeg_bytes, jpeg_file)).decrypt(token)
    except cryptography.fernet.InvalidToken:
        raise DatasetError(
            f"{where}: does not decrypt with the key of {jpeg_path or jpeg_file} (a different or "
            "altered JPEG, "
            "or not this image's delta)"
        ) from None
    try:
        delta = np.frombuffer(bz2.decompress(data), dtype=np.uint8)
        return delta.reshape(DELTA_SHAPE)
    except (OSError, ValueError) as e:
        raise DatasetError(
            f"{where}: decrypted, but not a bz2 [3, 1024, 1024] delta ({e})"
        ) from None


def md5_hex(chw):
    return hashlib.md5(np.ascontiguousarray(chw).tobytes()).hexdigest()


@dataclasses.dataclass(frozen=True)
class HQImage:
    """One CelebA-HQ image (uint8 CHW) and whether its md5s are those of image_list.txt."""

    pixels: np.ndarray
    proc_ok: bool
    final_ok: bool


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise DatasetError(f"{path}: cannot read ({e.strerror})") from None


class Inputs:
    """CelebA + the delta set, checked as the original checks them: 202,599 JPEGs, 30 zips and
    30,000 rows (unless partial: the rows whose JPEG and delta are present), and a landmark row
    for every image used. `rows` are the images to build, in image_list.txt's order."""

    def __init__(self, celeba_dir, delta_dir, partial=False):
        self.image_dir = os.path.join(celeba_dir, "img_celeba")
        self.delta_dir = delta_dir
        for d in (celeba_dir, self.image_dir, delta_dir):
            if not os.path.isdir(d):
                raise DatasetError(f"{d}: no such directory")
        landmarks = os.path.join(celeba_dir, "Anno", "list_landmarks_celeba.txt")
        image_list = os.path.join(delta_dir, "image_list.txt")
        names, self.landmarks = celebahq.parse_landmarks(_read(landmarks).decode(), landmarks)
        rows = parse_image_list(_read(image_list).decode(), image_list)
        jpegs = {e.name for e in os.scandir(self.image_dir) if e.name.endswith(".jpg")}
        zips = sorted(
            n for n in os.listdir(delta_dir) if n.startswith("delta") and n.endswith(".zip")
        )
        if not partial:
            for what, n, want, where in (
                ("JPEGs", len(jpegs), EXPECTED_JPEGS, self.image_dir),
                ("delta*.zip files", len(zips), EXPECTED_ZIPS, delta_dir),
                ("rows", len(rows), EXPECTED_ROWS, image_list),
            ):
                if n != want:
                    raise DatasetError(
                        f"{where}: holds {n} {what}, expected {want}; {PARTIAL_HINT}"
                    )
        members = {z: set(self._namelist(z)) for z in zips}
        self.rows = []
        for row in rows:
            where = os.path.join(delta_dir, row.zip_name)
            present = row.orig_file in jpegs and row.member_name in members.get(row.zip_name, ())
            if not present and partial:
                continue
            if row.orig_file not in jpegs:
                raise DatasetError(f"{os.path.join(self.image_dir, row.orig_file)}: missing")
            if not present:
                raise DatasetError(f"{where}: has no {row.member_name} (image {row.idx})")
            if row.orig_idx >= len(names) or names[row.orig_idx] != row.orig_file:
                raise DatasetError(
                    f"{landmarks}: row {row.orig_idx} is not {row.orig_file} (image {row.idx})"
                )
            self.rows.append(row)
        if not self.rows:
            raise DatasetError(f"{image_list}: none of its images has both its JPEG and its delta")

    def _namelist(self, zip_name):
        path = os.path.join(self.delta_dir, zip_name)
        try:
            with zipfile.ZipFile(path) as z:
                return z.namelist()
        except (OSError, zipfile.BadZipFile) as e:
            raise DatasetError(f"{path}: not a readable zip ({e})") from None

    def delta_token(self, row):
        path = os.path.join(self.delta_dir, row.zip_name)
        try:
            with zipfile.ZipFile(path) as z:
                return z.read(row.member_name)
        except (OSError, zipfile.BadZipFile, KeyError) as e:
            raise DatasetError(f"{path}: cannot read {row.member_name} ({e})") from None

    def image(self, row, strict=False):
        """The CelebA-HQ image of one row (HQImage); with strict, a DatasetError on the first md5
        that is not image_list.txt's."""
        import PIL.Image

        jpeg_path = os.path.join(self.image_dir, row.orig_file)
        jpeg = _read(jpeg_path)
        with decoding.decoding_errors(jpeg_path), PIL.Image.open(io.BytesIO(jpeg)) as img:
            if img.mode != "RGB":
                raise DatasetError(f"{jpeg_path}: image is {img.mode}, CelebA's photos are RGB")
            proc = celebahq.process(img, self.landmarks[row.orig_idx])
        proc_ok = md5_hex(proc) == row.proc_md5
        _check(strict, proc_ok, jpeg_path, row, "proc_md5", proc)
        where = f"{os.path.join(self.delta_dir, row.zip_name)}: {row.member_name} (image {row.idx})"
        delta = decrypt_delta(self.delta_token(row), jpeg, row.orig_file, where, jpeg_path)
        final = proc + delta  # uint8: mod 256, as the original
        final_ok = md5_hex(final) == row.final_md5
        _check(strict, final_ok, jpeg_path, row, "final_md5", final)
        return HQImage(final, proc_ok, final_ok)


def _check(strict, ok, jpeg_path, row, field, pixels):
    if strict and not ok:
        raise DatasetError(
            f"{jpeg_path}: image {row.idx}: md5 {md5_hex(pixels)} is not image_list.txt's "
            f"{field} {getattr(row, field)} (--strict)"
        )


def md5_manifest(rows, checks):
    """(text, summary) of `<name>-md5.txt`: the summary line, a header, then per image in
    image_list.txt's order `idx orig_file record proc_md5 final_md5` with `ok` or `differs`;
    checks = {row position: (record number, proc_ok, final_ok)}."""
    proc = sum(checks[i][1] for i in range(len(rows)))
    final = sum(checks[i][2] for i in range(len(rows)))
    summary = (
        f"md5 check: {len(rows)} images; proc_md5 matched {proc}, final_md5 matched {final}"
        + (
            ""
            if proc == final == len(rows)
            else " (expected with a Pillow other than 3.1.1 or a libjpeg other than 8d)"
        )
    )
    lines = [f"# {summary}", "idx\torig_file\trecord\tproc_md5\tfinal_md5"]
    word = {True: "ok", False: "differs"}
    for i, row in enumerate(rows):
        record, proc_ok, final_ok = checks[i]
        lines.append(f"{row.idx}\t{row.orig_file}\t{record}\t{word[proc_ok]}\t{word[final_ok]}")
    return "\n".join(lines) + "\n", summary
