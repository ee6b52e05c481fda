"""GAN losses, per sample, as pure functions of discriminator outputs (paper A.1, §6.5).

`discriminator_loss` and `generator_loss` compose the terms of a training run (WGAN-GP with
drift, or least squares; the AC-GAN label terms of a conditional run); the training step only
runs the networks, the tapes and the optimizers. It averages the per-sample losses over the
global batch (`tf.nn.compute_average_loss`), so the result does not depend on the number of
replicas.
"""

import tensorflow as tf

LOSSES = ("wgan_gp", "lsgan_mao")
WGAN_LAMBDA = 10.0
WGAN_TARGET = 1.0
WGAN_EPSILON = 0.001


def gradient_penalty(grad_norms, weight=WGAN_LAMBDA, target=WGAN_TARGET):
    """WGAN-GP term λ·(‖∇D(x̂)‖ − target)² / target² per sample (Gulrajani et al.; paper A.1)."""
    return weight * tf.square(grad_norms - target) / (target**2)


def drift_penalty(real_scores, epsilon=WGAN_EPSILON):
    """ε_drift·D(x)², keeps the critic's output near zero (paper A.1, ε_drift = 0.001)."""
    return epsilon * tf.square(real_scores)


def wgan_d_loss(real_scores, fake_scores):
    """Critic loss D(G(z)) − D(x) per sample (the penalties are added by the caller)."""
    return fake_scores - real_scores


def wgan_g_loss(fake_scores):
    """Generator loss −D(G(z)) per sample."""
    return -fake_scores


def lsgan_d_loss(real_scores, fake_scores):
    """Least-squares critic loss ½(D(x) − 1)² + ½D(G(z))² (plain Mao et al., `--loss=lsgan_mao`).

    Not the paper's appendix-B LSGAN setup, which also injects multiplicative Gaussian noise in D
    and weights the terms differently."""
    return 0.5 * tf.square(real_scores - 1.0) + 0.5 * tf.square(fake_scores)


def lsgan_g_loss(fake_scores):
    """Least-squares generator loss ½(D(G(z)) − 1)² (plain Mao et al.)."""
    return 0.5 * tf.square(fake_scores - 1.0)


def label_loss(label_logits, labels):
    """Auxiliary classification loss for label-conditional training: softmax cross-entropy."""
    return tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=label_logits)


def uses_gradient_penalty(kind: str) -> bool:
    """Whether loss `kind` needs the critic's gradient norms at interpolated images."""
    _check_kind(kind)
    return kind == "wgan_gp"


def interpolate(reals, fakes, eps):
    """The gradient penalty's images x̂ = x + ε·(G(z) − x), ε ~ U[0, 1] per sample."""
    return reals + eps * (fakes - reals)


def gradient_norms(grads):
    """Per-sample L2 norm of the critic's gradient at x̂ (NHWC): ‖∇D(x̂)‖."""
    return tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))


def discriminator_loss(
    kind: str,
    real_out,
    fake_out,
    labels=None,
    grad_norms=None,
    *,
    gp_lambda: float = WGAN_LAMBDA,
    gp_target: float = WGAN_TARGET,
    drift_epsilon: float = WGAN_EPSILON,
):
    """(per-sample critic loss, its gradient-penalty part) from D's outputs on reals and fakes.

    Column 0 of an output is the score, the columns after it the label logits. wgan_gp:
    D(G(z)) − D(x) + gradient penalty of `grad_norms` + drift (paper A.1); lsgan_mao: least
    squares, no penalty (its part is zeros). With `labels` (a conditional run) the AC-GAN
    cross-entropy of the reals and of the fakes is added.
    """
    _check_kind(kind)
    real_scores, fake_scores = real_out[:, 0], fake_out[:, 0]
    if kind == "wgan_gp":
        gp = gradient_penalty(grad_norms, gp_lambda, gp_target)
        drift = drift_penalty(real_scores, drift_epsilon)
        per_sample = wgan_d_loss(real_scores, fake_scores) + gp + drift
    else:
        gp = tf.zeros_like(real_scores)
        per_sample = lsgan_d_loss(real_scores, fake_scores)
    if labels is not None:
        per_sample += label_loss(real_out[:, 1:], labels) + label_loss(fake_out[:, 1:], labels)
    return per_sample, gp


def generator_loss(kind: str, fake_out, labels=None):
    """Per-sample generator loss from D's output on the fakes (score in column 0), plus the
    AC-GAN cross-entropy of their label logits with `labels` (a conditional run)."""
    _check_kind(kind)
    per_sample = wgan_g_loss(fake_out[:, 0]) if kind == "wgan_gp" else lsgan_g_loss(fake_out[:, 0])
    if labels is not None:
        per_sample += label_loss(fake_out[:, 1:], labels)
    return per_sample


def _check_kind(kind):
    if kind not in LOSSES:
        raise ValueError(f"unknown loss {kind!r} (known: {', '.join(LOSSES)})")
