"""Loss functions against hand-computed values."""

import numpy as np
import pytest
import tensorflow as tf

from pgan_tf.training import losses


def test_wgan_gp_terms():
    norms = tf.constant([0.0, 1.0, 3.0])
    np.testing.assert_allclose(losses.gradient_penalty(norms).numpy(), [10.0, 0.0, 40.0])
    np.testing.assert_allclose(
        losses.drift_penalty(tf.constant([2.0, -10.0])).numpy(), [0.004, 0.1]
    )
    np.testing.assert_allclose(
        losses.wgan_d_loss(tf.constant([3.0]), tf.constant([1.0])).numpy(), [-2.0]
    )
    np.testing.assert_allclose(losses.wgan_g_loss(tf.constant([1.5])).numpy(), [-1.5])


def test_lsgan():
    np.testing.assert_allclose(
        losses.lsgan_d_loss(tf.constant([1.0, 0.0]), tf.constant([0.0, 2.0])).numpy(), [0.0, 2.5]
    )
    np.testing.assert_allclose(losses.lsgan_g_loss(tf.constant([1.0, 3.0])).numpy(), [0.0, 2.0])


def test_label_loss_is_cross_entropy():
    logits = tf.constant([[0.0, 0.0], [10.0, -10.0]])
    labels = tf.constant([[1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(
        losses.label_loss(logits, labels).numpy(), [np.log(2), 0.0], atol=1e-6
    )


def test_global_batch_averaging_is_replica_independent():
    per_sample = tf.constant([1.0, 2.0, 3.0, 6.0])
    whole = tf.nn.compute_average_loss(per_sample, global_batch_size=4)
    halves = sum(
        tf.nn.compute_average_loss(h, global_batch_size=4) for h in (per_sample[:2], per_sample[2:])
    )
    assert float(whole) == pytest.approx(3.0) and float(halves) == pytest.approx(3.0)


def test_discriminator_loss_composes_wgan_gp_drift_and_labels_by_hand():
    real_out = tf.constant([[2.0, 0.0, 0.0], [-1.0, 10.0, -10.0]])
    fake_out = tf.constant([[1.0, 0.0, 0.0], [3.0, -10.0, 10.0]])
    norms = tf.constant([1.0, 3.0])
    per, gp = losses.discriminator_loss(
        "wgan_gp",
        real_out,
        fake_out,
        None,
        norms,
        gp_lambda=10.0,
        gp_target=1.0,
        drift_epsilon=0.001,
    )
    np.testing.assert_allclose(gp.numpy(), [0.0, 40.0])
    want = [1.0 - 2.0 + 0.0 + 0.004, 3.0 + 1.0 + 40.0 + 0.001]  # fake − real + gp + drift
    np.testing.assert_allclose(per.numpy(), want, rtol=1e-6)
    labels = tf.constant([[1.0, 0.0], [1.0, 0.0]])
    with_labels, _ = losses.discriminator_loss("wgan_gp", real_out, fake_out, labels, norms)
    # cross-entropy: ln 2 for even logits, ~0 and ~20 for ±10 (the real right, the fake wrong)
    np.testing.assert_allclose((with_labels - per).numpy(), [2 * np.log(2), 20.0], atol=1e-5)
    ls, zero = losses.discriminator_loss("lsgan_mao", real_out, fake_out)
    np.testing.assert_allclose(ls.numpy(), [0.5 * 1 + 0.5 * 1, 0.5 * 4 + 0.5 * 9])
    assert zero.numpy().tolist() == [0.0, 0.0]


def test_generator_loss_and_which_losses_need_the_penalty():
    fake_out = tf.constant([[1.5, 10.0, -10.0], [3.0, 0.0, 0.0]])
    np.testing.assert_allclose(losses.generator_loss("wgan_gp", fake_out).numpy(), [-1.5, -3.0])
    np.testing.assert_allclose(losses.generator_loss("lsgan_mao", fake_out).numpy(), [0.125, 2.0])
    labels = tf.constant([[0.0, 1.0], [0.0, 1.0]])
    np.testing.assert_allclose(
        losses.generator_loss("wgan_gp", fake_out, labels).numpy(),
        [-1.5 + 20.0, -3.0 + np.log(2)],
        atol=1e-5,
    )
    assert losses.uses_gradient_penalty("wgan_gp") and not losses.uses_gradient_penalty("lsgan_mao")
    with pytest.raises(ValueError, match="unknown loss 'lsgan'"):
        losses.generator_loss("lsgan", fake_out)


def test_interpolation_and_gradient_norms():
    reals, fakes = tf.zeros([2, 1, 1, 2]), tf.ones([2, 1, 1, 2]) * 4.0
    eps = tf.constant([0.25, 1.0])[:, None, None, None]
    mixed = losses.interpolate(reals, fakes, eps).numpy()
    np.testing.assert_allclose(mixed[:, 0, 0], [[1, 1], [4, 4]])
    grads = tf.constant([[[[3.0, 4.0]]], [[[0.0, 0.0]]]])
    np.testing.assert_allclose(losses.gradient_norms(grads).numpy(), [5.0, 0.0])
