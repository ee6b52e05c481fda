"""Custom layers: equalized LR scaling, pixel norm, minibatch stddev, fade-in, serialization."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from pgan_tf.model import layers


def _run(layer, x):
    return keras.ops.convert_to_numpy(layer(x))


def test_equalized_conv_uses_runtime_he_scale():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 5, 3)).astype(np.float32)
    layer = layers.EqualizedConv2D(4, 3, gain=math.sqrt(2))
    y = _run(layer, x)
    w = keras.ops.convert_to_numpy(layer.kernel)
    scale = math.sqrt(2) / math.sqrt(3 * 3 * 3)
    assert layer.scale == pytest.approx(scale)
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    ref = np.zeros((2, 5, 5, 4), np.float32)
    for i in range(5):
        for j in range(5):
            ref[:, i, j] = np.einsum("nabc,abcd->nd", padded[:, i : i + 3, j : j + 3], w * scale)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    # stored weights are N(0, 1), biases zero
    assert abs(float(np.std(w)) - 1.0) < 0.35
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.bias), 0.0)


def test_equalized_dense_gain_and_flatten():
    x = np.random.default_rng(1).normal(size=(3, 2, 2, 4)).astype(np.float32)
    layer = layers.EqualizedDense(5, gain=1.0)
    y = _run(layer, x)
    w = keras.ops.convert_to_numpy(layer.kernel)
    assert w.shape == (16, 5)
    np.testing.assert_allclose(y, x.reshape(3, 16) @ (w / 4.0), rtol=1e-5, atol=1e-6)


def test_effective_weights_have_he_std():
    layer = layers.EqualizedConv2D(64, 3, gain=math.sqrt(2))
    layer.build((None, 8, 8, 128))
    eff = keras.ops.convert_to_numpy(layer.kernel) * layer.scale
    assert np.std(eff) == pytest.approx(math.sqrt(2 / (9 * 128)), rel=0.02)


def test_pixel_norm_unit_mean_square():
    x = np.random.default_rng(2).normal(scale=7.0, size=(2, 3, 3, 16)).astype(np.float32)
    y = _run(layers.PixelNorm(), x)
    np.testing.assert_allclose(np.mean(y**2, axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(y, x / np.sqrt(np.mean(x**2, -1, keepdims=True) + 1e-8), rtol=1e-5)


def _mbstd_reference(x, group_size):
    """NumPy version of the paper's statistic with the original's strided grouping."""
    n = x.shape[0]
    g = min(group_size, n)
    m = n // g
    out = np.zeros(n, np.float64)
    for j in range(m):
        members = x[j::m].astype(np.float64)  # samples j, j+m, j+2m, ... form group j
        std = np.sqrt(members.var(axis=0) + 1e-8)
        out[j::m] = std.mean()
    return out


@pytest.mark.parametrize("group_size", [1, 2, 4])
def test_minibatch_stddev_matches_reference(group_size):
    x = np.random.default_rng(3).normal(size=(8, 4, 4, 5)).astype(np.float32)
    y = _run(layers.MinibatchStdDev(group_size), x)
    assert y.shape == (8, 4, 4, 6)
    np.testing.assert_array_equal(y[..., :5], x)
    ref = _mbstd_reference(x, group_size)
    np.testing.assert_allclose(y[..., 5], np.broadcast_to(ref[:, None, None], (8, 4, 4)), rtol=1e-5)
    if group_size == 1:
        np.testing.assert_allclose(y[..., 5], 1e-4, rtol=1e-3)  # sqrt(0 + 1e-8)


def test_minibatch_stddev_group_clamped_to_batch():
    x = np.random.default_rng(4).normal(size=(2, 4, 4, 3)).astype(np.float32)
    y = _run(layers.MinibatchStdDev(4), x)
    np.testing.assert_allclose(y[:, 0, 0, 3], _mbstd_reference(x, 2), rtol=1e-5)


def test_mbstd_group_rule():
    """min(group, batch), no grouping at a group size of 1 or 0; the same in a graph."""
    assert [layers.mbstd_group(g, 6) for g in (0, 1, 2, 4, 16)] == [1, 1, 2, 4, 6]
    assert int(layers.mbstd_group(16, tf.constant(6))) == 6
    assert int(layers.mbstd_group(4, tf.constant(6))) == 4


def test_minibatch_stddev_rejects_indivisible_batch():
    x = np.zeros((6, 4, 4, 3), np.float32)
    with pytest.raises(ValueError, match="not divisible by the group size 4"):
        layers.MinibatchStdDev(4)(x)

    @tf.function(input_signature=[tf.TensorSpec([None, 4, 4, 3])])
    def graph(v):
        return layers.MinibatchStdDev(4)(v)

    with pytest.raises(tf.errors.InvalidArgumentError, match="divisible by the group size"):
        graph(x)


def test_weighted_sum_blend_and_no_retrace():
    old = np.full((1, 2, 2, 3), 2.0, np.float32)
    new = np.full((1, 2, 2, 3), 6.0, np.float32)
    layer = layers.WeightedSum()
    np.testing.assert_array_equal(_run(layer, [old, new]), old)
    traces = []

    @tf.function
    def blend(a, b):
        traces.append(1)
        return layer([a, b])

    for alpha, expected in [(0.25, 3.0), (0.5, 4.0), (1.0, 6.0)]:
        layer.set_alpha(alpha)
        np.testing.assert_allclose(blend(old, new).numpy(), expected)
    assert len(traces) == 1
    with pytest.raises(ValueError, match="alpha must be in"):
        layer.set_alpha(1.5)


def test_resampling_helpers():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    up = keras.ops.convert_to_numpy(layers.upscale2d(x))
    np.testing.assert_array_equal(up[0, :, :, 0], np.kron(x[0, :, :, 0], np.ones((2, 2))))
    down = keras.ops.convert_to_numpy(layers.downscale2d(x))
    np.testing.assert_allclose(
        down[0, :, :, 0], x[0, :, :, 0].reshape(2, 2, 2, 2).mean(axis=(1, 3))
    )
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(layers.downscale2d(layers.upscale2d(x))), x
    )
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layers.upsample_layer("u")(x)), up)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layers.downsample_layer("d")(x)), down)


_LAYER_CASES = [
    (lambda: layers.EqualizedConv2D(4, 3, gain=1.0), (2, 4, 4, 3)),
    (lambda: layers.EqualizedConv2D(2, 1, use_bias=False), (2, 4, 4, 3)),
    (lambda: layers.EqualizedDense(5, gain=0.5), (2, 2, 2, 3)),
    (lambda: layers.ChannelBias(), (2, 4, 4, 3)),
    (lambda: layers.PixelNorm(epsilon=1e-6), (2, 4, 4, 3)),
    (lambda: layers.MinibatchStdDev(2), (4, 4, 4, 3)),
]


@pytest.mark.parametrize("make,shape", _LAYER_CASES)
def test_layer_config_and_keras_file_round_trip(make, shape, tmp_path):
    x = np.random.default_rng(5).normal(size=shape).astype(np.float32)
    layer = make()
    inp = keras.Input(shape[1:])
    model = keras.Model(inp, layer(inp))
    if layer.weights:
        layer.set_weights([np.random.default_rng(6).normal(size=w.shape) for w in layer.weights])
    expected = keras.ops.convert_to_numpy(model(x))

    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone(x)
    if layer.weights:
        clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone(x)), expected, rtol=1e-6)

    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), expected, rtol=1e-6)


def test_weighted_sum_round_trip_keeps_alpha(tmp_path):
    a, b = keras.Input((2, 2, 1)), keras.Input((2, 2, 1))
    fade = layers.WeightedSum(name="fade")
    model = keras.Model([a, b], fade([a, b]))
    fade.set_alpha(0.3)
    x = [np.zeros((1, 2, 2, 1), np.float32), np.ones((1, 2, 2, 1), np.float32)]
    path = str(tmp_path / "fade.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), 0.3, rtol=1e-6)
    clone = layers.WeightedSum.from_config(fade.get_config())
    assert clone.get_config() == fade.get_config()


@pytest.mark.parametrize("use_wscale", [True, False])
def test_equalized_layers_gradients_match_the_plain_formula(use_wscale):
    """conv(x, k·s) + b and x·(k·s) + b, with their gradients w.r.t. input, kernel and bias, as
    written out with plain TF ops (the layers use BiasAdd, which must change nothing)."""
    rng = np.random.default_rng(7)
    x = tf.constant(rng.normal(size=(2, 4, 4, 3)).astype(np.float32))
    for layer, plain in (
        (
            layers.EqualizedConv2D(5, 3, use_wscale=use_wscale),
            lambda conv, x: tf.nn.conv2d(x, conv.kernel * conv.scale, 1, "SAME"),
        ),
        (
            layers.EqualizedDense(5, use_wscale=use_wscale),
            lambda dense, x: tf.reshape(x, (2, -1)) @ (dense.kernel * dense.scale),
        ),
    ):
        layer(x)
        layer.bias.assign(rng.normal(size=5).astype(np.float32))
        weights = tf.constant(
            rng.normal(size=layer.compute_output_shape(x.shape)).astype(np.float32)
        )
        results = []
        for f in (layer, lambda x, plain=plain, layer=layer: plain(layer, x) + layer.bias):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(f(x) * weights)
            results.append([loss] + tape.gradient(loss, [x, layer.kernel, layer.bias]))
        for a, b in zip(*results):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
