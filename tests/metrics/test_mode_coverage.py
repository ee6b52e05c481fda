"""mode_coverage on images whose modes are known."""

import math

import numpy as np
import pytest

from pgan_tf.data import synthetic
from pgan_tf.metrics.mode_coverage import mode_coverage, mode_histogram

K = synthetic.NUM_MODES


def _images_of_modes(modes, res=32, seed=0):
    """Synthetic images, picked so their modes are exactly `modes` (in order)."""
    pool, ids = synthetic.make_images(40 * K, res, seed=seed)
    by_mode = {m: list(np.flatnonzero(ids == m)) for m in range(K)}
    return pool[[by_mode[m].pop() for m in modes]]


def test_uniform_modes():
    out = mode_coverage(_images_of_modes(list(range(K)) * 2))
    assert out["modes_hit"] == K and out["coverage"] == 1.0 and out["unclassified"] == 0.0
    assert out["evenness"] == pytest.approx(1.0) and out["kl_to_uniform"] == pytest.approx(
        0.0, abs=1e-12
    )
    assert out["shape_evenness"] == pytest.approx(1.0) and out["colour_evenness"] == pytest.approx(
        1.0
    )


def test_factor_evenness_sees_a_shape_collapse_that_modes_hit_misses():
    discs = [synthetic.mode_id(0, c) for c in range(4)] * 20
    rare = [synthetic.mode_id(s, c) for s in (1, 2) for c in range(4)]  # one of each other mode
    out = mode_coverage(_images_of_modes(discs + rare))
    assert out["modes_hit"] == K
    assert out["colour_evenness"] == pytest.approx(1.0)
    p = np.array([80, 4, 4]) / 88
    assert out["shape_evenness"] == pytest.approx(-(p * np.log(p)).sum() / math.log(3))
    assert out["shape_evenness"] < 0.35


def test_one_mode_collapse():
    out = mode_coverage(_images_of_modes([5] * 10))
    assert out == pytest.approx(
        {
            "modes_hit": 1,
            "coverage": 1 / K,
            "unclassified": 0.0,
            "evenness": 0.0,
            "kl_to_uniform": math.log(K),
            "shape_evenness": 0.0,
            "colour_evenness": 0.0,
        }
    )


def test_uneven_and_unclassified():
    modes = [0] * 6 + [1] * 2
    noise = np.random.RandomState(0).randint(0, 256, (4, 32, 32, 3)).astype(np.uint8)
    images = np.concatenate([_images_of_modes(modes), noise])
    counts, unclassified = mode_histogram(images)
    assert counts[0] == 6 and counts[1] == 2 and counts.sum() == 8 and unclassified == 4
    p = np.array([0.75, 0.25])
    h = -(p * np.log(p)).sum()
    out = mode_coverage(images)
    assert out["modes_hit"] == 2 and out["coverage"] == pytest.approx(2 / K)
    assert out["unclassified"] == pytest.approx(4 / 12)
    assert out["evenness"] == pytest.approx(h / math.log(K))
    assert out["kl_to_uniform"] == pytest.approx(math.log(K) - h)


def test_nothing_classified():
    out = mode_coverage(np.full((5, 16, 16, 3), 128, np.uint8))
    assert out["modes_hit"] == 0 and out["coverage"] == 0 and out["unclassified"] == 1.0
    assert out["evenness"] == 0.0 and out["kl_to_uniform"] == pytest.approx(math.log(K))
    assert out["shape_evenness"] == 0.0 and out["colour_evenness"] == 0.0
    with pytest.raises(ValueError, match="at least one image"):
        mode_coverage(np.zeros((0, 16, 16, 3), np.uint8))


def test_real_synthetic_data_covers_every_mode_evenly():
    images, _ = synthetic.make_images(2400, 16, seed=1)
    out = mode_coverage(images)
    assert out["modes_hit"] == K and out["unclassified"] < 0.01 and out["evenness"] > 0.99
