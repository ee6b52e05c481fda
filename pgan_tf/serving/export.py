"""Exports a generator as a versioned SavedModel for TensorFlow Serving (docs/design.md §6).

`<export_base>/<model_name>/<version>/` gets `saved_model.pb` + `variables/` with two signatures
traced from the Keras generator (so loading needs plain TensorFlow only, not pgan_tf):
`serving_default` (latents [+ labels] → uint8 images) and `generate_png` (→ PNG bytes), plus
warmup requests in `assets.extra/`. A version is written to a hidden temporary directory that
TF Serving ignores, verified, then renamed into place, so a server never sees half a model.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from pgan_tf.core import atomic
from pgan_tf.model import sampling

if TYPE_CHECKING:
    import keras

DEFAULT_SIGNATURE = "serving_default"
PNG_SIGNATURE = "generate_png"
IMAGES_OUTPUT = "images"
PNG_OUTPUT = "images_bytes"
WARMUP_DIR = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"
WARMUP_BATCH_SIZES = (1, 4)
_INPUT_NAMES = ("latents", "labels")


class ExportError(RuntimeError):
    """An export was refused (bad target) or failed its verification."""


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """What `export_generator` wrote.

    `signatures`: {name: {"inputs": {name: (dtype, shape)}, "outputs": {...}}} with -1 for free
    dimensions; `warmup`: path of the warmup file, or None with the reason in `warmup_note`;
    `max_abs_diff`: largest |SavedModel − Keras| over the verification uint8 pixels and
    `differing_fraction` the share of pixel values that differ (None if verification was off).
    """

    path: str
    version: int
    signatures: dict
    warmup: str
    warmup_note: str
    max_abs_diff: int
    differing_fraction: float = None


def existing_versions(model_dir: str) -> list[int]:
    """Sorted integer versions (all-digit subdirectories) under a TF Serving model directory."""
    if not os.path.isdir(model_dir):
        return []
    return sorted(
        int(name)
        for name in os.listdir(model_dir)
        if name.isdigit() and os.path.isdir(os.path.join(model_dir, name))
    )


def resolve_version(
    model_dir: str, version: int | str | None = None, overwrite: bool = False
) -> int:
    """The version to write: `version` if given (refused if it exists, unless overwrite), else
    one more than the highest existing version (1 when there is none)."""
    versions = existing_versions(model_dir)
    if version is None:
        return (versions[-1] + 1) if versions else 1
    version = int(version)
    if version < 1:
        raise ExportError(f"version must be a positive integer, got {version}")
    if version in versions and not overwrite:
        raise ExportError(
            f"version {version} already exists in {model_dir} (use overwrite / --overwrite to "
            "replace it)"
        )
    return version


def generator_input_specs(generator: keras.Model) -> list[tf.TensorSpec]:
    """[TensorSpec] of the generator's inputs, named `latents` (and `labels`), batch free."""
    names = [t.name for t in generator.inputs]
    if names not in (["latents"], ["latents", "labels"]):
        raise ExportError(
            f"generator inputs must be ['latents'] or ['latents', 'labels'], got {names}"
        )
    return [
        tf.TensorSpec([None, int(t.shape[-1])], tf.float32, name=n)
        for t, n in zip(generator.inputs, names)
    ]


def to_uint8_tf(images: tf.Tensor) -> tf.Tensor:
    """Graph version of sampling.to_uint8: clip(rint((x + 1) · 127.5)) as uint8 (round half to
    even)."""
    return tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0.0, 255.0), tf.uint8)


class GeneratorModule(tf.Module):
    """Holds the generator's variables and the traced serving functions."""

    def __init__(self, generator: keras.Model) -> None:
        super().__init__(name="pgan_generator")
        self.generator = generator
        specs = generator_input_specs(generator)
        conditional = len(specs) == 2

        def images(*inputs):
            x = generator(list(inputs) if conditional else inputs[0], training=False)
            return to_uint8_tf(tf.cast(x, tf.float32))

        def serve(*inputs):
            return {IMAGES_OUTPUT: images(*inputs)}

        def png(*inputs):
            encoded = tf.map_fn(tf.io.encode_png, images(*inputs), fn_output_signature=tf.string)
            return {PNG_OUTPUT: encoded}

        self.serve = tf.function(serve, input_signature=specs)
        self.png = tf.function(png, input_signature=specs)

    def signatures(self) -> dict[str, tf.types.experimental.ConcreteFunction]:
        return {
            DEFAULT_SIGNATURE: self.serve.get_concrete_function(),
            PNG_SIGNATURE: self.png.get_concrete_function(),
        }


def signature_summary(
    signature_fn: tf.types.experimental.ConcreteFunction,
) -> dict[str, dict[str, tuple[str, list[int]]]]:
    """{"inputs": {name: (dtype, shape)}, "outputs": {...}} of a concrete function, -1 for None."""

    def describe(spec):
        return spec.dtype.name, [-1 if d is None else int(d) for d in spec.shape]

    specs = tf.nest.flatten(signature_fn.structured_input_signature)
    return {
        "inputs": {spec.name: describe(spec) for spec in specs},
        "outputs": {
            name: describe(spec) for name, spec in sorted(signature_fn.structured_outputs.items())
        },
    }


