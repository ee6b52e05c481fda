"""Loss functions against hand-computed values."""
import numpy as np
import pytest
import tensorflow as tf

from pgan_tf.training import losses


def test_wgan_gp_terms():
    norms = tf.constant([0.0, 1.0, 3.0])
    np.testing.assert_allclose(losses.gradient_penalty(norms).numpy(), [10.0, 0.0, 40.0])
    np.testing.assert_allclose(losses.drift_penalty(tf.constant([2.0, -10.0])).numpy(), [0.004, 0.1])
    np.testing.assert_allclose(losses.wgan_d_loss(tf.constant([3.0]), tf.constant([1.0])).numpy(), [-2.0])
    np.testing.assert_allclose(losses.wgan_g_loss(tf.constant([1.5])).numpy(), [-1.5])


def test_lsgan():
    np.testing.assert_allclose(
        losses.lsgan_d_loss(tf.constant([1.0, 0.0]), tf.constant([0.0, 2.0])).numpy(), [0.0, 2.5]
    )
    np.testing.assert_allclose(losses.lsgan_g_loss(tf.constant([1.0, 3.0])).numpy(), [0.0, 2.0])


def test_label_loss_is_cross_entropy():
    logits = tf.constant([[0.0, 0.0], [10.0, -10.0]])
    labels = tf.constant([[1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(losses.label_loss(logits, labels).numpy(), [np.log(2), 0.0], atol=1e-6)


def test_global_batch_averaging_is_replica_independent():
    per_sample = tf.constant([1.0, 2.0, 3.0, 6.0])
    whole = tf.nn.compute_average_loss(per_sample, global_batch_size=4)
    halves = sum(tf.nn.compute_average_loss(h, global_batch_size=4) for h in (per_sample[:2], per_sample[2:]))
    assert float(whole) == pytest.approx(3.0) and float(halves) == pytest.approx(3.0)
