"""Test-only generator of a small fake CelebA + CelebA-HQ delta set, deterministic, in the layout
the original `dataset_tool.py create_celebahq` reads (so its tool runs on it too):
`<celeba>/img_celeba/NNNNNN.jpg`, `<celeba>/Anno/list_landmarks_celeba.txt`,
`<deltas>/image_list.txt` (idx orig_idx orig_file proc_md5 final_md5) and
`<deltas>/deltas00000.zip` holding `deltaNNNNN.dat` (Fernet token of bz2 of uint8 [3, 1024, 1024];
key = PBKDF2-HMAC-SHA256 of the JPEG bytes, salt = its file name, 100,000 iterations).

The faces are placed so that each branch of the procedure runs: shrink (faces more than 1024
pixels between the eyes), padding (faces at an image border, or larger than the image), upscale
(small faces), and neither. Pixels are sinusoids plus a bright face disc, made in NumPy; the JPEG
bytes depend on Pillow's encoder (the fixture records their sha256). The deltas are a fixed
pattern, not "HQ - processed", so the records depend on the procedure (final = processed +
delta, mod 256).
"""

import base64
import bz2
import hashlib
import os
import zipfile

import numpy as np

# (orig_idx, width, height, landmarks: left eye, right eye, nose, left mouth, right mouth); the
# comment names the steps each takes besides the crop, which all but 5 and 7 take.
CASES = (
    # upscale
    (0, 500, 400, ((220, 180), (280, 180), (250, 215), (228, 245), (272, 245))),
    # upscale, pad (top left)
    (1, 300, 350, ((40, 50), (100, 48), (70, 85), (48, 112), (95, 110))),
    # upscale (a tilted face)
    (2, 640, 480, ((300, 200), (360, 222), (322, 250), (300, 280), (348, 296))),
    # neither shrink nor upscale nor pad
    (3, 1600, 1600, ((650, 700), (950, 700), (800, 850), (680, 1000), (920, 1000))),
    # shrink, pad (all sides)
    (4, 3000, 3000, ((950, 1400), (2050, 1400), (1500, 1900), (1050, 2500), (1950, 2500))),
    # no crop (the image is smaller than the face's square); upscale, pad
    (5, 120, 140, ((40, 60), (80, 60), (60, 80), (44, 104), (76, 104))),
    # upscale, pad (right and bottom)
    (6, 420, 300, ((330, 210), (390, 212), (360, 240), (335, 270), (385, 271))),
    # shrink; no crop
    (7, 4200, 4200, ((1585, 2000), (2615, 2000), (2100, 2500), (1685, 3030), (2515, 3030))),
)
KDF_ITERATIONS = 100_000
DELTA_SHAPE = (3, 1024, 1024)


def jpeg_name(orig_idx):
    return f"{orig_idx + 1:06d}.jpg"