def random_inputs(
    specs: list[tf.TensorSpec], batch_size: int, rng: sampling.Rng
) -> dict[str, np.ndarray]:
    """{name: array} of random inputs for the signature: normal latents, one-hot labels."""
    out = {}
    for spec in specs:
        size = int(spec.shape[-1])
        if spec.name == "labels":
            out[spec.name] = sampling.random_labels(rng, batch_size, size)
        else:
            out[spec.name] = sampling.random_latents(rng, batch_size, size)
    return out


def _serving_apis():
    """(predict_pb2, prediction_log_pb2), or (None, reason) when tensorflow-serving-api is
    absent."""
    try:
        from tensorflow_serving.apis import predict_pb2, prediction_log_pb2
    except ImportError as e:
        return (
            None,
            f"tensorflow-serving-api is not installed ({e}); pip install 'pgan_tf[serving]'",
        )
    return (predict_pb2, prediction_log_pb2), None


def write_warmup(
    saved_model_dir: str, model_name: str, specs: list[tf.TensorSpec], seed: int
) -> tuple[str | None, str]:
    """Writes `assets.extra/tf_serving_warmup_requests` (TFRecord of PredictionLog).

    Returns (path, note); path is None when the serving protos are unavailable.
    """
    apis, reason = _serving_apis()
    if apis is None:
        return None, f"warmup skipped: {reason}"
    predict_pb2, prediction_log_pb2 = apis
    rng = np.random.RandomState(seed + 1)
    os.makedirs(os.path.join(saved_model_dir, WARMUP_DIR), exist_ok=True)
    path = os.path.join(saved_model_dir, WARMUP_DIR, WARMUP_FILE)
    with tf.io.TFRecordWriter(path) as writer:
        for batch in WARMUP_BATCH_SIZES:
            request = predict_pb2.PredictRequest()
            request.model_spec.name = model_name
            request.model_spec.signature_name = DEFAULT_SIGNATURE
            for name, value in random_inputs(specs, batch, rng).items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
            writer.write(log.SerializeToString())
    return (
        path,
        f"{len(WARMUP_BATCH_SIZES)} warmup requests (batch sizes {list(WARMUP_BATCH_SIZES)})",
    )


def read_warmup_requests(path: str) -> list[tuple[str, dict[str, np.ndarray]]]:
    """The PredictRequests of a warmup file, as [(signature_name, {input: np.ndarray})]."""
    apis, reason = _serving_apis()
    if apis is None:
        raise ExportError(f"cannot read warmup requests: {reason}")
    _, prediction_log_pb2 = apis
    requests = []
    for record in tf.data.TFRecordDataset(path):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        req = log.predict_log.request
        inputs = {k: tf.make_ndarray(v) for k, v in req.inputs.items()}
        requests.append((req.model_spec.signature_name, inputs))
    return requests


# The traced graph may sum in another order than Keras' eager call: float outputs then differ by
# ~1e-6, which moves a pixel lying on a rounding boundary by one level (seen at 1024²: about one
# value in a million). More than that is an export bug.
MAX_PIXEL_DIFF = 1
MAX_DIFFERING_FRACTION = 1e-3


def check_pixels_agree(got: np.ndarray, expected: np.ndarray) -> tuple[int, float]:
    """(max |diff|, share of differing values) of two uint8 image batches; ExportError past the
    float-rounding allowance (MAX_PIXEL_DIFF on at most MAX_DIFFERING_FRACTION of the values)."""
    delta = np.abs(got.astype(np.int32) - expected.astype(np.int32))
    diff, fraction = int(delta.max()), float(np.count_nonzero(delta)) / delta.size
    if diff > MAX_PIXEL_DIFF or fraction > MAX_DIFFERING_FRACTION:
        raise ExportError(
            "verification failed: SavedModel images differ from the Keras generator's by up to "
            f"{diff} on {100 * fraction:.4f}% of the pixel values (allowed: {MAX_PIXEL_DIFF} on "
            f"{100 * MAX_DIFFERING_FRACTION:g}%)"
        )
    return diff, fraction


