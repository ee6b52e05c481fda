"""Sources through the library API: image folders (PNG/JPEG, RGB/gray, transforms, every bad
input), CIFAR-10/100 pickles, CelebA, TFDS, synthetic (MNIST, LSUN, SVHN, HDF5: test_<module>)."""

import io
import os
import pickle

import numpy as np
import PIL.Image
import pytest
from dataset_helpers import (
    assert_dataset_equals,
    leftovers,
    random_images,
    read_level,
    snapshot,
    tfds_order,
    write_celebahq_manual_dir,
    write_folder,
)

from pgan_tf.data import dataset_tool, synthetic
from pgan_tf.data.tfrecord_format import DatasetError, shuffled_order


def _order(n):
    order = np.arange(n)
    np.random.RandomState(123).shuffle(order)
    return order


def _smooth_images(n, res, channels=3, seed=0):
    """Gradients + blobs: JPEG keeps them close, so decode differences would show."""
    rng = np.random.RandomState(seed)
    t = np.linspace(0, 1, res)
    out = []
    for _ in range(n):
        a, b, c = rng.uniform(0, 255, 3)
        img = a * t[None, :, None] + b * t[:, None, None] + c * np.ones((1, 1, channels))
        out.append((img % 256).astype(np.uint8))
    return np.stack(out)


# ---------------------------------------------------------------------------------------------
# Image folders: round trips.


@pytest.mark.parametrize("channels", [3, 1])
def test_png_folder_round_trip_every_level_in_shuffled_order(tmp_path, channels):
    images = random_images(9, 16, channels, seed=channels)
    write_folder(str(tmp_path / "png"), images)
    info = dataset_tool.create_from_images(
        str(tmp_path / "ds"), str(tmp_path / "png"), progress=False
    )
    assert (info.num_images, info.max_resolution, info.num_channels, info.label_size) == (
        9,
        16,
        channels,
        0,
    )
    order = _order(9)
    np.testing.assert_array_equal(order, shuffled_order(9))
    assert_dataset_equals(str(tmp_path / "ds"), images[order])


def test_jpeg_folder_unshuffled_in_sorted_name_order(tmp_path):
    images = _smooth_images(6, 32)
    names = ["b.jpg", "a.jpg", "f.jpeg", "c.JPG", "e.jpg", "d.jpg"]
    paths = write_folder(str(tmp_path / "jpg"), images, names=names)
    decoded = {p: np.asarray(PIL.Image.open(p)) for p in paths}
    want = np.stack([decoded[p] for p in sorted(paths)])
    dataset_tool.create_from_images(
        str(tmp_path / "ds"), str(tmp_path / "jpg"), shuffle=False, progress=False
    )
    assert_dataset_equals(str(tmp_path / "ds"), want)


