"""FusedAdam: the same updates and slots as Keras's Adam, also under a distribution strategy."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from pgan_tf.core import tf_compat
from pgan_tf.training.optimizer import FusedAdam

SETTINGS = {"learning_rate": 0.003, "beta_1": 0.0, "beta_2": 0.99, "epsilon": 1e-8}


def _train(optimizer_class, strategy, steps=5, **settings):
    rng = np.random.default_rng(0)
    init = [
        rng.normal(size=(3, 3, 4, 5)).astype(np.float32),
        rng.normal(size=(5,)).astype(np.float32),
    ]
    grads = [[rng.normal(size=w.shape).astype(np.float32) for w in init] for _ in range(steps)]
    with strategy.scope():
        variables = [keras.Variable(w) for w in init]
        opt = optimizer_class(**{**SETTINGS, **settings})
        opt.build(variables)

    @tf.function
    def step(g):
        strategy.run(lambda: opt.apply_gradients(zip([tf.identity(x) for x in g], variables)))

    for g in grads:
        step([tf.constant(x) for x in g])
    slots = [keras.ops.convert_to_numpy(s) for w in variables for s in tf_compat.adam_slots(opt, w)]
    return [keras.ops.convert_to_numpy(v) for v in variables], slots, int(opt.iterations.numpy())


@pytest.mark.parametrize("beta_1", [0.0, 0.9])
def test_same_updates_as_keras_adam(beta_1):
    strategy = tf.distribute.get_strategy()
    fused = _train(FusedAdam, strategy, beta_1=beta_1)
    ref = _train(keras.optimizers.Adam, strategy, beta_1=beta_1)
    for a, b in zip(fused[0] + fused[1], ref[0] + ref[1]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert fused[2] == ref[2] == 5


def test_under_a_mirrored_strategy():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    fused = _train(FusedAdam, strategy)
    ref = _train(keras.optimizers.Adam, tf.distribute.get_strategy())
    for a, b in zip(fused[0] + fused[1], ref[0] + ref[1]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_one_fused_op_per_variable():
    variables = [
        keras.Variable(np.zeros((2, 2), np.float32)),
        keras.Variable(np.zeros(3, np.float32)),
    ]
    opt = FusedAdam(**SETTINGS)
    opt.build(variables)
    graph = (
        tf.function(lambda: opt.apply_gradients(zip([tf.ones((2, 2)), tf.ones(3)], variables)))
        .get_concrete_function()
        .graph
    )
    types = [op.type for op in graph.get_operations()]
    assert types.count("ResourceApplyAdam") == 2
