"""The built-in synthetic dataset: deterministic, every power-of-two size, known modes that the
classifier recovers at 16² and 32², and refuses what fits no mode."""

import numpy as np
import pytest

from pgan_tf.data import synthetic


def test_api():
    assert synthetic.NUM_MODES == 12 and len(synthetic.MODE_NAMES) == 12 == len(
        set(synthetic.MODE_NAMES)
    )
    images, modes = synthetic.make_images(10, 32, seed=0)
    assert images.shape == (10, 32, 32, 3) and images.dtype == np.uint8
    assert modes.shape == (10,) and modes.dtype == np.int64
    assert modes.min() >= 0 and modes.max() < 12


@pytest.mark.parametrize("res", [4, 8, 64, 256])
def test_any_power_of_two_resolution(res):
    images, _ = synthetic.make_images(3, res)
    assert images.shape == (3, res, res, 3)
    with pytest.raises(ValueError, match="power of two"):
        synthetic.make_images(1, 24)


def test_deterministic_by_seed_and_the_same_scenes_at_every_resolution():
    a, ma = synthetic.make_images(50, 32, seed=3)
    b, mb = synthetic.make_images(50, 32, seed=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ma, mb)
    c, mc = synthetic.make_images(50, 32, seed=4)
    assert not np.array_equal(a, c)
    # The 64² scenes box-filtered to 32² are the 32² scenes, up to anti-aliasing at the edges.
    big, mbig = synthetic.make_images(50, 64, seed=3)
    np.testing.assert_array_equal(mbig, ma)
    down = big.astype(np.float32).reshape(50, 32, 2, 32, 2, 3).mean((2, 4))
    assert np.abs(down - a).mean() < 1.5


def test_modes_and_continuous_variation():
    images, modes = synthetic.make_images(1200, 16, seed=0)
    counts = np.bincount(modes, minlength=12)
    assert counts.min() > 60  # every mode, roughly evenly
    p = synthetic.sample_params(1200, 0)
    for key in ("cx", "cy", "r", "bg"):
        assert np.std(p[key]) > 0.01 * np.abs(p[key]).mean()
    # Unsaturated grey backgrounds (most of each image), saturated shapes.
    chroma = images.max(-1).astype(int) - images.min(-1)
    assert ((chroma <= 1).mean(axis=(1, 2)) >= 0.4).all()
    assert (chroma.max(axis=(1, 2)) >= 100).all()


@pytest.mark.parametrize("res", [16, 32, 64])
def test_classifier_recovers_the_modes(res):
    images, modes = synthetic.make_images(1000, res, seed=11)
    pred = synthetic.classify(images)
    assert (pred == modes).mean() >= 0.95


def test_classifier_tolerates_mild_noise():
    images, modes = synthetic.make_images(500, 32, seed=2)
    noisy = np.clip(images + np.random.RandomState(0).normal(0, 6, images.shape), 0, 255).astype(
        np.uint8
    )
    assert (synthetic.classify(noisy) == modes).mean() >= 0.9


def test_classifier_refuses_what_fits_no_mode():
    rng = np.random.RandomState(0)
    noise = rng.randint(0, 256, (300, 32, 32, 3)).astype(np.uint8)
    assert (synthetic.classify(noise) == -1).mean() >= 0.95
    assert (
        synthetic.classify(rng.randint(0, 256, (200, 16, 16, 3)).astype(np.uint8)) == -1
    ).mean() >= 0.95
    grey = np.full((20, 32, 32, 3), 128, np.uint8)
    assert (synthetic.classify(grey) == -1).all()
    blocks = rng.randint(0, 256, (200, 4, 4, 3)).astype(np.uint8).repeat(8, 1).repeat(8, 2)
    assert (synthetic.classify(blocks) == -1).mean() >= 0.9