def test_center_crop_and_resize(tmp_path):
    rng = np.random.RandomState(0)
    src = tmp_path / "imgs"
    src.mkdir()
    sizes = [(40, 24), (24, 40), (30, 30)]  # (w, h): non-square and non-power-of-two
    want = []
    for i, (w, h) in enumerate(sizes):
        arr = rng.randint(0, 256, (h, w, 3)).astype(np.uint8)
        PIL.Image.fromarray(arr).save(src / f"{i}.png")
        s = min(w, h)
        crop = arr[(h - s) // 2 : (h + s) // 2, (w - s) // 2 : (w + s) // 2]
        want.append(np.asarray(PIL.Image.fromarray(crop).resize((16, 16), PIL.Image.LANCZOS)))
    with pytest.raises(
        DatasetError, match=r"0\.png: image is 40x24, not square \(pass --transform center-crop\)"
    ):
        dataset_tool.create_from_images(str(tmp_path / "ds"), str(src), progress=False)
    with pytest.raises(
        DatasetError,
        match=r"0\.png: image is 40x24 and its centre crop 24x24 is not a power of two >= 4 "
        r"\(pass --resolution N",
    ):
        dataset_tool.create_from_images(
            str(tmp_path / "ds"), str(src), transform="center-crop", progress=False
        )
    dataset_tool.create_from_images(
        str(tmp_path / "ds"),
        str(src),
        shuffle=False,
        transform="center-crop",
        resolution=16,
        progress=False,
    )
    assert_dataset_equals(str(tmp_path / "ds"), np.stack(want))


def test_square_non_power_of_two_resized_with_resolution(tmp_path):
    images = random_images(3, 24, 3)
    write_folder(str(tmp_path / "imgs"), images)
    dataset_tool.create_from_images(
        str(tmp_path / "ds"), str(tmp_path / "imgs"), shuffle=False, resolution=8, progress=False
    )
    want = np.stack(
        [np.asarray(PIL.Image.fromarray(im).resize((8, 8), PIL.Image.LANCZOS)) for im in images]
    )
    assert_dataset_equals(str(tmp_path / "ds"), want)


def test_convert_rgb_takes_rgba_cmyk_and_16bit(tmp_path):
    src = tmp_path / "imgs"
    src.mkdir()
    rgba = random_images(1, 8, 4)[0]
    PIL.Image.fromarray(rgba).save(src / "a.png")
    PIL.Image.fromarray(random_images(1, 8, 3, seed=2)[0]).convert("CMYK").save(src / "b.jpg")
    g16 = np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000
    PIL.Image.fromarray(g16).save(src / "c.png")
    dataset_tool.create_from_images(
        str(tmp_path / "ds"), str(src), shuffle=False, convert="rgb", progress=False
    )
    got = read_level(str(tmp_path / "ds"), 8)
    np.testing.assert_array_equal(got[0], rgba[:, :, :3])  # alpha dropped
    np.testing.assert_array_equal(got[2], np.repeat((g16 >> 8).astype(np.uint8)[:, :, None], 3, 2))
    dataset_tool.create_from_images(
        str(tmp_path / "gray"), str(src), shuffle=False, convert="gray", progress=False
    )
    assert read_level(str(tmp_path / "gray"), 8).shape == (3, 8, 8, 1)


# ---------------------------------------------------------------------------------------------
# Image folders: every bad input is refused, naming file and reason, target untouched.


def _rgba(p):
    PIL.Image.fromarray(random_images(1, 8, 4)[0]).save(p)


def _cmyk(p):
    PIL.Image.fromarray(random_images(1, 8, 3)[0]).convert("CMYK").save(p, "JPEG")


def _gray16(p):
    PIL.Image.fromarray(np.arange(64, dtype=np.uint16).reshape(8, 8) * 900).save(p)


def _rgb48(p):
    """A 16-bit-per-channel RGB PNG (Pillow reads these as 8-bit RGB silently)."""
    import struct
    import zlib

    arr = (np.arange(8 * 8 * 3).reshape(8, 8, 3) * 300).astype(">u2")
    raw = b"".join(b"\0" + row.tobytes() for row in arr)

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    with open(p, "wb") as f:
        f.write(
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 16, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b"")
        )


