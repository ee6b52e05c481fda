"""Mode coverage on the built-in synthetic dataset: how many of its known modes a generator
produces, and how evenly (pure NumPy on top of `pgan_tf.synthetic.classify`)."""
import numpy as np

from pgan_tf import synthetic


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

    When no image fits a mode, evenness is 0 and kl_to_uniform log(NUM_MODES), the values of a
    total collapse, so that the numbers stay finite for logs and plots.
    """
    if len(images) == 0:
        raise ValueError("mode_coverage needs at least one image")
    counts, unclassified = mode_histogram(images)
    total = counts.sum()
    k = synthetic.NUM_MODES
    p = counts[counts > 0] / max(total, 1)
    entropy = float(-(p * np.log(p)).sum())
    return {
        "modes_hit": int((counts > 0).sum()),
        "coverage": float((counts > 0).sum() / k),
        "unclassified": float(unclassified / len(images)),
        "evenness": entropy / float(np.log(k)),
        "kl_to_uniform": float(np.log(k)) - entropy,
    }
