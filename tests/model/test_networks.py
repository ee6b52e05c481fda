"""Per-stage networks: the paper's parameter counts, continuity across growth, labels."""

import keras
import numpy as np
import pytest

from pgan_tf.model import layers, networks

TINY = networks.NetworkConfig(fmap_base=64, fmap_max=16, latent_size=8)


def _params(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_nf_schedule_paper_defaults():
    c = networks.NetworkConfig()
    assert [c.nf(s) for s in range(10)] == [512, 512, 512, 512, 512, 256, 128, 64, 32, 16]


def test_paper_parameter_counts_1024():
    """Paper Table 2: 23.1M each; exact values of the original networks."""
    c = networks.NetworkConfig()
    g, d = networks.build_generator(c, 1024), networks.build_discriminator(c, 1024)
    assert _params(g) == 23_071_507
    assert _params(d) == 23_077_137
    assert _params(networks.build_generator(c, 1024, fade_in=True)) == 23_071_507 + 99
    assert _params(networks.build_discriminator(c, 1024, fade_in=True)) == 23_077_137 + 128


def test_output_shapes_and_gains():
    g = networks.build_generator(TINY, 16)
    d = networks.build_discriminator(TINY, 16)
    z = np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)
    assert g(z).shape == (4, 16, 16, 3)
    assert d(g(z)).shape == (4, 1)
    assert g.get_layer("g_4x4_dense").gain == pytest.approx(np.sqrt(2) / 4)
    assert g.get_layer("g_torgb_16x16").gain == 1.0
    assert d.get_layer("d_4x4_dense1").gain == 1.0
    assert d.get_layer("d_4x4_conv").kernel.shape == (3, 3, TINY.nf(1) + 1, TINY.nf(1))