def _truncated_png(p):
    buf = io.BytesIO()
    PIL.Image.fromarray(random_images(1, 8, 3)[0]).save(buf, "PNG")
    with open(p, "wb") as f:
        f.write(buf.getvalue()[: len(buf.getvalue()) // 2])


def _truncated_jpeg(p):
    buf = io.BytesIO()
    PIL.Image.fromarray(_smooth_images(1, 64)[0]).save(buf, "JPEG")
    with open(p, "wb") as f:
        f.write(buf.getvalue()[: len(buf.getvalue()) // 2])


def _garbage(p):
    with open(p, "wb") as f:
        f.write(b"this is not an image at all" * 10)


def _empty_file(p):
    open(p, "wb").close()


def _bigger(p):
    PIL.Image.fromarray(random_images(1, 16, 3)[0]).save(p)


def _gray(p):
    PIL.Image.fromarray(random_images(1, 8, 1)[0][:, :, 0]).save(p)


def _palette(p):
    PIL.Image.fromarray(random_images(1, 8, 3)[0]).convert("P").save(p)


def _broken_link(p):
    os.symlink(p + "-missing-target", p)


def _subdir(p):
    os.mkdir(p)


BAD = [
    ("rgba.png", _rgba, r"has an alpha channel \(RGBA\).*--convert rgb"),
    ("cmyk.jpg", _cmyk, r"is CMYK.*--convert rgb"),
    ("g16.png", _gray16, r"16-bit image \(I;16"),
    ("rgb48.png", _rgb48, r"16-bit image \(RGB\)"),
    ("trunc.png", _truncated_png, r"corrupt or truncated image"),
    ("trunc.jpg", _truncated_jpeg, r"corrupt or truncated image"),
    ("garbage.png", _garbage, r"not an image file"),
    ("empty.png", _empty_file, r"not an image file"),
    ("big.png", _bigger, r"mixed sizes: 16x16 but a\.png is 8x8"),
    ("gray.png", _gray, r"has 1 channel\(s\) \(L\) but a\.png has 3 \(mixed RGB and grayscale"),
    ("pal.png", _palette, r"is a palette image \(P\)"),
    ("link.png", _broken_link, r"cannot read \(No such file or directory\)"),
    ("sub", _subdir, r"is a directory"),
]


@pytest.mark.parametrize("name,make,reason", BAD, ids=[b[0] for b in BAD])
def test_bad_image_is_refused_and_target_untouched(tmp_path, name, make, reason):
    src = tmp_path / "imgs"
    write_folder(str(src), random_images(3, 8, 3), names=["a.png", "b.png", "c.png"])
    make(str(src / name))
    target = tmp_path / "out" / "ds"
    target.mkdir(parents=True)
    (target / "keep.txt").write_text("precious")
    before = snapshot(str(tmp_path / "out"))
    with pytest.raises(DatasetError) as e:
        dataset_tool.create_from_images(str(target), str(src), overwrite=True, progress=False)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(str(src / name) + ": "), msg
    assert __import__("re").search(reason, msg), msg
    assert snapshot(str(tmp_path / "out")) == before
    assert leftovers(str(tmp_path / "out")) == []


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / ".hidden.png").write_bytes(b"")  # not read, as glob('*') skips it
    with pytest.raises(DatasetError, match=r"empty: no input images found \(empty folder\)"):
        dataset_tool.create_from_images(
            str(tmp_path / "ds"), str(tmp_path / "empty"), progress=False
        )
    with pytest.raises(DatasetError, match=r"nope: no such directory"):
        dataset_tool.create_from_images(
            str(tmp_path / "ds"), str(tmp_path / "nope"), progress=False
        )
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatasetError, match=r"file: not a directory"):
        dataset_tool.create_from_images(
            str(tmp_path / "ds"), str(tmp_path / "file"), progress=False
        )
    assert sorted(os.listdir(tmp_path)) == ["empty", "file"]


def test_existing_target_is_refused_before_reading(tmp_path):
    write_folder(str(tmp_path / "imgs"), random_images(2, 8))
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "x").write_text("x")
    with pytest.raises(
        DatasetError, match=r"ds: already exists and is not empty \(pass --overwrite"
    ):
        dataset_tool.create_from_images(
            str(tmp_path / "ds"), str(tmp_path / "imgs"), progress=False
        )
    assert os.listdir(tmp_path / "ds") == ["x"]
    dataset_tool.create_from_images(
        str(tmp_path / "ds"), str(tmp_path / "imgs"), overwrite=True, progress=False
    )
    assert sorted(os.listdir(tmp_path / "ds")) == ["ds-r02.tfrecords", "ds-r03.tfrecords"]


# ---------------------------------------------------------------------------------------------
# CIFAR, CelebA.


def _cifar_batch(n, seed, label_key="labels", classes=10):
    rng = np.random.RandomState(seed)
    data = rng.randint(0, 256, (n, 3072)).astype(np.uint8)
    labels = [int(v) for v in rng.randint(0, classes, n)]
    return {"data": data, label_key: labels, "batch_label": "x"}, data, np.array(labels)


def test_cifar10_pickles_with_labels(tmp_path):
    src = tmp_path / "cifar-10-batches-py"
    src.mkdir()
    images, labels = [], []
    for b in range(1, 6):
        d, x, y = _cifar_batch(3, b)
        with open(src / f"data_batch_{b}", "wb") as f:
            pickle.dump(d, f, protocol=2)
        images.append(x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(y)
    images, labels = np.concatenate(images), np.concatenate(labels)
    info = dataset_tool.create_cifar10(
        str(tmp_path / "ds"), str(tmp_path), progress=False
    )  # finds the subfolder
    assert (info.num_images, info.label_size, info.max_resolution) == (15, 10, 32)
    order = _order(15)
    assert_dataset_equals(
        str(tmp_path / "ds"), images[order], np.eye(10, dtype=np.float32)[labels[order]]
    )
    os.remove(src / "data_batch_4")
    with pytest.raises(DatasetError, match=r"data_batch_4: not found"):
        dataset_tool.create_cifar10(str(tmp_path / "ds2"), str(src), progress=False)
    (src / "data_batch_4").write_bytes(b"junk")
    with pytest.raises(DatasetError, match=r"data_batch_4: not a CIFAR python pickle"):
        dataset_tool.create_cifar10(str(tmp_path / "ds2"), str(src), progress=False)
    assert not (tmp_path / "ds2").exists()


def test_cifar100_fine_labels(tmp_path):
    d, x, y = _cifar_batch(7, 0, "fine_labels", 100)
    with open(tmp_path / "train", "wb") as f:
        pickle.dump(d, f)
    info = dataset_tool.create_cifar100(str(tmp_path / "ds"), str(tmp_path), progress=False)
    assert info.label_size == 100
    order = _order(7)
    assert_dataset_equals(
        str(tmp_path / "ds"),
        x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)[order],
        np.eye(100, dtype=np.float32)[y[order]],
    )


def test_celeba_crop(tmp_path):
    src = tmp_path / "celeba" / "img_align_celeba_png"
    src.mkdir(parents=True)
    rng = np.random.RandomState(1)
    faces = rng.randint(0, 256, (3, 218, 178, 3)).astype(np.uint8)
    for i, f in enumerate(faces):
        PIL.Image.fromarray(f).save(src / f"{i + 1:06d}.png")
    dataset_tool.create_celeba(str(tmp_path / "ds"), str(tmp_path / "celeba"), progress=False)
    crops = faces[:, 121 - 64 : 121 + 64, 89 - 64 : 89 + 64]
    assert_dataset_equals(str(tmp_path / "ds"), crops[_order(3)])
    PIL.Image.fromarray(faces[0][:200]).save(src / "000004.png")
    with pytest.raises(
        DatasetError, match=r"000004\.png: image is 178x200, expected CelebA's aligned 178x218"
    ):
        dataset_tool.create_celeba(str(tmp_path / "ds2"), str(tmp_path / "celeba"), progress=False)


# ---------------------------------------------------------------------------------------------
# Synthetic and TFDS.


def test_create_synthetic_matches_make_images(tmp_path):
    info = dataset_tool.create_synthetic(
        str(tmp_path / "syn"), num_images=50, resolution=16, seed=4, progress=False
    )
    assert (info.num_images, info.max_resolution, info.label_size) == (50, 16, synthetic.NUM_MODES)
    images, modes = synthetic.make_images(50, 16, seed=4)
    order = _order(50)
    assert_dataset_equals(
        str(tmp_path / "syn"),
        images[order],
        np.eye(synthetic.NUM_MODES, dtype=np.float32)[modes[order]],
    )
    with pytest.raises(DatasetError, match="power of two"):
        dataset_tool.create_synthetic(
            str(tmp_path / "x"), num_images=5, resolution=12, progress=False
        )


def _tiny_tfds_builder():
    import tensorflow_datasets as tfds

    class PganTinyShapes(tfds.core.GeneratorBasedBuilder):
        """8 images 8×8 with a 3-class label, made here (nothing is downloaded)."""

        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            return tfds.core.DatasetInfo(
                builder=self,
                features=tfds.features.FeaturesDict(
                    {
                        "image": tfds.features.Image(shape=(8, 8, 3)),
                        "label": tfds.features.ClassLabel(num_classes=3),
                    }
                ),
            )

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples(8), "test": self._generate_examples(2)}

        def _generate_examples(self, n):
            images = random_images(n, 8, 3, seed=n)
            for i in range(n):
                yield i, {"image": images[i], "label": i % 3}

    return PganTinyShapes


