"""Samples a trained generator: PNG images and grids, an interpolation GIF or MP4, a training MP4.

    python -m pgan_tf.generate --model=<SavedModel dir | model base dir | run dir | .keras> \
        --out=DIR [--num_images=N] [--grid=RxC] [--num_grids=K] [--shrink=N] \
        [--interpolate=STEPS [--keyframes=K] [--nogif]] [--seed=S] [--labels=random|CLASS|C1,...]
    python -m pgan_tf.generate --model=MODEL --video=OUT.mp4 [--duration_sec=60] [--fps=30] \
        [--smoothing_sec=1] [--grid=RxC] [--seed=1000] [--shrink=N]
    python -m pgan_tf.generate --model=RUN_DIR --training_video=OUT.mp4 [--duration_sec=20] \
        [--fps=30]

SavedModels are run through their `serving_default` signature with plain TensorFlow; run
directories through their latest snapshot. Images are written as they are made, videos streamed
to the encoder (`pgan_tf.media`). The same seed gives byte-identical PNG files.
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np
import tensorflow as tf

import pgan_tf  # noqa: F401  (makes the TensorFlow import quiet)
from pgan_tf.core import atomic, cli
from pgan_tf.core.images import save_png, to_pil
from pgan_tf.core.labels import one_hot
from pgan_tf.media import bulk, interpolation_video, mp4, training_video
from pgan_tf.media import frames as frame_ops
from pgan_tf.model import sampling
from pgan_tf.training import rundir

BATCH = 32


def slerp(a, b, t):
    """Spherical interpolation between the rows of a and b at fraction t (scalar or [N]).

    Follows the great circle between the directions while interpolating the angle, so equal-norm
    endpoints give equal-norm points; t = 0 and t = 1 return a and b exactly. Nearly parallel
    rows fall back to linear interpolation.
    """
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    t = np.asarray(t, np.float64)[..., None]
    na = np.linalg.norm(a64, axis=-1, keepdims=True)
    nb = np.linalg.norm(b64, axis=-1, keepdims=True)
    cos = np.clip(
        np.sum(a64 * b64, axis=-1, keepdims=True) / np.maximum(na * nb, 1e-300), -1.0, 1.0
    )
    omega = np.arccos(cos)
    sin = np.sin(omega)
    parallel = sin < 1e-6
    safe = np.where(parallel, 1.0, sin)
    wa = np.where(parallel, 1.0 - t, np.sin((1.0 - t) * omega) / safe)
    wb = np.where(parallel, t, np.sin(t * omega) / safe)
    return (wa * a64 + wb * b64).astype(np.result_type(a, b))


def interpolation_latents(rng, keyframes, steps, latent_size):
    """[keyframes · steps, latent_size]: slerp around a closed loop of random latents."""
    keys = rng.randn(keyframes, latent_size).astype(np.float32)
    t = np.arange(steps) / steps
    nxt = np.roll(keys, -1, axis=0)
    return np.concatenate(
        [
            slerp(np.repeat(keys[i : i + 1], steps, 0), np.repeat(nxt[i : i + 1], steps, 0), t)
            for i in range(keyframes)
        ]
    )


def _saved_model_sampler(path):
    loaded = tf.saved_model.load(path)
    if "serving_default" not in loaded.signatures:
        raise ValueError(f"SavedModel has no serving_default signature: {path}")
    sig = loaded.signatures["serving_default"]
    specs = sig.structured_input_signature[1]
    if "latents" not in specs:
        raise ValueError(f"serving_default of {path} has no 'latents' input: {sorted(specs)}")

    def fn(latents, labels):
        feed = {"latents": tf.constant(latents)}
        if labels is not None:
            feed["labels"] = tf.constant(labels)
        return sig(**feed)["images"].numpy()

    label_size = int(specs["labels"].shape[-1]) if "labels" in specs else 0
    _, h, w, c = sig.structured_outputs["images"].shape
    batch = sampling.output_batch_size(h, w, c, cap=BATCH) if None not in (h, w, c) else 1
    return sampling.Sampler(
        fn, int(specs["latents"].shape[-1]), label_size, batch, f"SavedModel {path}"
    )


def _keras_sampler(path, source):
    return sampling.Sampler.from_model(rundir.load_generator(path), cap=BATCH, source=source)


def load_sampler(model):
    """A `sampling.Sampler` from a SavedModel dir, a TF Serving model base dir (latest version), a
    run dir (latest snapshot) or a `.keras` file."""
    if os.path.isfile(model) and model.endswith(".keras"):
        return _keras_sampler(model, f"Keras model {model}")
    if not os.path.isdir(model):
        raise ValueError(f"model not found: {model}")
    if os.path.isfile(os.path.join(model, "saved_model.pb")):
        return _saved_model_sampler(model)
    if os.path.isfile(os.path.join(model, rundir.CONFIG_NAME)):
        kimg, path = rundir.latest_snapshot(model)
        return _keras_sampler(path, f"run {model}, snapshot kimg {kimg}")
    versions = sorted(
        int(d)
        for d in os.listdir(model)
        if d.isdigit() and os.path.isfile(os.path.join(model, d, "saved_model.pb"))
    )
    if versions:
        return _saved_model_sampler(os.path.join(model, str(versions[-1])))
    raise ValueError(
        f"not a SavedModel, model base directory, run directory or .keras file: {model}"
    )


def make_labels(spec, n, label_size, rng):
    """[n, label_size] one-hot labels from 'random', a class index, or a comma list (cycled)."""
    if label_size == 0:
        if spec is not None:
            raise ValueError("--labels given, but the model is unconditional")
        return None
    if spec is None or spec == "random":
        return sampling.random_labels(rng, n, label_size)
    try:
        given = [int(c) for c in spec.split(",")]
    except ValueError:
        raise ValueError(
            f"--labels must be 'random', a class index or a comma list of them, got {spec!r}"
        ) from None
    if any(not 0 <= c < label_size for c in given):
        raise ValueError(f"--labels classes must be in [0, {label_size}), got {spec!r}")
    return one_hot(np.resize(np.array(given), n), label_size)


def parse_grid(text, num):
    """(rows, cols) from 'RxC', or a near-square grid holding `num` images when text is None."""
    if text is None:
        cols = math.ceil(math.sqrt(num))
        return math.ceil(num / cols), cols
    try:
        rows, cols = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--grid must look like 4x8, got {text!r}") from None
    if rows < 1 or cols < 1:
        raise ValueError(f"--grid must be positive, got {text!r}")
    return rows, cols


def save_gif(frames, path, duration_ms):
    """An animated GIF of uint8 HWC frames, written atomically (`atomic.replace_via_temp`)."""
    first, *rest = [to_pil(f) for f in frames]
    atomic.replace_via_temp(
        path,
        lambda tmp: first.save(
            tmp, format="GIF", save_all=True, append_images=rest, duration=duration_ms, loop=0
        ),
    )


MAX_DEFAULT_GRID = 64


def generate(
    sampler,
    out_dir,
    num,
    grid,
    seed,
    labels_spec=None,
    interpolate=0,
    keyframes=4,
    gif=True,
    duration_ms=80,
    num_grids=1,
    shrink=1,
):
    """Writes image-NNNN.png, `num_grids` grids (grid.png, or grid-KKKK.png for several) and (with
    interpolate > 0) interpolation.gif or interpolation/frame-NNNN.png into out_dir, each image as
    soon as its batch is made (`media.bulk`); returns the written paths."""
    count = bulk.count_needed(num, grid, num_grids)
    rng = np.random.RandomState(seed)
    latents = sampling.random_latents(rng, count, sampler.latent_size)
    labels = make_labels(labels_spec, count, sampler.label_size, rng)
    written = bulk.write_images(sampler, out_dir, latents, labels, num, grid, num_grids, shrink)
    if interpolate > 0:
        irng = np.random.RandomState([seed, 1])
        z = interpolation_latents(irng, keyframes, interpolate, sampler.latent_size)
        y = None if labels is None else np.repeat(labels[:1], len(z), 0)
        frames = frame_ops.shrink(sampler(z, y), shrink)
        if gif:
            written.append(os.path.join(out_dir, "interpolation.gif"))
            save_gif(frames, written[-1], duration_ms)
        else:
            os.makedirs(os.path.join(out_dir, "interpolation"), exist_ok=True)
            for i, frame in enumerate(frames):
                written.append(os.path.join(out_dir, "interpolation", f"frame-{i:04d}.png"))
                save_png(written[-1], frame)
    return written


def make_video(sampler, path, args):
    """The interpolation MP4 (`media.interpolation_video`); returns its number of frames."""
    grid = parse_grid(args.grid, 1) if args.grid else (1, 1)
    seed = interpolation_video.SEED if args.seed is None else args.seed
    labels = make_labels(
        args.labels, grid[0] * grid[1], sampler.label_size, np.random.RandomState([seed, 2])
    )
    return interpolation_video.write_interpolation_video(
        sampler,
        path,
        duration_sec=args.duration_sec or interpolation_video.DURATION_SEC,
        fps=args.fps,
        smoothing_sec=args.smoothing_sec,
        grid=grid,
        seed=seed,
        shrink=args.shrink,
        labels=labels,
    )


def make_parser() -> cli.ArgumentParser:
    p = cli.ArgumentParser(prog="python -m pgan_tf.generate", description=__doc__.splitlines()[0])
    p.add_argument(
        "--model", required=True, help="SavedModel dir, model base dir, run dir or .keras file"
    )
    p.add_argument("--out", default=None, help="output directory of the PNGs (and GIF)")
    p.add_argument(
        "--num_images", type=cli.integer, default=16, help="number of PNG images (default 16)"
    )
    p.add_alias("--num", "--num_images")
    p.add_argument(
        "--grid",
        default=None,
        help="grid shape RxC: of grid.png (default: near-square for --num_images, at most "
        f"{MAX_DEFAULT_GRID} cells) and of the --video (default 1x1)",
    )
    p.add_argument(
        "--num_grids",
        type=cli.integer,
        default=1,
        help="grid PNGs to write (the original's num_pngs)",
    )
    p.add_argument(
        "--shrink",
        type=cli.integer,
        default=1,
        help="reduce every image N times by box averaging (the original's image_shrink)",
    )
    p.add_argument(
        "--interpolate",
        type=cli.integer,
        default=0,
        metavar="STEPS",
        help="GIF: interpolation frames between consecutive keyframes (0: no animation)",
    )
    p.add_argument(
        "--keyframes",
        type=cli.integer,
        default=4,
        help="random latents the animation loops through",
    )
    p.add_bool(
        "--gif", default=True, help="write the animation as interpolation.gif (--nogif: PNG frames)"
    )
    p.add_alias("--no-gif", "--nogif")
    p.add_argument("--duration_ms", type=cli.integer, default=80, help="GIF frame duration")
    p.add_argument("--video", default=None, metavar="OUT.mp4", help="interpolation video (H.264)")
    p.add_argument(
        "--training_video",
        default=None,
        metavar="OUT.mp4",
        help="training video of the run directory --model (its fakes*.png and log.txt)",
    )
    p.add_argument(
        "--duration_sec",
        type=float,
        default=None,
        help="video length (default 60 for --video, 20 for --training_video)",
    )
    p.add_argument("--fps", type=float, default=30, help="video frames per second (default 30)")
    p.add_argument(
        "--smoothing_sec", type=float, default=1.0, help="--video: time scale of the latents' walk"
    )
    p.add_argument(
        "--seed", type=cli.integer, default=None, help="default 0 (images), 1000 (--video)"
    )
    p.add_argument(
        "--labels", default=None, help="conditional models: random (default), CLASS or C1,C2,..."
    )
    return p


def check_args(args):
    """Raises ValueError for flag values no command could use."""
    if (
        args.num_images < 0
        or args.interpolate < 0
        or args.keyframes < 2
        or args.duration_ms <= 0
        or args.num_grids < 0
        or args.shrink < 1
    ):
        raise ValueError(
            "--num_images, --num_grids and --interpolate must be >= 0, --keyframes >= 2, "
            "--duration_ms > 0, --shrink >= 1"
        )
    if not (args.out or args.video or args.training_video):
        raise ValueError("nothing to write: give --out, --video or --training_video")
    for flag in ("video", "training_video"):
        path = getattr(args, flag)
        if path is not None and not path.lower().endswith(".mp4"):
            raise ValueError(f"--{flag} must name an .mp4 file, got {path!r}")


def run(args):
    """Does what the flags ask; returns the lines to print."""
    lines = []
    if args.training_video:
        frames, points, timed = training_video.write_training_video(
            args.model,
            args.training_video,
            duration_sec=args.duration_sec or training_video.DURATION_SEC,
            fps=args.fps,
        )
        what = "points (ticks with a fakes grid)" if timed else "fakes grids"
        lines.append(
            f"{args.model}: wrote {args.training_video}, {frames} frames of {points} {what}"
        )
    if not (args.out or args.video):
        return lines
    sampler = load_sampler(args.model)
    if args.out:
        grid = parse_grid(args.grid, min(max(args.num_images, 1), MAX_DEFAULT_GRID))
        written = generate(
            sampler,
            args.out,
            args.num_images,
            grid,
            0 if args.seed is None else args.seed,
            args.labels,
            args.interpolate,
            args.keyframes,
            args.gif,
            args.duration_ms,
            args.num_grids,
            args.shrink,
        )
        lines.append(f"{sampler.source}: wrote {len(written)} files to {args.out}")
    if args.video:
        frames = make_video(sampler, args.video, args)
        lines.append(f"{sampler.source}: wrote {args.video}, {frames} frames at {args.fps:g} fps")
    return lines


def main(argv: list[str] | None = None) -> int:
    """`python -m pgan_tf.generate`; returns the exit code (0, 1 failed, 2 usage, 130 Ctrl-C)."""
    args = make_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        check_args(args)
        lines = run(args)
    except ValueError as e:
        return cli.fail(e, cli.USAGE)
    except OSError as e:
        message = f"{e.filename}: {e.strerror}" if e.filename and e.strerror else e
        return cli.fail(message, cli.FAILURE)
    except (atomic.WriteError, mp4.VideoError) as e:
        return cli.fail(e, cli.FAILURE)
    except KeyboardInterrupt:
        return cli.fail("interrupted", cli.INTERRUPTED)
    print("\n".join(lines))
    return cli.OK


if __name__ == "__main__":
    sys.exit(main())
