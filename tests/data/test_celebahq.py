"""CelebA-HQ's image procedure, step by step: hand-computed geometry, each branch's condition, the
NumPy 1.x arithmetic it keeps, and which steps each face of the fake CelebA takes."""

import operator

import numpy as np
import PIL.Image
import pytest
from celebahq_fake import CASES, jpeg_name, write_fake

from pgan_tf.data import celebahq
from pgan_tf.data.tfrecord_format import DatasetError

F32 = np.float32
# An upright face: eyes (10, 20) and (30, 20), mouth corners (12, 40) and (28, 40).
UPRIGHT = ((10, 20), (30, 20), (20, 30), (12, 40), (28, 40))


def test_oriented_quad_by_hand():
    # eye_avg = mouth_avg - (0, 20) = (20.5, 20.5); x = (20, 0) - rot90((0, 20)) = (40, 0), scaled
    # to max(2 * 20, 1.8 * 20) = 40; y = (0, 40); c = eye_avg + 0.1 * (0, 20) = (20.5, 22.5).
    quad, zoom = celebahq.oriented_quad(UPRIGHT)
    want = [[-19.5, -17.5], [-19.5, 62.5], [60.5, 62.5], [60.5, -17.5]]
    assert quad.dtype == np.float32
    np.testing.assert_array_equal(quad, want)
    assert zoom == 1024 / 80 and type(zoom) is float


def test_oriented_quad_zoom_is_float64_as_numpy1():
    # NumPy 1.x: float32 scalar * Python int is float64, so zoom is 1024 / (2 * |x|) in float64
    # (NumPy 2 would give float32, and other borders, blurs and factors).
    quad, zoom = celebahq.oriented_quad(
        [[300, 200], [360, 222], [322, 250], [300, 280], [348, 296]]
    )
    half = (quad[2] - quad[0] + quad[3] - quad[1]) / F32(4)  # = x
    assert type(zoom) is float and zoom == pytest.approx(1024 / (2 * np.hypot(*half)), rel=1e-6)
    assert zoom != float(F32(1024) / (F32(2) * np.hypot(*half.astype(F32))))


def test_shrink_only_below_a_quarter():
    img = PIL.Image.new("RGB", (101, 60))
    quad = np.full((4, 2), 30, F32)
    same = celebahq.shrink(img, quad, 0.3)  # floor(0.5 / 0.3) = 1: no shrink
    assert same[0] is img and same[2] == 0.3
    small, q, zoom = celebahq.shrink(img, quad, 0.16)  # floor(3.125) = 3
    assert small.size == (34, 20) and zoom == pytest.approx(0.48)  # round(101 / 3), round(60 / 3)
    np.testing.assert_array_equal(q, np.full((4, 2), F32(30) / F32(3)))


def test_border_and_crop():
    assert celebahq.border_of(1.0) == 102 and celebahq.border_of(100.0) == 3  # at least 3
    img = PIL.Image.new("RGB", (500, 400))
    quad = np.array([[100.2, 50], [100.2, 250.5], [300, 250.5], [300, 50]], F32)
    cropped, q = celebahq.crop(img, quad, celebahq.border_of(10.24))  # round(102.4 / 10.24) = 10
    assert cropped.size == (310 - 90, 261 - 40)  # floor/ceil of the bounds, then +- border
    np.testing.assert_array_equal(q, quad - F32([90, 40]))
    whole = celebahq.crop(img, np.array([[-5, -5], [-5, 405], [505, 405], [505, -5]], F32), 10)
    assert whole[0] is img  # the box covers the image: no crop


def test_upscale_by_the_next_power_of_two():
    img = PIL.Image.new("RGB", (30, 20))
    quad = np.full((4, 2), 7.5, F32)
    assert celebahq.upscale(img, quad, 1.0)[0] is img and celebahq.upscale(img, quad, 0.3)[0] is img
    big, q, zoom = celebahq.upscale(img, quad, 4.3)  # 2 ** ceil(log2(4.3)) = 8
    assert big.size == (240, 160) and zoom == 4.3 / 8
    np.testing.assert_array_equal(q, quad * 8)


