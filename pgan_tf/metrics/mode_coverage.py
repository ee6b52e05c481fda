"""Mode coverage on the built-in synthetic dataset: how many of its known modes a generator
produces, and how evenly (pure NumPy on top of `pgan_tf.data.synthetic.classify`)."""

import numpy as np

from pgan_tf.data import synthetic


def mode_histogram(images):
    """(counts per mode [NUM_MODES], number of images that fit no mode)."""
    ids = synthetic.classify(images)
    hit = ids[ids >= 0]
    return np.bincount(hit, minlength=synthetic.NUM_MODES), int(len(ids) - len(hit))


def mode_coverage(images):
    """Mode statistics of uint8 NHWC RGB images:

    modes_hit      modes produced at least once
    coverage       modes_hit / NUM_MODES
    unclassified   fraction of images that fit no mode
    evenness       entropy of the classified images' mode histogram / log(NUM_MODES): 1 = uniform
    kl_to_uniform  KL(histogram || uniform) = log(NUM_MODES) − entropy, in nats; 0 = uniform
    shape_evenness, colour_evenness
                   the same evenness for each factor alone: a generator that draws every colour
                   but only discs has colour_evenness ≈ 1 and shape_evenness ≈ 0, which
                   modes_hit (one sample suffices) does not show

    When no image fits a mode, evenness is 0 and kl_to_uniform log(NUM_MODES), the values of a
    total collapse, so that the numbers stay finite for logs and plots.
    """
    if len(images) == 0:
        raise ValueError("mode_coverage needs at least one image")
    counts, unclassified = mode_histogram(images)
    k = synthetic.NUM_MODES
    entropy = _entropy(counts)
    by_factor = counts.reshape(len(synthetic.SHAPES), len(synthetic.COLOURS))
    return {
        "modes_hit": int((counts > 0).sum()),
        "coverage": float((counts > 0).sum() / k),
        "unclassified": float(unclassified / len(images)),
        "evenness": entropy / float(np.log(k)),
        "kl_to_uniform": float(np.log(k)) - entropy,
        "shape_evenness": _entropy(by_factor.sum(1)) / float(np.log(len(synthetic.SHAPES))),
        "colour_evenness": _entropy(by_factor.sum(0)) / float(np.log(len(synthetic.COLOURS))),
    }


def _entropy(counts):
    """Entropy in nats of a histogram; 0 for an empty one."""
    p = counts[counts > 0] / max(counts.sum(), 1)
    return float(-(p * np.log(p)).sum())
