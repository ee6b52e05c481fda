"""One stage of progressive training: its networks, optimizers and compiled train step.

A stage is a fixed architecture (resolution, stable or fading in). Each gets fresh functional
models from `networks.py` with the previous stage's weights transferred in by layer name, new
Adam optimizers (the original resets optimizer state when the networks grow; with
`reset_optimizer` off the moments of the kept weights carry over), and one `tf.function` that
runs several D+G steps per call with nothing in Python per image.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras
import tensorflow as tf

from pgan_tf.core import tf_compat
from pgan_tf.model import networks
from pgan_tf.model.layers import WeightedSum, downscale2d, mbstd_group, upscale2d
from pgan_tf.training import losses, run_state, schedule
from pgan_tf.training.distribute import replica_slice
from pgan_tf.training.optimizer import FusedAdam

if TYPE_CHECKING:
    from pgan_tf.training.config import TrainConfig

STAT_NAMES = ("loss_d", "loss_g", "grad_penalty", "score_real", "score_fake")


def fade_variables(model: keras.Model) -> list[keras.Variable]:
    return [layer.alpha for layer in model.layers if isinstance(layer, WeightedSum)]


def make_optimizer(config: TrainConfig, learning_rate: float) -> keras.optimizers.Optimizer:
    opt = FusedAdam(
        learning_rate=learning_rate,
        beta_1=config.adam_beta1,
        beta_2=config.adam_beta2,
        epsilon=config.adam_epsilon,
    )
    if config.mixed_precision == "float16":
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt


def _adam(optimizer):
    return getattr(optimizer, "inner_optimizer", optimizer)


def carry_optimizer_state(
    old_opt: keras.optimizers.Optimizer,
    old_model: keras.Model,
    new_opt: keras.optimizers.Optimizer,
    new_model: keras.Model,
) -> int:
    """Copies Adam's moments of every weight the two models share (same layer and weight name)
    and its step count, so bias correction goes on: the original's `reset_opt_for_new_lod=False`.
    Weights of new layers keep zero moments. Returns how many weights were carried."""
    old, new = _adam(old_opt), _adam(new_opt)
    old_vars = {v.path: v for v in old_model.trainable_variables}
    carried = 0
    for var in new_model.trainable_variables:
        src = old_vars.get(var.path)
        if src is None:
            continue
        for to, source in zip(tf_compat.adam_slots(new, var), tf_compat.adam_slots(old, src)):
            to.assign(source)
        carried += 1
    new.iterations.assign(old.iterations)
    return carried


class StageTrainer:
    """Networks, optimizers and the compiled step of one stage.

    `images_seen` (int64) and `rng` (tf.random.Generator) belong to the whole run and are shared
    by every stage; α of a fade stage is derived from `images_seen` inside the step. Every worker
    draws the random numbers of the whole global batch from the same generator and keeps its own
    block, so no two workers share latents.
    """

    def __init__(
        self,
        config: TrainConfig,
        strategy: tf.distribute.Strategy,
        stage: schedule.Stage,
        images_seen: tf.Variable,
        rng: tf.random.Generator,
        previous: StageTrainer | None = None,
        num_workers: int = 1,
        worker: int = 0,
    ) -> None:
        self.config = config
        self.strategy = strategy
        self.stage = stage
        self.images_seen = images_seen
        self.rng = rng
        self.num_workers = num_workers
        self.worker = worker
        net, res, fade = config.network, stage.resolution, stage.fade_in
        self.global_batch = config.schedule.minibatch(res)
        self.worker_batch = self.global_batch // num_workers
        self.local_replicas = strategy.num_replicas_in_sync // num_workers
        per_replica = self.worker_batch // self.local_replicas
        self.group = mbstd_group(net.mbstd_group_size, per_replica)
        with strategy.scope():
            self.G = networks.build_generator(net, res, fade, dtype=config.dtype_policy)
            self.D = networks.build_discriminator(net, res, fade, dtype=config.dtype_policy)
            ema = self.generator_ema = networks.build_generator(net, res, fade)
            if previous is None:
                ema.set_weights(self.G.get_weights())
                self.transfer_reports = ()
            else:
                self.transfer_reports = (
                    networks.transfer_weights(previous.G, self.G),
                    networks.transfer_weights(previous.D, self.D),
                )
                fresh = networks.transfer_weights(previous.generator_ema, ema).new_only
                for name in fresh:  # EMA of a brand-new block starts at the block's init
                    ema.get_layer(name).set_weights(self.G.get_layer(name).get_weights())
            lr = config.schedule.learning_rate(res)
            self.g_opt = make_optimizer(config, lr)
            self.d_opt = make_optimizer(config, lr)
            self.g_opt.build(self.G.trainable_variables)
            self.d_opt.build(self.D.trainable_variables)
            if previous is not None and not config.reset_optimizer:
                carry_optimizer_state(previous.g_opt, previous.G, self.g_opt, self.G)
                carry_optimizer_state(previous.d_opt, previous.D, self.d_opt, self.D)
        self._fade_vars = [
            v for m in (self.G, self.D, self.generator_ema) for v in fade_variables(m)
        ]
        self.run_steps = tf.function(self._run_steps)
        # XLA takes the per-replica step only: reading the iterator and drawing from the shared
        # generator stay outside, in the loop of run_steps.
        self._replica_fn = (
            tf.function(self._replica_step, jit_compile=True)
            if config.jit_compile
            else self._replica_step
        )

    # ---- the compiled step -------------------------------------------------------------------
    def alpha(self) -> tf.Tensor:
        """α of this stage after the images shown so far (`schedule.fade_alpha`)."""
        return schedule.fade_alpha(self.stage, self.images_seen, self.config.schedule)

    def _run_steps(self, iterator, num_steps):
        stats = tf.zeros([len(STAT_NAMES)])
        for _ in tf.range(num_steps):
            stats += self._one_step(next(iterator))
        return stats / tf.cast(num_steps, tf.float32)

    # Plain Python control flow on static settings only: converting these with AutoGraph would
    # cost seconds of tracing at every stage switch and change nothing.
    @tf.autograph.experimental.do_not_convert
    def _one_step(self, batch):
        cfg, n = self.config, self.worker_batch
        reals, labels = batch if cfg.network.label_size else (batch, tf.zeros([n, 0]))
        alpha = self.alpha()
        for v in self._fade_vars:
            v.assign(alpha)
        latent, b = cfg.network.latent_size, self.global_batch
        draws = (
            self.rng.normal([b, latent]),
            self.rng.normal([b, latent]),
            self.rng.uniform([b, 1, 1, 1]),
            self.rng.uniform([b]) < 0.5,
        )
        if self.num_workers > 1:
            draws = tuple(x[self.worker * n : (self.worker + 1) * n] for x in draws)
        per_replica = self.strategy.run(self._replica_fn, args=(reals, labels, alpha) + draws)
        stats = self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)
        beta = cfg.g_ema_decay
        with tf.name_scope("generator_ema"):
            for s, v in zip(self.generator_ema.trainable_variables, self.G.trainable_variables):
                s.assign(v + beta * (s - v))
        self.images_seen.assign_add(self.global_batch)
        return stats

    @tf.autograph.experimental.do_not_convert
    def _replica_step(self, reals, labels, alpha, z_d, z_g, eps, flip):
        cfg = self.config
        ctx = tf.distribute.get_replica_context()
        replica = ctx.replica_id_in_sync_group % self.local_replicas

        def mine(x):
            return replica_slice(x, replica, self.local_replicas, self.group)

        reals, labels, z_d, z_g, eps, flip = map(mine, (reals, labels, z_d, z_g, eps, flip))
        if cfg.data.mirror:
            reals = tf.where(flip[:, None, None, None], tf.reverse(reals, axis=[2]), reals)
        if (
            self.stage.fade_in
        ):  # the reals fade like the generator's output (original process_reals)
            reals = upscale2d(downscale2d(reals)) + alpha * (reals - upscale2d(downscale2d(reals)))
        g_in_d = [z_d, labels] if cfg.network.label_size else z_d
        g_in_g = [z_g, labels] if cfg.network.label_size else z_g
        batch = self.global_batch

        def average(per_sample):
            return tf.nn.compute_average_loss(per_sample, global_batch_size=batch)

        class_labels = labels if cfg.network.label_size else None
        fakes = self.G(g_in_d, training=True)
        with tf.GradientTape() as tape:
            real_out = self.D(reals, training=True)
            fake_out = self.D(fakes, training=True)
            norms = None
            if losses.uses_gradient_penalty(cfg.loss):
                mixed = losses.interpolate(reals, fakes, eps)
                with tf.GradientTape() as gp_tape:
                    gp_tape.watch(mixed)
                    mixed_sum = tf.reduce_sum(self.D(mixed, training=True)[:, 0])
                norms = losses.gradient_norms(gp_tape.gradient(mixed_sum, mixed))
            per_d, gp = losses.discriminator_loss(
                cfg.loss,
                real_out,
                fake_out,
                class_labels,
                norms,
                gp_lambda=cfg.gp_lambda,
                gp_target=cfg.gp_target,
                drift_epsilon=cfg.drift_epsilon,
            )
            loss_d = average(per_d)
            scaled_d = (
                self.d_opt.scale_loss(loss_d) if hasattr(self.d_opt, "scale_loss") else loss_d
            )
        d_grads = tape.gradient(scaled_d, self.D.trainable_variables)
        self.d_opt.apply_gradients(zip(d_grads, self.D.trainable_variables))

        with tf.GradientTape() as tape:
            out = self.D(self.G(g_in_g, training=True), training=True)
            loss_g = average(losses.generator_loss(cfg.loss, out, class_labels))
            scaled_g = (
                self.g_opt.scale_loss(loss_g) if hasattr(self.g_opt, "scale_loss") else loss_g
            )
        g_grads = tape.gradient(scaled_g, self.G.trainable_variables)
        self.g_opt.apply_gradients(zip(g_grads, self.G.trainable_variables))
        scores = average(real_out[:, 0]), average(fake_out[:, 0])
        return tf.stack([loss_d, loss_g, average(gp), *scores])

    # ---- sampling ----------------------------------------------------------------------------
    def set_alpha_now(self) -> float:
        """Sets α of every fade layer from `images_seen` (for sampling outside the step)."""
        alpha = float(self.alpha())
        for v in self._fade_vars:
            v.assign(alpha)
        return alpha

    def checkpoint_objects(self) -> dict[str, keras.Model | keras.optimizers.Optimizer]:
        """The stage's networks and optimizers under their checkpoint names (`run_state`)."""
        return {
            run_state.GENERATOR: self.G,
            run_state.DISCRIMINATOR: self.D,
            run_state.GENERATOR_EMA: self.generator_ema,
            run_state.G_OPTIMIZER: self.g_opt,
            run_state.D_OPTIMIZER: self.d_opt,
        }
