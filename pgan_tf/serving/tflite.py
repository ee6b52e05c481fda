"""The EMA generator for phones and browsers: TFLite models converted from the exported SavedModel.

The SavedModel's `serving_default` concrete function (latents [+ labels] → uint8 images, the
same graph TF Serving runs) goes through `tf.lite.TFLiteConverter`, once with float32 weights and
once with float16 weights (half the size; the interpreter widens them to float32 when it loads
them, so the arithmetic stays float32). Each model is run by the TFLite interpreter on the export
check's random inputs and compared with the SavedModel: its pixels must be within one level.
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings

import numpy as np
import tensorflow as tf

from pgan_tf.core import atomic
from pgan_tf.serving import export

VARIANTS = ("float32", "float16")
TIMING_RUNS = 5


@dataclasses.dataclass(frozen=True)
class TFLiteResult:
    """One written TFLite model: its file, size, its agreement with the SavedModel (max |diff| of
    the uint8 pixels, share of differing values) and the median seconds for one image."""

    variant: str
    path: str
    size_bytes: int
    max_abs_diff: int
    differing_fraction: float
    seconds_per_image: float
    refused: str = ""  # why a float16 model was not written (its pixels off by more than 1)


def one_image_function(loaded) -> tf.types.experimental.ConcreteFunction:
    """serving_default called on a batch of one: the static shape lets the converter map every
    convolution to a TFLite builtin (with a free batch, the nearest-neighbour upsampling's
    `tf.repeat` leaves the following convolutions' shapes unknown, which TFLite's conv_2d cannot
    take)."""
    fn = loaded.signatures[export.DEFAULT_SIGNATURE]
    specs = tf.nest.flatten(fn.structured_input_signature)
    names = [spec.name for spec in specs]

    def one(*inputs):
        return fn(**dict(zip(names, inputs)))

    fixed = [tf.TensorSpec([1, *spec.shape[1:]], spec.dtype, name=spec.name) for spec in specs]
    return tf.function(one, input_signature=fixed).get_concrete_function()


def convert(saved_model_dir: str, variant: str = "float32") -> bytes:
    """The flatbuffer of the SavedModel's serving_default for one image per call, with float32 or
    float16 weights."""
    if variant not in VARIANTS:
        raise export.ExportError(f"TFLite variant must be one of {VARIANTS}, got {variant!r}")
    loaded = tf.saved_model.load(saved_model_dir)
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [one_image_function(loaded)], loaded
    )
    if variant == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


class Runner:
    """A TFLite model run by `tf.lite.Interpreter` (one thread), one image per call."""

    def __init__(self, model: bytes, num_threads: int = 1) -> None:
        with warnings.catch_warnings():  # its successor, ai-edge-litert, has the same API
            warnings.filterwarnings("ignore", "(?s).*tf.lite.Interpreter is deprecated")
            self.interpreter = tf.lite.Interpreter(model_content=model, num_threads=num_threads)
        self.run = self.interpreter.get_signature_runner()

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """uint8 NHWC images of {input name: [N, ...] array}, N calls of one image."""
        n = len(next(iter(inputs.values())))
        out = [self.run(**{k: v[i : i + 1] for k, v in inputs.items()}) for i in range(n)]
        return np.concatenate([next(iter(o.values())) for o in out])


def saved_model_images(saved_model_dir: str, inputs: dict[str, np.ndarray]) -> np.ndarray:
    loaded = tf.saved_model.load(saved_model_dir)
    feed = {k: tf.constant(v) for k, v in inputs.items()}
    return loaded.signatures[export.DEFAULT_SIGNATURE](**feed)[export.IMAGES_OUTPUT].numpy()


def check_inputs(saved_model_dir: str, batch_size: int, seed: int) -> dict[str, np.ndarray]:
    """The export check's random inputs, shaped from the SavedModel's signature."""
    loaded = tf.saved_model.load(saved_model_dir)
    specs = tf.nest.flatten(loaded.signatures[export.DEFAULT_SIGNATURE].structured_input_signature)
    return export.random_inputs(specs, batch_size, np.random.RandomState(seed))


def seconds_per_image(runner: Runner, inputs: dict[str, np.ndarray], runs: int) -> float:
    """Median wall time of `runs` one-image calls (after one untimed call)."""
    one = {k: v[:1] for k, v in inputs.items()}
    runner(one)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        runner(one)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def export_tflite(
    saved_model_dir: str,
    path_stem: str,
    *,
    variants=VARIANTS,
    batch_size: int = 4,
    seed: int = 0,
    timing_runs: int = TIMING_RUNS,
) -> list[TFLiteResult]:
    """Writes `<path_stem>.tflite` (float32) and `<path_stem>-fp16.tflite` (float16 weights), each
    only after it matched the SavedModel; returns what was tried. ExportError when float32 does
    not match; a float16 model that does not is not written (its `refused` says why): rounding
    weights to float16 changes the function itself, and pixel norm on few channels can amplify
    that past one level (a Keras model with float16-rounded weights differs as much)."""
    inputs = check_inputs(saved_model_dir, batch_size, seed)
    expected = saved_model_images(saved_model_dir, inputs)
    results = []
    for variant in variants:
        model = convert(saved_model_dir, variant)
        runner = Runner(model)
        got = runner(inputs)
        if got.shape != expected.shape or got.dtype != np.uint8:
            raise export.ExportError(
                f"TFLite {variant}: gave {got.dtype} {got.shape}, expected uint8 {expected.shape}"
            )
        path = path_stem + ("" if variant == "float32" else "-fp16") + ".tflite"
        try:
            diff, fraction = pixel_agreement(got, expected, variant)
        except export.ExportError as e:
            if variant == "float32":
                raise
            delta = int(np.abs(got.astype(np.int32) - expected.astype(np.int32)).max())
            results.append(
                TFLiteResult(variant, path, 0, delta, float("nan"), float("nan"), str(e))
            )
            continue

        def write(tmp, model=model):
            with open(tmp, "wb") as f:
                f.write(model)

        atomic.replace_via_temp(path, write)
        latency = seconds_per_image(runner, inputs, timing_runs) if timing_runs else float("nan")
        results.append(TFLiteResult(variant, path, os.path.getsize(path), diff, fraction, latency))
    return results


def pixel_agreement(got: np.ndarray, expected: np.ndarray, variant: str) -> tuple[int, float]:
    """(max |diff|, share of differing values); ExportError past one level. The float32 model also
    keeps the export check's bound on the share (float rounding only); float16 weights move many
    values by one level, so only the one-level bound applies to them."""
    delta = np.abs(got.astype(np.int32) - expected.astype(np.int32))
    diff, fraction = int(delta.max()), float(np.count_nonzero(delta)) / delta.size
    if variant == "float32":
        try:
            return export.check_pixels_agree(got, expected)
        except export.ExportError as e:
            raise export.ExportError(f"TFLite float32: {e}") from None
    if diff > export.MAX_PIXEL_DIFF:
        raise export.ExportError(
            f"TFLite {variant}: images differ from the SavedModel's by up to {diff} levels "
            f"(allowed: {export.MAX_PIXEL_DIFF})"
        )
    return diff, fraction