def test_padding_condition_and_amount():
    # border 100; pad at least round(307.2 / 1.024) = 300 on every side once padding.
    inside = np.array([[150, 150], [150, 850], [850, 850], [850, 150]], F32)
    assert celebahq.padding_of((1000, 1000), inside, 1.024, 100) is None
    barely = inside - F32([54, 0])  # left pad 100 - 96 = 4 <= border - 4
    assert celebahq.padding_of((1000, 1000), barely, 1.024, 100) is None
    out = inside - F32([149, 0])  # 100 - 1 = 99 > 96
    assert celebahq.padding_of((1000, 1000), out, 1.024, 100) == (300, 300, 300, 300)
    far = inside + F32([500, 0])  # right: 1350 - 1000 + 100 = 450
    assert celebahq.padding_of((1000, 1000), far, 1.024, 100) == (300, 300, 450, 300)
    # After an upscale the crop's border (here 24) still decides, not border_of(zoom) = 100.
    assert celebahq.padding_of((1000, 1000), inside - F32([140, 0]), 1.024, 24) is None
    assert celebahq.padding_of((1000, 1000), inside - F32([150, 0]), 1.024, 24) is not None


def test_pad_mask_by_hand():
    mask = celebahq.pad_mask(5, 6, (1, 2, 2, 1))  # h 5, w 6; pads left 1, top 2, right 2, bottom 1
    assert mask.shape == (5, 6, 1) and mask.dtype == np.float32
    # 1 - min(x / 1, y / 2, (5 - x) / 2, (4 - y) / 1)
    want = np.array(
        [[1 - min(x / 1, y / 2, (5 - x) / 2, (4 - y) / 1) for x in range(6)] for y in range(5)]
    )
    np.testing.assert_allclose(mask[:, :, 0], want, rtol=0, atol=1e-7)
    assert mask[0, 0, 0] == 1 and mask[2, 2, 0] == 0


def test_float32_scalar_promotes_as_numpy1():
    a, b = celebahq.Float32Scalar(F32(0.1)), celebahq.Float32Scalar(F32(3.3))
    for op in (operator.add, operator.sub, operator.mul, operator.truediv):
        both = op(a, b)
        assert type(both) is celebahq.Float32Scalar and both == float(op(F32(0.1), F32(3.3)))
        with_python = op(a, 0.7)
        assert type(with_python) is float and with_python == op(float(F32(0.1)), 0.7)
        assert op(0.7, a) == op(0.7, float(F32(0.1)))
    assert type(-a) is celebahq.Float32Scalar and -a == -float(F32(0.1))


def test_parse_landmarks():
    text = "2\nlefteye_x ...\n000001.jpg 1 2 3 4 5 6 7 8 9 10\n000002.jpg 0 0 0 0 0 0 0 0 0 1\n"
    names, lm = celebahq.parse_landmarks(text)
    assert names == ["000001.jpg", "000002.jpg"] and lm.shape == (2, 5, 2)
    np.testing.assert_array_equal(lm[0, 4], [9, 10])
    with pytest.raises(DatasetError, match=r"^x.txt: line 3: expected a file name and 10 numbers"):
        celebahq.parse_landmarks("1\nh\n000001.jpg 1 2\n", "x.txt")


# The steps each face of the fake CelebA takes (besides quad_transform).
EXPECTED_STEPS = {
    0: {"crop", "upscale"},
    1: {"crop", "upscale", "reflect_pad"},
    2: {"crop", "upscale"},
    3: {"crop"},
    4: {"shrink", "reflect_pad"},
    5: {"upscale", "reflect_pad"},
    6: {"crop", "upscale", "reflect_pad"},
    7: {"shrink"},
}


def test_the_fake_faces_take_every_branch(tmp_path):
    """The geometry of the fake CelebA's faces (the expensive padding itself is not run: its
    condition is `padding_of`)."""
    celeba, _, _ = write_fake(str(tmp_path))
    for idx, (orig_idx, *_, landmarks) in enumerate(CASES):
        img = PIL.Image.open(f"{celeba}/img_celeba/{jpeg_name(orig_idx)}")
        quad, zoom = celebahq.oriented_quad(np.array(landmarks, F32))
        taken = set()
        shrunk, quad, zoom = celebahq.shrink(img, quad, zoom)
        border = celebahq.border_of(zoom)
        cropped, quad = celebahq.crop(shrunk, quad, border)
        upscaled, quad, zoom = celebahq.upscale(cropped, quad, zoom)
        for name, before, after in (
            ("shrink", img, shrunk),
            ("crop", shrunk, cropped),
            ("upscale", cropped, upscaled),
        ):
            if after is not before:
                taken.add(name)
        if celebahq.padding_of(upscaled.size, quad, zoom, border) is not None:
            taken.add("reflect_pad")
        assert taken == EXPECTED_STEPS[idx], idx
    assert set().union(*EXPECTED_STEPS.values()) == {"shrink", "crop", "upscale", "reflect_pad"}
