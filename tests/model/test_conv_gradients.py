"""Convolution gradients as convolutions: the same values as TF's gradient kernels, to every order
the WGAN-GP step takes, and only where they are meant to apply."""

import numpy as np
import pytest
import tensorflow as tf

from pgan_tf.model import conv_gradients, layers


def _tf_conv(x, kernel):
    return tf.nn.conv2d(x, kernel, strides=1, padding="SAME")


def _penalty_gradients(conv, x, kernel):
    """What the WGAN-GP step takes of a convolution: its value, the input gradient of a loss, and
    the gradients of (loss + squared input gradient) w.r.t. input and kernel (second order)."""
    with tf.GradientTape() as outer:
        outer.watch([x, kernel])
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = conv(x, kernel)
            loss = tf.reduce_sum(tf.sin(y) * tf.range(1.0, y.shape[-1] + 1, dtype=y.dtype))
        grad_x = inner.gradient(loss, x)
        total = loss + tf.reduce_sum(tf.square(grad_x))
    return [y, grad_x, *outer.gradient(total, [x, kernel])]


@pytest.mark.parametrize(
    "shape, out_channels, k",
    [((2, 8, 8, 3), 5, 3), ((3, 9, 12, 4), 2, 3), ((1, 8, 10, 2), 3, 5)],
)
def test_values_and_gradients_equal_tf_kernels(shape, out_channels, k):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=shape))
    kernel = tf.constant(rng.normal(size=(k, k, shape[-1], out_channels)))
    with tf.GradientTape():
        assert conv_gradients.uses_conv_gradients(x, k)
    ours = _penalty_gradients(conv_gradients.conv2d_same, x, kernel)
    ref = _penalty_gradients(_tf_conv, x, kernel)
    for a, b, name in zip(ours, ref, ["output", "input gradient", "d/dx", "d/dkernel"]):
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-11, atol=1e-11, err_msg=name)


def _backprop_ops(conv_gradients_on):
    """Op types in the graph of a penalty step through one 8×8 EqualizedConv2D."""
    layer = layers.EqualizedConv2D(4, 3, conv_gradients=conv_gradients_on)
    layer.build((None, 8, 8, 3))
    x = tf.zeros((2, 8, 8, 3))

    @tf.function
    def step(x):
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(x)
                loss = tf.reduce_sum(tf.sin(layer(x)))
            total = loss + tf.reduce_sum(tf.square(inner.gradient(loss, x)))
        return outer.gradient(total, layer.trainable_variables)

    graph = step.get_concrete_function(x).graph
    ops = {op.type for op in graph.get_operations()}
    for f in graph._functions.values():
        ops |= {node.op for node in f.definition.node_def}
    return {op for op in ops if op.startswith("Conv2DBackprop")}


def test_step_graph_has_no_tf_gradient_kernels():
    assert _backprop_ops(True) == set()
    assert _backprop_ops(False) == {"Conv2DBackpropInput", "Conv2DBackpropFilter"}


def test_layer_gradients_do_not_depend_on_the_switch():
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(size=(2, 8, 8, 3)).astype(np.float32))
    kernel = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)
    results = []
    for on in (True, False):
        layer = layers.EqualizedConv2D(4, 3, conv_gradients=on)
        layer.build(x.shape)
        layer.kernel.assign(kernel)
        with tf.GradientTape() as tape:
            y = layer(x)
            loss = tf.reduce_sum(y * y)
        results.append([y, *tape.gradient(loss, [layer.kernel, layer.bias])])
    for a, b in zip(*results):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)


def test_where_the_gradients_apply(monkeypatch):
    at = conv_gradients.MIN_SPATIAL
    uses = conv_gradients.uses_conv_gradients
    assert not uses(tf.zeros((1, at, at, 2)), 3)  # no tape: an inference graph
    with tf.GradientTape():
        assert uses(tf.zeros((1, at, at, 2)), 3)
        assert not uses(tf.zeros((1, at, at, 2)), 3, enabled=False)
        assert not uses(tf.zeros((1, at, at, 2)), 1)  # 1×1: matmul gradients already
        assert not uses(tf.zeros((1, at, at, 2)), 4)  # even kernel: 'same' pads unevenly
        assert not uses(tf.zeros((1, at // 2, at // 2, 2)), 3)
        assert not uses(tf.TensorSpec((1, None, None, 2)), 3)
        monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: ["GPU:0"])
        assert not uses(tf.zeros((1, at, at, 2)), 3)


def test_switch_round_trips_through_the_layer_config():
    layer = layers.EqualizedConv2D(4, 3, conv_gradients=False)
    assert layers.EqualizedConv2D.from_config(layer.get_config()).conv_gradients is False
    config = layers.EqualizedConv2D(4, 3).get_config()
    del config["conv_gradients"]  # a layer saved before the switch existed
    assert layers.EqualizedConv2D.from_config(config).conv_gradients is True