def verify_saved_model(
    path: str, generator: keras.Model, seed: int = 0, batch_size: int = 8
) -> tuple[int, float]:
    """Reloads the SavedModel and checks it against the Keras generator; returns (max |diff|,
    share of differing pixel values).

    serving_default must reproduce to_uint8(generator(x)) up to float rounding (at most
    MAX_PIXEL_DIFF on at most MAX_DIFFERING_FRACTION of the values), the PNG signature must decode
    to serving_default's pixels, and every warmup request must run. Raises ExportError otherwise.
    """
    loaded = tf.saved_model.load(path)
    sampler = sampling.Sampler.from_model(generator, cap=batch_size)
    inputs = random_inputs(
        generator_input_specs(generator), sampler.batch_size, np.random.RandomState(seed)
    )
    expected = sampler(inputs["latents"], inputs.get("labels"))
    feed = {k: tf.constant(v) for k, v in inputs.items()}
    got = loaded.signatures[DEFAULT_SIGNATURE](**feed)[IMAGES_OUTPUT].numpy()
    if got.shape != expected.shape or got.dtype != np.uint8:
        raise ExportError(
            f"verification failed: SavedModel gave {got.dtype} {got.shape}, expected uint8 "
            f"{expected.shape}"
        )
    diff, fraction = check_pixels_agree(got, expected)
    pngs = loaded.signatures[PNG_SIGNATURE](**feed)[PNG_OUTPUT].numpy()
    decoded = np.stack([tf.io.decode_png(p, channels=expected.shape[-1]).numpy() for p in pngs])
    if not np.array_equal(decoded, got):
        raise ExportError(
            "verification failed: the PNG signature's images differ from serving_default's"
        )
    warmup = os.path.join(path, WARMUP_DIR, WARMUP_FILE)
    if os.path.isfile(warmup):
        for signature, request in read_warmup_requests(warmup):
            out = loaded.signatures[signature](**{k: tf.constant(v) for k, v in request.items()})
            if out[IMAGES_OUTPUT].shape[0] != len(request["latents"]):
                raise ExportError("verification failed: a warmup request gave the wrong batch size")
    return diff, fraction


def _remove_if_empty(dirs):
    for d in reversed(dirs):
        try:
            os.rmdir(d)
        except OSError:
            return


def _makedirs_tracked(path):
    """os.makedirs that returns the directories it created (outermost first)."""
    created = []
    path = os.path.abspath(path)
    while not os.path.isdir(path):
        created.append(path)
        path = os.path.dirname(path)
    for d in reversed(created):
        os.mkdir(d)
    return list(reversed(created))


def _install(tmp_dir, final_dir, overwrite):
    """Renames tmp_dir to final_dir (`atomic.install_dir`); with overwrite, an existing final_dir
    is replaced (without it, a version that appeared meanwhile is an error)."""
    if os.path.exists(final_dir) and not overwrite:
        raise ExportError(
            f"version {os.path.basename(final_dir)} appeared in {os.path.dirname(final_dir)} "
            "during the export"
        )
    atomic.install_dir(tmp_dir, final_dir, replace=overwrite)


def export_generator(
    generator: keras.Model,
    export_base: str,
    model_name: str,
    *,
    version: int | str | None = None,
    overwrite: bool = False,
    warmup: bool = True,
    verify: bool = True,
    seed: int = 0,
) -> ExportResult:
    """Writes `generator` to `<export_base>/<model_name>/<version>/` for TF Serving.

    Nothing is left behind on failure: the temporary directory and any directories this call
    created are removed, and existing versions are untouched.
    """
    if not model_name or os.sep in model_name or model_name.startswith("."):
        raise ExportError(f"invalid model name: {model_name!r}")
    model_dir = os.path.join(os.path.abspath(export_base), model_name)
    version = resolve_version(model_dir, version, overwrite)
    module = GeneratorModule(generator)
    signatures = module.signatures()
    created = _makedirs_tracked(model_dir)
    final_dir = os.path.join(model_dir, str(version))
    try:
        tmp_dir = atomic.make_temp_dir(final_dir)
    except atomic.WriteError as e:
        _remove_if_empty(created)
        raise ExportError(str(e)) from None
    try:
        tf.saved_model.save(module, tmp_dir, signatures=signatures)
        if warmup:
            warmup_path, note = write_warmup(
                tmp_dir, model_name, generator_input_specs(generator), seed
            )
        else:
            warmup_path, note = None, "warmup skipped: disabled"
        diff, fraction = verify_saved_model(tmp_dir, generator, seed) if verify else (None, None)
        _install(tmp_dir, final_dir, overwrite)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        _remove_if_empty(created)
        raise
    if warmup_path is not None:
        warmup_path = os.path.join(final_dir, WARMUP_DIR, WARMUP_FILE)
    return ExportResult(
        path=final_dir,
        version=version,
        signatures={name: signature_summary(fn) for name, fn in sorted(signatures.items())},
        warmup=warmup_path,
        warmup_note=note,
        max_abs_diff=diff,
        differing_fraction=fraction,
    )


def export_keras(generator: keras.Model, path: str, overwrite: bool = False) -> str:
    """Saves the generator as a `.keras` file (loads with keras.saving.load_model after
    `import pgan_tf.model.layers`); written to a temporary name, then renamed."""
    if not path.endswith(".keras"):
        raise ExportError(f"a Keras model path must end in .keras, got {path}")
    if os.path.exists(path) and not overwrite:
        raise ExportError(f"{path} already exists (use overwrite / --overwrite to replace it)")
    path = os.path.abspath(path)
    created = _makedirs_tracked(os.path.dirname(path))
    try:
        atomic.replace_via_temp(path, generator.save)
    except atomic.WriteError as e:
        _remove_if_empty(created)
        raise ExportError(str(e)) from None
    except BaseException:
        _remove_if_empty(created)
        raise
    return path
