"""Running a generator in batches sized by memory, never by a fixed count.

A fixed batch of 64 is fine at 32² but not at 1024²: the paper's generator holds a
[N, 1024, 1024, 32] tensor after its last upsample, 2³¹ elements at N = 64, past what a single
CPU convolution can index (it crashed the process). Every place that samples a generator
(training grids and metrics, evaluate, generate, export checks) does it through one `Sampler`,
with its random latents and labels drawn here from the caller's random generator.
"""

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from pgan_tf.core.labels import one_hot

# Callers keep their own streams: training, generate and export draw from a RandomState,
# evaluate from a Generator.
Rng = np.random.RandomState | np.random.Generator

# Largest activation one batch may hold, in elements (2²⁶ float32 = 256 MiB): far below 2³¹ and
# small enough for a few such tensors to live at once on a 24 GB machine or a 16 GB GPU.
ACTIVATION_BUDGET = 2**26
MAX_BATCH = 64
# Without the layers (a SavedModel), the widest activation is estimated from the output: the
# paper's generators peak at ≤ 11× their output's elements (1024² × 32 after the last upsample).
OUTPUT_TO_WIDEST = 16


def widest_activation(model) -> int:
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


def batch_size_for(
    elements_per_sample: int, budget: int = ACTIVATION_BUDGET, cap: int = MAX_BATCH
) -> int:
    """The largest batch (1..cap) whose widest activation stays within `budget` elements."""
    return int(max(1, min(cap, budget // max(1, int(elements_per_sample)))))


def model_batch_size(model, cap: int = MAX_BATCH) -> int:
    """Batch size for sampling a Keras generator."""
    return batch_size_for(widest_activation(model), cap=cap)


def output_batch_size(height: int, width: int, channels: int, cap: int = MAX_BATCH) -> int:
    """Batch size for a generator known only by its output shape (e.g. a SavedModel)."""
    return batch_size_for(height * width * channels * OUTPUT_TO_WIDEST, cap=cap)


def to_uint8(images) -> np.ndarray:
    """Generator output in [-1, 1] (float, NHWC) → uint8 pixels: clip(rint((x + 1) · 127.5))."""
    x = np.asarray(images, dtype=np.float32)
    return np.clip(np.rint((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


def random_latents(rng: Rng, n: int, latent_size: int) -> np.ndarray:
    """[n, latent_size] float32 latents from N(0, I), drawn from `rng`."""
    return rng.standard_normal((n, latent_size)).astype(np.float32)


def random_labels(rng: Rng, n: int, label_size: int) -> np.ndarray | None:
    """[n, label_size] one-hot labels of uniformly random classes drawn from `rng` (None, and
    nothing drawn, for an unconditional generator)."""
    if not label_size:
        return None
    if isinstance(rng, np.random.Generator):
        return one_hot(rng.integers(label_size, size=n), label_size)
    return one_hot(rng.randint(label_size, size=n), label_size)


@dataclasses.dataclass(frozen=True)
class Sampler:
    """A generator as `fn(latents, labels or None)` → uint8 NHWC images, run `batch_size` at a time.

    `source` says where the generator came from, for messages.
    """

    fn: Callable[[np.ndarray, np.ndarray | None], np.ndarray]
    latent_size: int
    label_size: int = 0
    batch_size: int = MAX_BATCH
    source: str = ""

    @classmethod
    def from_model(cls, model, cap: int = MAX_BATCH, source: str = "") -> "Sampler":
        """The Sampler of a Keras generator (inputs latents [+ labels]), its batches sized by its
        widest layer output, at most `cap`."""

        def fn(latents, labels):
            return to_uint8(model(latents if labels is None else [latents, labels], training=False))

        latent_size = int(model.inputs[0].shape[-1])
        label_size = int(model.inputs[1].shape[-1]) if len(model.inputs) > 1 else 0
        return cls(fn, latent_size, label_size, model_batch_size(model, cap), source)

    def __call__(self, latents: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """uint8 NHWC images of the latents (and labels), concatenated over the batches."""
        n = len(latents)
        if n == 0:
            raise ValueError("no latents to sample")
        out = []
        for i in range(0, n, self.batch_size):
            batch_labels = None if labels is None else labels[i : i + self.batch_size]
            out.append(np.asarray(self.fn(latents[i : i + self.batch_size], batch_labels)))
        return np.concatenate(out)

    def random_inputs(self, rng: Rng, n: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(latents, labels or None) for n images: the latents drawn first, then the labels."""
        latents = random_latents(rng, n, self.latent_size)
        return latents, random_labels(rng, n, self.label_size)

    def sample(self, n: int, rng: Rng) -> np.ndarray:
        """n images of random latents (and random classes for a conditional generator)."""
        return self(*self.random_inputs(rng, n))
