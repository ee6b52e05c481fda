"""Inception Score (Salimans et al. 2016), as reported in the paper's CIFAR-10 result (§6.5).

IS = exp(E_x KL(p(y|x) ‖ p(y))), computed on each of `splits` chunks of the images in their order
with p(y) the chunk's mean prediction; the score is the mean over chunks (± their std). Chunk i
holds images [i·N // splits, (i+1)·N // splits), as in improved-gan's `inception_score/model.py`
and the original's `metrics/inception_score.py`. Class probabilities come from `InceptionFeatures`.
"""

import numpy as np

from pgan_tf.metrics.fid import InceptionFeatures


def inception_score_from_probs(probs, splits=10):
    """(mean, std) of the Inception Score over `splits` chunks of probabilities [N, K]."""
    p = np.asarray(probs, np.float64)
    if p.ndim != 2 or p.shape[0] < splits or splits < 1:
        raise ValueError(f"need probabilities [N, K] with N >= splits={splits}, got {p.shape}")
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("rows of probs must be probability distributions (>= 0, sum to 1)")
    scores = []
    bounds = [i * len(p) // splits for i in range(splits + 1)]
    for chunk in (p[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:])):
        py = chunk.mean(axis=0, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(chunk > 0, chunk * (np.log(chunk) - np.log(py)), 0.0)
        scores.append(np.exp(np.mean(np.sum(terms, axis=1))))
    return float(np.mean(scores)), float(np.std(scores))


class ISAccumulator:
    """Collects class probabilities of streamed image batches; result() → IS mean and std."""

    def __init__(self, inception, splits=10):
        self.inception = inception
        self.splits = splits
        self._probs = []

    def add(self, batch):
        """Adds a uint8 NHWC batch."""
        self.add_probs(self.inception(np.asarray(batch))[1])

    def add_probs(self, probs):
        """Adds class probabilities [N, K] already computed by the same network."""
        self._probs.append(np.asarray(probs, np.float64))

    def result(self):
        """{'IS_mean': ..., 'IS_std': ...}."""
        mean, std = inception_score_from_probs(np.concatenate(self._probs), self.splits)
        return {"IS_mean": mean, "IS_std": std}


def inception_score(images, inception, splits=10):
    """(mean, std) IS of uint8 NHWC images (array or iterable of batches).

    `inception` is an InceptionFeatures or a path to its weights.
    """
    if not isinstance(inception, InceptionFeatures):
        inception = InceptionFeatures(inception)
    acc = ISAccumulator(inception, splits)
    for batch in [images] if isinstance(images, np.ndarray) else images:
        acc.add(batch)
    res = acc.result()
    return res["IS_mean"], res["IS_std"]
