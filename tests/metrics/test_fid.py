"""Tests of the Fréchet distance maths (closed forms) and the Inception feature pipeline,
the latter with small random Keras networks saved to disk (the real Inception cannot be
downloaded here)."""

import os

import keras
import numpy as np
import pytest

from pgan_tf.metrics.fid import (
    GaussianStats,
    InceptionFeatures,
    fid,
    frechet_distance,
    sqrtm_psd,
)


def _random_spd(d, seed):
    a = np.random.default_rng(seed).normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


def test_sqrtm_psd_squares_back():
    s = _random_spd(6, 0)
    r = sqrtm_psd(s)
    np.testing.assert_allclose(r @ r, s, atol=1e-9)
    np.testing.assert_allclose(r, r.T, atol=1e-12)


def test_frechet_distance_diagonal_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    v1, v2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    want = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(want, rel=1e-12)
    assert frechet_distance(3.0, [[4.0]], 1.0, [[1.0]]) == pytest.approx(4.0 + 1.0)


def test_frechet_distance_general_covariances():
    s1, s2 = _random_spd(5, 1), _random_spd(5, 2)
    mu1, mu2 = np.arange(5.0), np.ones(5)
    # Independent route: the eigenvalues of S1·S2 are real, non-negative; tr sqrt = Σ √λ.
    lam = np.linalg.eigvals(s1 @ s2).real
    want = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.sum(np.sqrt(lam))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(want, rel=1e-9)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_shape_error():
    with pytest.raises(ValueError, match="shapes do not match"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))


def test_gaussian_stats_streaming_matches_numpy():
    x = np.random.default_rng(0).normal(size=(50, 4)) * [1, 2, 3, 4] + 7
    s = GaussianStats()
    for chunk in (x[:13], x[13:40], x[40:]):
        s.add(chunk)
    mu, cov = s.mean_cov()
    np.testing.assert_allclose(mu, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(cov, np.cov(x, rowvar=False), rtol=1e-9)


# ---------------------------------------------------------------- feature pipeline
def _tiny_net(softmax=True, size=32, classes=10, two_outputs=False):
    keras.utils.set_random_seed(0)
    inp = keras.Input((size, size, 3), name="images")
    h = keras.layers.Conv2D(16, 3, strides=2, activation="relu", name="conv")(inp)
    pool = keras.layers.GlobalAveragePooling2D(name="avg_pool")(h)
    out = keras.layers.Dense(
        classes, activation="softmax" if softmax else None, name="predictions"
    )(pool)
    return keras.Model(inp, [pool, out] if two_outputs else out)


def _images(n, size, channels=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, channels), np.uint8)


def test_missing_weights_errors_name_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match="need Inception-v3 weights.*--inception_path=PATH"):
        InceptionFeatures(None)
    missing = str(tmp_path / "nope.keras")
    with pytest.raises(FileNotFoundError, match="not found: .*nope.keras"):
        InceptionFeatures(missing)
    with pytest.raises(FileNotFoundError, match="without saved_model.pb"):
        InceptionFeatures(str(tmp_path))
    with pytest.raises(ValueError, match="need Inception-v3 weights"):
        fid(_images(2, 8), _images(2, 8), None)


@pytest.mark.parametrize("ext", ["keras", "h5"])
def test_keras_model_features_and_probs(tmp_path, ext):
    model = _tiny_net()
    path = str(tmp_path / f"net.{ext}")
    model.save(path)
    extractor = InceptionFeatures(path, batch_size=3)
    x = _images(7, 32)
    feats, probs = extractor(x)
    scaled = x.astype(np.float32) / 127.5 - 1.0  # same size: resizing is the identity
    pool = keras.Model(model.input, model.get_layer("avg_pool").output)
    np.testing.assert_allclose(feats, pool(scaled).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probs, model(scaled).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    small_gray = extractor(_images(2, 16, channels=1))
    assert small_gray[0].shape == (2, 16) and small_gray[1].shape == (2, 10)


def test_wrong_layer_names_are_reported(tmp_path):
    path = str(tmp_path / "net.keras")
    _tiny_net().save(path)
    with pytest.raises(ValueError, match="no layer.*'mixed10'"):
        InceptionFeatures(path, feature_layer="mixed10")


def test_saved_model_with_logits_outputs(tmp_path):
    model = _tiny_net(softmax=False, two_outputs=True)
    path = str(tmp_path / "sm")
    model.export(path, verbose=False)
    feats, probs = InceptionFeatures(path)(_images(5, 32))
    pool, logits = model(_images(5, 32).astype(np.float32) / 127.5 - 1.0)
    e = np.exp(logits.numpy() - logits.numpy().max(axis=1, keepdims=True))
    np.testing.assert_allclose(feats, pool.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probs, e / e.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-6)


def test_fid_end_to_end(tmp_path):
    path = str(tmp_path / "net.keras")
    _tiny_net().save(path)
    extractor = InceptionFeatures(path)
    x = _images(40, 32, seed=0)
    assert fid(x, [x[:17], x[17:]], extractor) == pytest.approx(0.0, abs=1e-6)
    dark = (x // 4).astype(np.uint8)
    assert fid(x, dark, extractor) > fid(x, _images(40, 32, seed=1), extractor) > 0


@pytest.mark.slow
def test_inception_v3_weights_file(tmp_path):
    """A weights-only file for keras.applications.InceptionV3 loads and yields 2048-d pools."""
    net = keras.applications.InceptionV3(weights=None)
    path = str(tmp_path / "inception.weights.h5")
    net.save_weights(path)
    feats, probs = InceptionFeatures(path, batch_size=2)(_images(2, 32))
    assert feats.shape == (2, 2048) and probs.shape == (2, 1000)
    assert os.path.getsize(path) > 50e6
