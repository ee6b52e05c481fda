"""One stage's compiled step: no retracing as α moves, LSGAN, labels, mixed precision."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from pgan_tf.core import tf_compat
from pgan_tf.model.networks import NetworkConfig
from pgan_tf.training.config import DataConfig, TrainConfig
from pgan_tf.training.schedule import ScheduleConfig, stages
from pgan_tf.training.stage import STAT_NAMES, StageTrainer

BASE = TrainConfig(
    network=NetworkConfig(fmap_base=32, fmap_max=16, latent_size=8),
    schedule=ScheduleConfig(
        resolution=8,
        total_kimg=1,
        lod_training_kimg=0.032,
        lod_transition_kimg=0.064,
        minibatch_base=8,
    ),
    data=DataConfig(path="unused"),
)


def _iterator(res, labels=0, n=32):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (n, res, res, 3)).astype(np.float32)
    if labels:
        y = np.eye(labels, dtype=np.float32)[rng.integers(labels, size=n)]
        return iter(tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(8))
    return iter(tf.data.Dataset.from_tensor_slices(x).repeat().batch(8))


def _trainer(config, stage_index=0, previous=None, seen=0):
    keras.utils.set_random_seed(stage_index)
    stage = stages(config.schedule)[stage_index]
    return StageTrainer(
        config,
        tf.distribute.get_strategy(),
        stage,
        tf.Variable(seen, dtype=tf.int64),
        tf.random.Generator.from_seed(1),
        previous,
    )


def test_fade_alpha_follows_images_without_retracing():
    fade = _trainer(BASE, stage_index=1, seen=32)  # 8x8 fade stage from 32 to 96 images
    it = _iterator(8)
    alphas = []
    for _ in range(4):
        fade.run_steps(it, tf.constant(2))
        alphas.append(fade.set_alpha_now())
    assert alphas == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert fade.run_steps.experimental_get_tracing_count() == 1
    g_fade = fade.G.get_layer("g_fade")
    assert float(g_fade.alpha.numpy()) == pytest.approx(1.0)


@pytest.mark.parametrize("loss", ["wgan_gp", "lsgan_mao"])
def test_losses_train_and_move_weights(loss):
    tr = _trainer(dataclasses.replace(BASE, loss=loss))
    before = [w.numpy().copy() for w in tr.G.trainable_weights]
    ema_before = [w.numpy().copy() for w in tr.generator_ema.trainable_weights]
    stats = tr.run_steps(_iterator(4), tf.constant(3)).numpy()
    assert stats.shape == (len(STAT_NAMES),) and np.all(np.isfinite(stats))
    if loss == "lsgan_mao":
        assert stats[2] == 0.0  # no gradient penalty
    moved = [np.abs(a - w.numpy()).max() for a, w in zip(before, tr.G.trainable_weights)]
    ema_moved = [
        np.abs(a - w.numpy()).max() for a, w in zip(ema_before, tr.generator_ema.trainable_weights)
    ]
    assert max(moved) > 0 and max(ema_moved) > 0
    # the EMA lags: after 3 steps at decay 0.999 it has moved far less than G
    assert max(ema_moved) < 0.05 * max(moved)


def test_ema_update_formula():
    tr = _trainer(dataclasses.replace(BASE, g_ema_decay=0.75))
    ema0 = [w.numpy().copy() for w in tr.generator_ema.trainable_weights]
    tr.run_steps(_iterator(4), tf.constant(1))
    for s0, s, g in zip(ema0, tr.generator_ema.trainable_weights, tr.G.trainable_weights):
        np.testing.assert_allclose(
            s.numpy(), g.numpy() + 0.75 * (s0 - g.numpy()), rtol=1e-5, atol=1e-6
        )


def test_conditional_stage():
    cfg = dataclasses.replace(BASE, network=dataclasses.replace(BASE.network, label_size=3))
    tr = _trainer(cfg)
    stats = tr.run_steps(_iterator(4, labels=3), tf.constant(2)).numpy()
    assert np.all(np.isfinite(stats))
    assert tr.D.output_shape == (None, 4)


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_mixed_precision_stage(precision):
    tr = _trainer(dataclasses.replace(BASE, mixed_precision=precision))
    stats = tr.run_steps(_iterator(4), tf.constant(2)).numpy()
    assert np.all(np.isfinite(stats))
    assert tr.G.get_layer("g_4x4_conv").compute_dtype == precision
    assert all(w.dtype == "float32" for w in tr.G.trainable_weights)
    assert tr.generator_ema.get_layer("g_4x4_conv").compute_dtype == "float32"


@pytest.mark.parametrize("reset", [True, False])
def test_optimizer_reset_at_a_new_stage(reset):
    """The original resets Adam at every new lod; --noreset_optimizer carries kept weights'
    moments."""
    cfg = dataclasses.replace(BASE, reset_optimizer=reset)
    first = _trainer(cfg)
    first.run_steps(_iterator(4), tf.constant(2))
    grown = _trainer(cfg, stage_index=1, previous=first, seen=32)
    assert int(grown.d_opt.iterations.numpy()) == (0 if reset else 2)
    for opt, old_opt, model, old_model in (
        (grown.d_opt, first.d_opt, grown.D, first.D),
        (grown.g_opt, first.g_opt, grown.G, first.G),
    ):
        old_vars = {v.path: v for v in old_model.trainable_variables}
        for var in model.trainable_variables:
            m, v = (s.numpy() for s in tf_compat.adam_slots(opt, var))
            if reset or var.path not in old_vars:
                assert not m.any() and not v.any(), var.path  # fresh (or new-layer) moments: zero
            else:
                src = [s.numpy() for s in tf_compat.adam_slots(old_opt, old_vars[var.path])]
                np.testing.assert_array_equal(m, src[0])
                np.testing.assert_array_equal(v, src[1])


def test_gradient_penalty_constants_reach_the_step():
    """--gp_target / --gp_lambda are used: a huge target makes the penalty λ(‖g‖ − t)²/t² ≈ λ."""
    tr = _trainer(dataclasses.replace(BASE, gp_target=750.0, gp_lambda=3.0, drift_epsilon=0.0))
    stats = tr.run_steps(_iterator(4), tf.constant(1)).numpy()
    assert stats[2] == pytest.approx(3.0, rel=0.02)


def _weights(trainer):
    return [w.numpy() for m in (trainer.G, trainer.D) for w in m.trainable_weights]


@pytest.mark.slow  # ~45 s of XLA compiles; --jit_compile is opt-in
def test_xla_step_matches_plain_and_is_deterministic():
    """--jit_compile runs the same step: from the same weights and batch, the same losses (up to
    float rounding) and the same Adam update of nearly every weight (β1 = 0 makes the first update
    lr·sign(g), so a gradient within rounding of 0 may flip; any real difference moves most).
    Two XLA trainers from the same seeds then end bit-identical (what an exact resume needs), and
    neither α moving nor the number of steps per call retraces the compiled step. (One test, so
    the suite compiles two XLA steps, not three.)"""
    xla_config = dataclasses.replace(BASE, jit_compile=True)
    plain, xla = (
        _trainer(BASE, stage_index=1, seen=32),
        _trainer(xla_config, stage_index=1, seen=32),
    )
    for a, b in zip(_weights(plain), _weights(xla)):
        np.testing.assert_array_equal(a, b)
    its = [_iterator(8) for _ in range(2)]
    stats = [tr.run_steps(it, tf.constant(1)).numpy() for tr, it in zip((plain, xla), its)]
    np.testing.assert_allclose(stats[1], stats[0], rtol=1e-4, atol=1e-5)
    diffs = np.concatenate([np.abs(a - b).ravel() for a, b in zip(_weights(plain), _weights(xla))])
    assert np.mean(diffs <= 1e-6) > 0.99
    assert xla.set_alpha_now() == pytest.approx(plain.set_alpha_now()) == pytest.approx(0.125)

    again, it = _trainer(xla_config, stage_index=1, seen=32), _iterator(8)
    for n in (1, 2, 1):
        again.run_steps(it, tf.constant(n))
    for n in (2, 1):
        xla.run_steps(its[1], tf.constant(n))
    for a, b in zip(_weights(xla), _weights(again)):
        np.testing.assert_array_equal(a, b)
    assert xla.run_steps.experimental_get_tracing_count() == 1
    assert again.run_steps.experimental_get_tracing_count() == 1
    assert again.set_alpha_now() == pytest.approx(0.5)