def test_create_from_tfds_local_builder(tmp_path):
    builder_cls = _tiny_tfds_builder()
    data_dir = str(tmp_path / "tfds")
    with pytest.raises(DatasetError, match=r"tfds:pgan_tiny_shapes: not prepared in .*--download"):
        dataset_tool.create_from_tfds(
            str(tmp_path / "ds"), "pgan_tiny_shapes", data_dir=data_dir, progress=False
        )
    builder = builder_cls(data_dir=data_dir)
    builder.download_and_prepare()
    # Reference: the examples in TFDS's own order, then the RandomState(123) order.
    import tensorflow_datasets as tfds

    exs = list(tfds.as_numpy(builder.as_dataset(split="train", shuffle_files=False)))
    images = np.stack([e["image"] for e in exs])
    labels = np.array([e["label"] for e in exs])
    info = dataset_tool.create_from_tfds(
        str(tmp_path / "ds"), "pgan_tiny_shapes", "train", data_dir=data_dir, progress=False
    )
    assert (info.num_images, info.max_resolution, info.label_size) == (8, 8, 3)
    order = _order(8)
    assert_dataset_equals(
        str(tmp_path / "ds"), images[order], np.eye(3, dtype=np.float32)[labels[order]]
    )
    dataset_tool.create_from_tfds(
        str(tmp_path / "ds_test"),
        "pgan_tiny_shapes",
        "test",
        data_dir=data_dir,
        shuffle=False,
        resolution=4,
        progress=False,
    )
    assert read_level(str(tmp_path / "ds_test"), 4).shape == (2, 4, 4, 3)
    with pytest.raises(DatasetError, match=r"tfds:no_such_dataset_xyz: unknown"):
        dataset_tool.create_from_tfds(
            str(tmp_path / "ds2"), "no_such_dataset_xyz", data_dir=data_dir, progress=False
        )
    assert leftovers(str(tmp_path)) == []


