"""GAN losses, per sample, as pure functions of discriminator outputs (paper A.1, §6.5).

The training step averages them over the global batch (`tf.nn.compute_average_loss`), so the
result does not depend on the number of replicas.
"""
import tensorflow as tf

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