def photo(orig_idx, width, height, landmarks):
    """uint8 [h, w, 3]: triangle waves (per image) and a bright disc around the face, in integer
    and correctly rounded arithmetic only, so the pixels are the same on every machine."""
    rng = np.random.RandomState(orig_idx)
    steps = rng.randint(1, 9, size=(3, 2))
    y, x = np.ogrid[:height, :width]
    lm = np.asarray(landmarks, np.int64)
    cx, cy = int(lm[:, 0].sum() // 5), int(lm[:, 1].sum() // 5)
    r2 = 2 * int(((lm[1] - lm[0]) ** 2).sum())
    inside = ((x - cx) ** 2).astype(np.int32) + ((y - cy) ** 2).astype(np.int32) < r2
    img = np.empty((height, width, 3), np.uint8)
    for c, skin in enumerate((230, 180, 150)):
        saw = ((x * steps[c, 0]) % 256).astype(np.uint8) + (
            (y * steps[c, 1] + 97 * c) % 256
        ).astype(np.uint8)  # uint8: wraps mod 256
        img[:, :, c] = np.where(inside, np.uint8(skin), np.minimum(saw, 255 - saw) + np.uint8(40))
    return img


def delta_pattern(idx):
    """The fake delta of image idx: a periodic uint8 pattern around 0 (mod 256)."""
    c, y, x = np.ogrid[: DELTA_SHAPE[0], : DELTA_SHAPE[1], : DELTA_SHAPE[2]]
    return ((x // 64 * 3 + y // 64 + c + idx) % 5 + 254).astype(np.uint8)  # -2..2 mod 256


def fernet_key(jpeg_bytes, jpeg_file):
    raw = hashlib.pbkdf2_hmac("sha256", jpeg_bytes, jpeg_file.encode("ascii"), KDF_ITERATIONS, 32)
    return base64.urlsafe_b64encode(raw)


def fernet_token(key, data, iv, timestamp=0):
    """A Fernet token (version 0x80, timestamp, IV, AES-128-CBC PKCS7, HMAC-SHA256), made with
    a given IV and time so that the bytes are reproducible (Fernet.encrypt draws both)."""
    from cryptography.hazmat.primitives import hashes, hmac, padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    raw = base64.urlsafe_b64decode(key)
    signing, encryption = raw[:16], raw[16:]
    padder = padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    enc = Cipher(algorithms.AES(encryption), modes.CBC(iv)).encryptor()
    body = b"\x80" + timestamp.to_bytes(8, "big") + iv + enc.update(padded) + enc.finalize()
    mac = hmac.HMAC(signing, hashes.SHA256())
    mac.update(body)
    return base64.urlsafe_b64encode(body + mac.finalize())


def encrypted_delta(delta, jpeg_bytes, jpeg_file):
    """What the zips hold for one image: Fernet(key of the JPEG)(bz2(delta CHW bytes))."""
    iv = hashlib.sha256(jpeg_file.encode("ascii")).digest()[:16]
    data = bz2.compress(np.ascontiguousarray(delta, np.uint8).tobytes(), 1)
    return fernet_token(fernet_key(jpeg_bytes, jpeg_file), data, iv)


def write_landmarks(path, cases):
    rows = [
        f"{len(cases)}",
        "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y "
        "leftmouth_x leftmouth_y rightmouth_x rightmouth_y",
    ]
    for orig_idx, _, _, lm in cases:
        rows.append(jpeg_name(orig_idx) + " " + " ".join(f"{v:4d}" for p in lm for v in p))
    with open(path, "w") as f:
        f.write("\n".join(rows) + "\n")


def write_zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in members:
            z.writestr(zipfile.ZipInfo(name, date_time=(2018, 1, 1, 0, 0, 0)), data)


def write_fake(root, md5s=None, present=None, cases=CASES):
    """Writes `<root>/celeba` and `<root>/deltas`; image idx = position in `cases`.

    md5s: {idx: (proc_md5, final_md5)} for image_list.txt (default: placeholders, 32 zeros).
    present: the idx whose JPEG and delta are written (default: all); image_list.txt and the
    landmarks always list every case. Returns (celeba_dir, delta_dir, {jpeg file: sha256})."""
    import PIL.Image

    celeba, deltas = os.path.join(root, "celeba"), os.path.join(root, "deltas")
    os.makedirs(os.path.join(celeba, "img_celeba"))
    os.makedirs(os.path.join(celeba, "Anno"))
    os.makedirs(deltas)
    write_landmarks(os.path.join(celeba, "Anno", "list_landmarks_celeba.txt"), cases)
    rows, members, jpeg_sha = ["idx orig_idx orig_file proc_md5 final_md5"], [], {}
    for idx, (orig_idx, w, h, lm) in enumerate(cases):
        name = jpeg_name(orig_idx)
        proc, final = (md5s or {}).get(idx, ("0" * 32, "0" * 32))
        rows.append(f"{idx} {orig_idx} {name} {proc} {final}")
        if present is not None and idx not in present:
            continue
        path = os.path.join(celeba, "img_celeba", name)
        PIL.Image.fromarray(photo(orig_idx, w, h, lm)).save(path, quality=90)
        with open(path, "rb") as f:
            jpeg = f.read()
        jpeg_sha[name] = hashlib.sha256(jpeg).hexdigest()
        members.append((f"delta{idx:05d}.dat", encrypted_delta(delta_pattern(idx), jpeg, name)))
    with open(os.path.join(deltas, "image_list.txt"), "w") as f:
        f.write("\n".join(rows) + "\n")
    write_zip(os.path.join(deltas, "deltas00000.zip"), members)
    return celeba, deltas, jpeg_sha