# TFDS's own celeb_a_hq builder, prepared from a manual dir made here in the layout it reads
# (nothing is downloaded: it registers no URLs, and we only prepare from manual_dir).


def _celebahq(tmp_path, n, res, seed=0):
    return write_celebahq_manual_dir(
        str(tmp_path / "manual"), random_images(n, res, 3, seed), str(tmp_path / "pngs")
    )


def test_create_from_tfds_real_celeb_a_hq_builder_from_manual_dir(tmp_path):
    by_name = _celebahq(tmp_path, 5, 16)
    data_dir = str(tmp_path / "tfds")
    info = dataset_tool.create_from_tfds(
        str(tmp_path / "ds"),
        "celeb_a_hq/16",
        manual_dir=str(tmp_path / "manual"),
        data_dir=data_dir,
        progress=False,
    )
    assert (info.num_images, info.max_resolution, info.num_channels, info.label_size) == (
        5,
        16,
        3,
        0,
    )
    want = tfds_order(data_dir, "celeb_a_hq/16", by_name)
    assert_dataset_equals(str(tmp_path / "ds"), want[_order(5)])
    # Prepared once: a second run reads TFDS's copy and needs no manual_dir.
    dataset_tool.create_from_tfds(
        str(tmp_path / "ds2"), "celeb_a_hq/16", data_dir=data_dir, shuffle=False, progress=False
    )
    assert_dataset_equals(str(tmp_path / "ds2"), want)
    assert leftovers(str(tmp_path)) == []


def test_create_from_tfds_celeb_a_hq_says_what_is_missing(tmp_path):
    _celebahq(tmp_path, 2, 8)
    manual, data_dir = str(tmp_path / "manual"), str(tmp_path / "tfds")

    def create(name, **kw):
        dataset_tool.create_from_tfds(
            str(tmp_path / "ds"), name, data_dir=data_dir, progress=False, **kw
        )

    with pytest.raises(
        DatasetError,
        match=r"^tfds:celeb_a_hq/16: not prepared in .* \(pass --manual_dir DIR holding "
        r"data16x16\.tar, one tar of the 16x16 PNG images\)$",
    ):
        create("celeb_a_hq/16")
    tar = os.path.join(manual, "data16x16.tar")
    with pytest.raises(
        DatasetError,
        match=rf"^{tar}: not found \(tfds:celeb_a_hq/16 reads data16x16\.tar, .*"
        rf"`tar -cf {tar} -C FOLDER \.`, or skip TFDS: create_from_images",
    ):
        create("celeb_a_hq/16", manual_dir=manual)
    with pytest.raises(DatasetError, match=r"nope: no such directory \(--manual_dir\)$"):
        create("celeb_a_hq/8", manual_dir=str(tmp_path / "nope"))
    # 8x8 PNGs under the 16x16 name: TFDS prepares them unchecked; reading them says so.
    os.rename(os.path.join(manual, "data8x8.tar"), tar)
    with pytest.raises(
        DatasetError,
        match=r"^tfds:celeb_a_hq/16\[train\]: the data prepared in .* cannot be read "
        r"\(InvalidArgumentError: .*expected \[16,16,3\] but got \[8,8,3\].*\); "
        r"delete that folder",
    ):
        create("celeb_a_hq/16", manual_dir=manual)
    assert not os.path.exists(tmp_path / "ds") and leftovers(str(tmp_path)) == []


def test_create_from_tfds_manual_dir_does_not_download_for_builders_that_do(tmp_path):
    with pytest.raises(
        DatasetError,
        match=r"^tfds:imagenet2012: needs downloads besides the files in --manual_dir "
        r"\(pass --download too\)$",
    ):
        dataset_tool.create_from_tfds(
            str(tmp_path / "ds"),
            "imagenet2012",
            data_dir=str(tmp_path / "tfds"),
            manual_dir=str(tmp_path),
            progress=False,
        )
