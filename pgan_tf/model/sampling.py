"""Running a generator in batches sized by memory, never by a fixed count.

A fixed batch of 64 is fine at 32² but not at 1024²: the paper's generator holds a
[N, 1024, 1024, 32] tensor after its last upsample, 2³¹ elements at N = 64, past what a single
CPU convolution can index (it crashed the process). Every place that samples a generator
(training grids and metrics, evaluate, generate, export checks) sizes its batches here.
"""
import math

import numpy as np

# Largest activation one batch may hold, in elements (2²⁶ float32 = 256 MiB): far below 2³¹ and
# small enough for a few such tensors to live at once on a 24 GB machine or a 16 GB GPU.
ACTIVATION_BUDGET = 2**26
MAX_BATCH = 64
# Without the layers (a SavedModel), the widest activation is estimated from the output: the
# paper's generators peak at ≤ 11× their output's elements (1024² × 32 after the last upsample).
OUTPUT_TO_WIDEST = 16


def widest_activation(model):
    """Elements per sample of the largest layer output of a Keras functional model."""
    widest = 1
    for layer in model.layers:
        for node_output in _outputs(layer):
            dims = node_output.shape[1:]
            if all(d is not None for d in dims):
                widest = max(widest, math.prod(int(d) for d in dims))
    return widest


def _outputs(layer):
    out = getattr(layer, "output", None)
    if out is None:
        return []
    return out if isinstance(out, (list, tuple)) else [out]


def batch_size_for(elements_per_sample, budget=ACTIVATION_BUDGET, cap=MAX_BATCH):
    """The largest batch (1..cap) whose widest activation stays within `budget` elements."""
    return int(max(1, min(cap, budget // max(1, int(elements_per_sample)))))


def model_batch_size(model, cap=MAX_BATCH):
    """Batch size for sampling a Keras generator."""
    return batch_size_for(widest_activation(model), cap=cap)


def output_batch_size(height, width, channels, cap=MAX_BATCH):
    """Batch size for a generator known only by its output shape (e.g. a SavedModel)."""
    return batch_size_for(height * width * channels * OUTPUT_TO_WIDEST, cap=cap)


def in_batches(fn, latents, labels=None, batch_size=MAX_BATCH):
    """Concatenated `fn(latents[i:j], labels[i:j] or None)` over batches of `batch_size`."""
    n = len(latents)
    if n == 0:
        raise ValueError("no latents to sample")
    out = []
    for i in range(0, n, batch_size):
        out.append(np.asarray(fn(latents[i:i + batch_size], None if labels is None else labels[i:i + batch_size])))
    return np.concatenate(out)


def to_uint8(images):
    """Generator output in [-1, 1] (float, NHWC) → uint8 pixels: clip(rint((x + 1) · 127.5))."""
    x = np.asarray(images, dtype=np.float32)
    return np.clip(np.rint((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


def generate_uint8(generator, latents, labels=None, batch_size=None):
    """uint8 NHWC samples of a Keras generator, in memory-sized batches."""
    batch_size = batch_size or model_batch_size(generator)

    def run(z, y):
        return to_uint8(generator(z if y is None else [z, y], training=False))

    return in_batches(run, latents, labels, batch_size)
