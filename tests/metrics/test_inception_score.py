"""Tests of the Inception Score against closed forms and with a small random network."""

import keras
import numpy as np
import pytest

from pgan_tf.metrics.fid import InceptionFeatures
from pgan_tf.metrics.inception_score import inception_score, inception_score_from_probs


def test_uniform_predictions_score_one():
    mean, std = inception_score_from_probs(np.full((100, 7), 1 / 7), splits=10)
    assert mean == pytest.approx(1.0) and std == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("k", [2, 5, 10])
def test_confident_even_predictions_score_k(k):
    probs = np.eye(k)[np.arange(10 * k) % k]  # every split holds each class equally often
    mean, std = inception_score_from_probs(probs, splits=10)
    assert mean == pytest.approx(k) and std == pytest.approx(0.0, abs=1e-9)


def test_two_class_soft_predictions_closed_form():
    a = 0.8
    probs = np.array([[a, 1 - a], [1 - a, a]] * 50)
    want = np.exp(a * np.log(2 * a) + (1 - a) * np.log(2 * (1 - a)))
    assert inception_score_from_probs(probs, splits=5)[0] == pytest.approx(want)


def test_splits_see_different_class_spreads():
    # first half predicts class 0 only (IS 1), second half two classes evenly (IS 2)
    probs = np.concatenate([np.eye(2)[np.zeros(10, int)], np.eye(2)[np.arange(10) % 2]])
    mean, std = inception_score_from_probs(probs, splits=2)
    assert mean == pytest.approx(1.5) and std == pytest.approx(0.5)


def test_bad_probabilities_raise():
    with pytest.raises(ValueError, match="N >= splits"):
        inception_score_from_probs(np.full((5, 3), 1 / 3), splits=10)
    with pytest.raises(ValueError, match="sum to 1"):
        inception_score_from_probs(np.ones((20, 3)), splits=2)


def test_end_to_end_with_small_network(tmp_path):
    keras.utils.set_random_seed(0)
    inp = keras.Input((16, 16, 3))
    h = keras.layers.GlobalAveragePooling2D(name="avg_pool")(keras.layers.Conv2D(8, 3)(inp))
    out = keras.layers.Dense(6, activation="softmax", name="predictions")(h)
    path = str(tmp_path / "net.keras")
    keras.Model(inp, out).save(path)
    images = np.random.default_rng(0).integers(0, 256, (40, 16, 16, 3), np.uint8)
    extractor = InceptionFeatures(path)
    mean, std = inception_score([images[:25], images[25:]], extractor, splits=4)
    want = inception_score_from_probs(extractor(images)[1], splits=4)
    assert (mean, std) == pytest.approx(want)
    assert 1.0 <= mean <= 6.0
    with pytest.raises(ValueError, match="need Inception-v3 weights"):
        inception_score(images, None)
