r"""Exports a run's EMA generator (a snapshot or a checkpoint) as a TF Serving SavedModel (and a
`.keras` copy).

    python -m pgan_tf.export_saved_model --run_dir results/00001-celebahq \
        [--snapshot 6000 | --checkpoint latest] [--tflite]

Writes `<export_base>/<model_name>/<version>/` (export_base defaults to `<run_dir>/export`, so the
export stays with the run it came from) and `<export_base>/<model_name>-<version>.keras`, then
prints the signatures, a TF Serving command line and REST request examples. With --tflite also
`<model_name>-<version>.tflite` and `-fp16.tflite` (for phones and browsers: `serving/tflite.py`).
`python export/export_saved_model.py` runs the same. Exit codes: 0, 2 for any error (bad flags,
a run directory without what was asked, I/O: as this tool always had), 130 Ctrl-C.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

import pgan_tf  # noqa: F401  (makes the TensorFlow import quiet)
from pgan_tf.core import cli
from pgan_tf.serving import export, tflite
from pgan_tf.training import rundir


def _fail(message):
    return cli.fail(message, cli.USAGE)


def parse_args(argv):
    p = cli.ArgumentParser(
        prog="export_saved_model.py", description=" ".join(__doc__.split("\n\n")[0].split())
    )
    p.add_argument("--run_dir", required=True, help="training run directory (has config.json)")
    p.add_argument(
        "--snapshot",
        default=None,
        help="snapshot kimg (e.g. 6000) or path to a .keras snapshot; default: the latest",
    )
    p.add_argument(
        "--checkpoint",
        default=None,
        help="export the EMA generator of a training checkpoint instead of a snapshot: "
        "'latest' or a path such as <run_dir>/checkpoints/ckpt-120000",
    )
    p.add_argument("--export_base", default=None, help="default: <run_dir>/export")
    p.add_argument("--model_name", default="pgan", help="TF Serving model name (default: pgan)")
    p.add_argument("--version", type=int, default=None, help="default: next integer version")
    p.add_argument(
        "--overwrite", action="store_true", help="replace an existing version / .keras file"
    )
    p.add_argument("--no_warmup", action="store_true", help="do not write warmup requests")
    p.add_argument(
        "--keras_path",
        default=None,
        help="where to save the .keras copy; default <export_base>/<model_name>-<version>.keras",
    )
    p.add_argument("--no_keras", action="store_true", help="do not save the .keras copy")
    p.add_argument(
        "--tflite",
        action="store_true",
        help="also write TFLite models (float32 and float16 weights, one image per call), each "
        "checked against the SavedModel",
    )
    args = p.parse_args(argv)
    if args.checkpoint and args.snapshot:
        p.error("give --snapshot or --checkpoint, not both")
    return args


def example_inputs(signature, n=1, seed=0):
    """Example inputs for a REST request, {input name: [[...]] * n}: normal latents rounded to
    3 decimals, labels one-hot for class 0."""
    rng = np.random.RandomState(seed)
    out = {}
    for name, (_, shape) in signature["inputs"].items():
        size = shape[-1]
        if name == "labels":
            out[name] = [[1.0] + [0.0] * (size - 1) for _ in range(n)]
        else:
            out[name] = np.round(rng.randn(n, size), 3).tolist()
    return out


def usage_text(result, model_name):
    """Signature summary, a TF Serving command line and REST examples for an export."""
    base = os.path.dirname(result.path)
    lines = [f"exported version {result.version} to {result.path}", "signatures:"]
    for name, sig in result.signatures.items():
        ins = ", ".join(f"{k}: {d} {s}" for k, (d, s) in sig["inputs"].items())
        outs = ", ".join(f"{k}: {d} {s}" for k, (d, s) in sig["outputs"].items())
        lines.append(f"  {name}({ins}) -> {{{outs}}}")
    lines.append(f"warmup: {result.warmup or result.warmup_note}")
    if result.max_abs_diff is not None:
        lines.append(
            f"verified: reloaded SavedModel == Keras generator (max |diff| {result.max_abs_diff}"
            + (
                f" on {100 * result.differing_fraction:.4f}% of pixel values: float rounding)"
                if result.max_abs_diff
                else ")"
            )
        )
    inputs = example_inputs(result.signatures[export.DEFAULT_SIGNATURE])
    url = f"http://localhost:8501/v1/models/{model_name}:predict"
    if len(inputs) == 1:
        row_body = {"instances": inputs["latents"]}
    else:
        row_body = {"instances": [dict(zip(inputs, vals)) for vals in zip(*inputs.values())]}
    col_body = {"signature_name": export.PNG_SIGNATURE, "inputs": inputs}
    lines += [
        "serve with TensorFlow Serving:",
        f"  tensorflow_model_server --rest_api_port=8501 --model_name={model_name} "
        f"--model_base_path={base}",
        'request uint8 images (row format; response {"predictions": [H x W x C ints per '
        "instance]}):",
        f"  curl -s -X POST {url} -d '{json.dumps(row_body)}'",
        'request PNG files (columnar format; response {"outputs": [{"b64": "..."}]}):',
        f"  curl -s -X POST {url} -d '{json.dumps(col_body)}'",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """The exporter; returns the exit code (module docstring)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        rundir.check_run_dir(args.run_dir)
        if args.checkpoint:
            snap_path = rundir.find_checkpoint(args.run_dir, args.checkpoint)
        else:
            kimg, snap_path = rundir.find_snapshot(args.run_dir, args.snapshot)
        export_base = args.export_base or os.path.join(args.run_dir, "export")
        model_dir = os.path.join(os.path.abspath(export_base), args.model_name)
        version = export.resolve_version(model_dir, args.version, args.overwrite)
        keras_path = None
        if not args.no_keras:
            keras_path = args.keras_path or os.path.join(
                export_base, f"{args.model_name}-{version}.keras"
            )
            if not keras_path.endswith(".keras"):
                return _fail(f"--keras_path must end in .keras, got {keras_path}")
            if os.path.exists(keras_path) and not args.overwrite:
                return _fail(f"{keras_path} already exists (use --overwrite to replace it)")
        if args.checkpoint:
            generator, kimg = rundir.load_ema_generator(args.run_dir, snap_path)
        else:
            generator = rundir.load_generator(snap_path)
        result = export.export_generator(
            generator,
            export_base,
            args.model_name,
            version=version,
            overwrite=args.overwrite,
            warmup=not args.no_warmup,
        )
        if keras_path:
            keras_path = export.export_keras(generator, keras_path, overwrite=args.overwrite)
        stem = os.path.join(export_base, f"{args.model_name}-{version}")
        lite = tflite.export_tflite(result.path, stem) if args.tflite else []
    except (ValueError, export.ExportError, OSError) as e:
        return _fail(str(e))
    except KeyboardInterrupt:
        return cli.fail("interrupted; nothing was exported", cli.INTERRUPTED)
    source = "checkpoint" if args.checkpoint else "snapshot"
    print(f"{source}: {snap_path}" + (f" (kimg {kimg:g})" if kimg is not None else ""))
    print(usage_text(result, args.model_name))
    if keras_path:
        print(f"keras model: {keras_path}")
    for r in lite:
        if r.refused:
            print(f"tflite {r.variant}: not written: {r.refused}")
            continue
        print(
            f"tflite {r.variant}: {r.path} ({r.size_bytes:,} bytes), vs SavedModel max |diff| "
            f"{r.max_abs_diff} on {100 * r.differing_fraction:.3f}% of pixel values, "
            f"{1000 * r.seconds_per_image:.2f} ms per image (1 thread, median of "
            f"{tflite.TIMING_RUNS})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