def _grow(build, res, rng):
    """Previous stable stage, and the fading stage with the previous weights transferred in."""
    old = build(TINY, res // 2)
    for w in old.trainable_weights:  # non-zero biases too, so the test sees every weight
        w.assign(rng.normal(size=w.shape).astype(np.float32))
    new = build(TINY, res, fade_in=True)
    report = networks.transfer_weights(old, new)
    return old, new, report


def test_generator_continuity_across_growth():
    rng = np.random.default_rng(1)
    old, new, report = _grow(networks.build_generator, 16, rng)
    assert "g_torgb_8x8" in report.copied and "g_8x8_conv1" in report.copied
    assert set(report.new_only) == {"g_16x16_conv0", "g_16x16_conv1", "g_torgb_16x16"}
    assert report.old_only == ()
    z = rng.normal(size=(4, 8)).astype(np.float32)
    assert networks.set_alpha(new, 0.0) == 1
    expected = _np(layers.upscale2d(old(z)))
    assert np.max(np.abs(_np(new(z)) - expected)) <= 1e-5

    networks.set_alpha(new, 1.0)
    stable = networks.build_generator(TINY, 16)
    networks.transfer_weights(new, stable)
    np.testing.assert_allclose(_np(new(z)), _np(stable(z)), atol=1e-5)
    networks.set_alpha(new, 0.5)
    np.testing.assert_allclose(_np(new(z)), 0.5 * expected + 0.5 * _np(stable(z)), atol=1e-5)


def test_discriminator_continuity_across_growth():
    rng = np.random.default_rng(2)
    old, new, report = _grow(networks.build_discriminator, 16, rng)
    assert set(report.new_only) == {"d_16x16_conv0", "d_16x16_conv1", "d_fromrgb_16x16"}
    img = rng.normal(size=(4, 16, 16, 3)).astype(np.float32)
    networks.set_alpha(new, 0.0)
    assert np.max(np.abs(_np(new(img)) - _np(old(layers.downscale2d(img))))) <= 1e-5

    networks.set_alpha(new, 1.0)
    stable = networks.build_discriminator(TINY, 16)
    networks.transfer_weights(new, stable)
    np.testing.assert_allclose(_np(new(img)), _np(stable(img)), atol=1e-5)


def test_transfer_from_fading_to_stable_drops_old_rgb():
    old = networks.build_generator(TINY, 8, fade_in=True)
    report = networks.transfer_weights(old, networks.build_generator(TINY, 8))
    assert report.old_only == ("g_torgb_4x4",) and report.new_only == ()


def test_transfer_refuses_shape_mismatch():
    a = networks.build_generator(TINY, 8)
    b = networks.build_generator(networks.NetworkConfig(fmap_base=64, fmap_max=8, latent_size=8), 8)
    with pytest.raises(ValueError, match="has shapes"):
        networks.transfer_weights(a, b)


def test_conditional_networks():
    c = networks.NetworkConfig(fmap_base=64, fmap_max=16, latent_size=8, label_size=5)
    g, d = networks.build_generator(c, 8), networks.build_discriminator(c, 8)
    assert [t.name for t in g.inputs] == ["latents", "labels"]
    z = np.random.default_rng(3).normal(size=(4, 8)).astype(np.float32)
    labels = np.eye(5, dtype=np.float32)[[0, 1, 2, 3]]
    images = g([z, labels])
    assert images.shape == (4, 8, 8, 3)
    assert d(images).shape == (4, 6)
    assert g.get_layer("g_4x4_dense").kernel.shape[0] == 8 + 5
    other = _np(g([z, np.eye(5, dtype=np.float32)[[4, 4, 4, 4]]]))
    assert not np.allclose(_np(images), other)


def test_bad_resolution_and_config():
    with pytest.raises(ValueError, match="power of two"):
        networks.build_generator(TINY, 12)
    with pytest.raises(ValueError, match="fade_in needs"):
        networks.build_discriminator(TINY, 4, fade_in=True)
    with pytest.raises(ValueError, match="num_channels"):
        networks.NetworkConfig(num_channels=4)


def test_stage_model_keras_round_trip(tmp_path):
    g = networks.build_generator(TINY, 8, fade_in=True)
    networks.set_alpha(g, 0.7)
    z = np.random.default_rng(4).normal(size=(2, 8)).astype(np.float32)
    path = str(tmp_path / "g.keras")
    g.save(path)
    np.testing.assert_allclose(_np(keras.saving.load_model(path)(z)), _np(g(z)), rtol=1e-6)
    assert networks.NetworkConfig.from_dict(TINY.to_dict()) == TINY


def test_mixed_precision_policy_keeps_float32_output():
    g = networks.build_generator(TINY, 8, dtype="mixed_bfloat16")
    d = networks.build_discriminator(TINY, 8, dtype="mixed_bfloat16")
    z = np.random.default_rng(5).normal(size=(2, 8)).astype(np.float32)
    assert g(z).dtype == "float32" and d(g(z)).dtype == "float32"
    assert g.get_layer("g_8x8_conv0").kernel.dtype == "float32"


def test_ablation_switches_change_only_what_they_name():
    """The original's -nopixelnorm / -noleakyrelu / -nowscale: same weights, other layers."""
    import dataclasses

    kinds = lambda m: [type(layer).__name__ for layer in m.layers]  # noqa: E731
    base_g, base_d = networks.build_generator(TINY, 16), networks.build_discriminator(TINY, 16)
    no_pn = networks.build_generator(dataclasses.replace(TINY, use_pixelnorm=False), 16)
    assert kinds(no_pn).count("PixelNorm") == 1  # only the latents' normalization is left
    assert (
        kinds(base_g).count("PixelNorm") == 1 + 2 + 2 * 2
    )  # latents, 4x4 dense + conv, 8x8, 16x16
    relu = dataclasses.replace(TINY, use_leakyrelu=False)
    assert "LeakyReLU" not in kinds(networks.build_generator(relu, 16))
    assert kinds(networks.build_discriminator(relu, 16)) == kinds(base_d)  # D keeps leaky ReLU
    for m in (no_pn, networks.build_generator(relu, 16)):
        assert _params(m) == _params(base_g)


def test_no_wscale_is_he_init_without_runtime_scale():
    import dataclasses

    c = dataclasses.replace(TINY, use_wscale=False, fmap_base=512, fmap_max=64)
    keras.utils.set_random_seed(3)
    d = networks.build_discriminator(c, 8)
    conv = d.get_layer("d_8x8_conv0")
    assert conv.scale == 1.0
    fan_in = 3 * 3 * 64
    assert np.std(_np(conv.kernel)) == pytest.approx(np.sqrt(2.0 / fan_in), rel=0.05)
    dense = d.get_layer("d_4x4_dense1")
    assert dense.scale == 1.0 and np.std(_np(dense.kernel)) == pytest.approx(
        1 / np.sqrt(64), rel=0.2
    )
    restored = layers.EqualizedConv2D.from_config(conv.get_config())
    assert restored.use_wscale is False
