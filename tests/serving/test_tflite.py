"""pgan_tf.serving.tflite: TFLite models of an exported generator, checked with the interpreter."""

import os

import numpy as np
import pytest
from export_helpers import TINY_COND, keras_uint8, tiny_generator

from pgan_tf.model import networks
from pgan_tf.serving import export, tflite


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("lite")
    g = tiny_generator(resolution=16)
    return g, export.export_generator(g, str(root / "exp"), "pgan", warmup=False).path, root


def _fp16_rounded(g):
    """A copy of g whose weights are rounded to float16 (what the float16 variant stores)."""
    copy = tiny_generator(resolution=16)
    for w, src in zip(copy.weights, g.weights):
        w.assign(src.numpy().astype(np.float16).astype(np.float32))
    return copy


def test_float32_matches_and_float16_is_written_only_when_it_does(saved_model):
    g, path, root = saved_model
    results = tflite.export_tflite(path, str(root / "pgan-1"), timing_runs=2)
    assert [r.variant for r in results] == ["float32", "float16"]
    f32, f16 = results
    assert f32.path.endswith("pgan-1.tflite") and f16.path.endswith("pgan-1-fp16.tflite")
    assert f32.max_abs_diff <= 1 and f32.seconds_per_image > 0 and not f32.refused
    assert f32.differing_fraction <= export.MAX_DIFFERING_FRACTION
    runner = tflite.Runner(open(f32.path, "rb").read())
    z = np.random.RandomState(5).randn(3, 16).astype(np.float32)
    got = runner({"latents": z})
    assert got.dtype == np.uint8 and got.shape == (3, 16, 16, 3)
    assert np.abs(got.astype(int) - keras_uint8(g, z)).max() <= 1
    # this random 4-channel generator is ill-conditioned: float16 weights move it 2+ levels, in
    # Keras as in TFLite, so the float16 file is refused, not written
    z4 = np.random.RandomState(0).randn(4, 16).astype(np.float32)
    keras_fp16 = np.abs(keras_uint8(_fp16_rounded(g), z4).astype(int) - keras_uint8(g, z4))
    assert keras_fp16.max() > 1 and f16.max_abs_diff > 1
    assert "up to" in f16.refused and not os.path.exists(f16.path)


def test_float16_weights_halve_the_file(tmp_path):
    """A generator of more channels, well conditioned: float16 kept, within one level."""
    config = networks.NetworkConfig(fmap_base=256, fmap_max=64, latent_size=16)
    g = tiny_generator(config, resolution=8)
    path = export.export_generator(g, str(tmp_path / "exp"), "w", warmup=False).path
    f32, f16 = tflite.export_tflite(path, str(tmp_path / "w-1"), timing_runs=0, batch_size=8)
    assert not f16.refused and f16.max_abs_diff <= 1 and os.path.isfile(f16.path)
    assert f16.size_bytes < 0.7 * f32.size_bytes  # weights in half the bytes


def test_conditional_generator_takes_labels(tmp_path):
    g = tiny_generator(TINY_COND, resolution=8)
    path = export.export_generator(g, str(tmp_path / "exp"), "c", warmup=False).path
    (r,) = tflite.export_tflite(path, str(tmp_path / "c-1"), variants=("float32",), timing_runs=0)
    runner = tflite.Runner(open(r.path, "rb").read())
    z = np.random.RandomState(1).randn(2, 16).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[[2, 0]]
    got = runner({"latents": z, "labels": y})
    assert np.abs(got.astype(int) - keras_uint8(g, z, y)).max() <= 1


def test_agreement_bounds():
    a = np.zeros((1, 10, 10, 3), np.uint8)
    b = a.copy()
    b[0, :5] = 1  # half the values one level off
    assert tflite.pixel_agreement(b, a, "float16") == (1, 0.5)
    with pytest.raises(export.ExportError, match="TFLite float32"):
        tflite.pixel_agreement(b, a, "float32")
    b[0, 0, 0, 0] = 3
    with pytest.raises(export.ExportError, match="up to 3 levels"):
        tflite.pixel_agreement(b, a, "float16")
    with pytest.raises(export.ExportError, match="variant"):
        tflite.convert("unused", "int8")
