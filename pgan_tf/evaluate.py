"""Evaluate a run's generator snapshots against its dataset (paper §5 metrics, FID, IS, ...).

    python -m pgan_tf.evaluate --run_dir=results/00000-x --metrics=swd,ms_ssim \\
        [--snapshots=all|latest|<kimg,...>] [--num_images=N] [--inception_path=PATH]
    python -m pgan_tf.evaluate --images=DIR_A --reference=DIR_B --metrics=fid,is [--json]

Each chosen snapshot is scored against the reals at the snapshot's resolution, after a
real-vs-real baseline row per resolution (two disjoint halves of the reals: what a perfect
generator would score with this many images). Rows are appended to <run_dir>/metrics.jsonl,
written to TensorBoard (<run_dir>/eval, step = kimg; baselines under reals_vs_reals/ at step 0)
and printed as a table. With --images/--reference, two image sets (PNG/JPEG folders or dataset
directories, `metrics/image_sets.py`) are scored instead: DIR_A as the generated set, DIR_B as the
reals; --json prints one JSON object on stdout and everything else on stderr.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time

import numpy as np

import pgan_tf  # noqa: F401  (quiet TF logs before TensorFlow loads)
from pgan_tf.core import cli
from pgan_tf.core.progress import ProgressLine
from pgan_tf.metrics.image_sets import (
    BatchStream,
    count_reals,
    dataset_slice,
    drawn_reals,
    evaluate_sets,
    json_key,
)
from pgan_tf.metrics.inception_graph import InceptionGraphError
from pgan_tf.metrics.registry import (
    applicable_metrics,
    compute_metrics,
    count_label,
    metric_names,
    parse_metric_names,
    protocol_groups,
)
from pgan_tf.model import sampling
from pgan_tf.training import rundir

METRICS_FILE = "metrics.jsonl"
EVAL_LOGDIR = "eval"


# ------------------------------------------------------------------ pieces (importable)
def select_snapshots(snapshots, which):
    """Chosen [(kimg, path)] from all snapshots: 'all', 'latest' or comma-separated kimgs."""
    if not snapshots:
        raise ValueError("the run has no network-snapshot-*.keras yet")
    if which == "all":
        return list(snapshots)
    if which == "latest":
        return [snapshots[-1]]
    try:
        wanted = [int(k) for k in which.split(",") if k.strip()]
    except ValueError:
        raise ValueError(
            f"--snapshots must be all, latest or kimg numbers, got {which!r}"
        ) from None
    by_kimg = dict(snapshots)
    missing = [k for k in wanted if k not in by_kimg]
    if missing:
        raise ValueError(f"no snapshot at kimg {missing}; the run has {sorted(by_kimg)}")
    return [(k, by_kimg[k]) for k in wanted]


def make_generate_fn(generator, batch_size=64):
    """generate_fn(n, seed) → uint8 NHWC for a snapshot generator (latents N(0, I), random
    one-hot labels when the generator takes them, from `np.random.default_rng(seed)`), in batches
    of at most batch_size, fewer where the resolution needs it (`sampling.Sampler`)."""
    sampler = sampling.Sampler.from_model(generator, cap=batch_size)

    def generate_fn(n, seed):
        return sampler.sample(n, np.random.default_rng(seed))

    return generate_fn


def snapshot_resolution(generator):
    """Output resolution of a generator (its images are square NHWC)."""
    return int(generator.outputs[0].shape[1])


def baseline_row(
    names,
    dataset_path,
    resolution,
    num_images,
    *,
    seed,
    inception_path,
    batch_size=64,
    progress=None,
):
    """Real-vs-real metrics: the first half of the reals as 'reals', the second as 'fakes'."""
    half = min(num_images, count_reals(dataset_path, resolution, 2 * num_images) // 2)
    if half < 2:
        raise ValueError(f"the dataset at {resolution}² has too few images for a baseline")
    values = compute_metrics(
        names,
        BatchStream(dataset_slice(dataset_path, resolution, batch_size, half, half)),
        lambda n: dataset_slice(dataset_path, resolution, batch_size, 0, min(n, half)),
        num_images=half,
        seed=seed,
        inception_path=inception_path,
        batch_size=batch_size,
        progress=progress,
    )
    return {"snapshot": "reals-vs-reals", "kimg": None, "resolution": resolution, **values}


def snapshot_row(
    names,
    kimg,
    path,
    dataset_path,
    num_images,
    *,
    seed,
    inception_path,
    batch_size=64,
    progress=None,
    mirror=False,
):
    """Metrics of one snapshot against the reals at its resolution, drawn as `drawn_reals`."""
    generator = rundir.load_generator(path)
    resolution = snapshot_resolution(generator)
    values = compute_metrics(
        names,
        make_generate_fn(generator, batch_size),
        lambda n: drawn_reals(dataset_path, resolution, batch_size, n, mirror=mirror, seed=seed),
        num_images=num_images,
        seed=seed,
        inception_path=inception_path,
        batch_size=batch_size,
        progress=progress,
    )
    return {"snapshot": os.path.basename(path), "kimg": kimg, "resolution": resolution, **values}


def format_table(rows):
    """Rows (dicts) → an aligned text table: snapshot, kimg, resolution, the metrics (SWD levels
    finest first, then their average, as the original prints them), then bookkeeping columns."""
    fixed = ["snapshot", "kimg", "resolution"]
    trailing = ["num_images", "protocol", "seconds", "skipped"]
    seen = [k for k in dict.fromkeys(k for r in rows for k in r) if k not in fixed + trailing]
    level = lambda k: k[8:].split("-")[0]  # noqa: E731  (SWDx1e3_<res>[-<count>])
    swd_levels = sorted(
        (k for k in seen if k.startswith("SWDx1e3_") and level(k).isdigit()),
        key=lambda k: -int(level(k)),
    )
    swd = swd_levels + [k for k in seen if k.startswith("SWDx1e3_avg")]
    keys = (
        fixed
        + swd
        + [k for k in seen if k not in swd]
        + [k for k in trailing if any(k in r for r in rows)]
    )

    def cell(v):
        if v is None or (isinstance(v, (list, dict)) and not v):
            return "-"
        if isinstance(v, float):
            return f"{v:.4g}"
        if isinstance(v, (list, dict)):
            return ",".join(v)
        return str(v)

    cells = [[cell(r.get(k)) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    lines = [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
        for r in [keys] + cells
    ]
    return "\n".join(lines)


def append_jsonl(path, rows):
    """Appends one JSON object per row."""
    with open(path, "a") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


def write_tensorboard(logdir, rows):
    """Scalars per row: metrics/<key> at step kimg; baselines as reals_vs_reals/<key> at step 0
    (suffixed _r<res> when several resolutions were evaluated)."""
    import tensorflow as tf

    base_res = {r["resolution"] for r in rows if r["kimg"] is None}
    writer = tf.summary.create_file_writer(logdir)
    with writer.as_default():
        for row in rows:
            for key, value in row.items():
                if key in ("snapshot", "kimg", "resolution", "skipped", "seconds", "protocol"):
                    continue
                if row["kimg"] is None:
                    suffix = f"_r{row['resolution']}" if len(base_res) > 1 else ""
                    tf.summary.scalar(f"reals_vs_reals/{key}{suffix}", float(value), step=0)
                else:
                    tf.summary.scalar(f"metrics/{key}", float(value), step=int(row["kimg"]))
    writer.flush()
    writer.close()


def _progress_printer(label, stream=None, interval=None):
    """progress(phase, done, total): a self-overwriting line on a terminal; when stderr is a file,
    a plain line every `interval` seconds (10 by default) and at the end of each phase."""
    tty_interval, log_interval = (0.2, 10.0) if interval is None else (interval, interval)
    line = ProgressLine(stream, tty_interval, log_interval)

    def progress(phase, done, total):
        finished = done >= total
        line.show(
            f"  {label}: {phase} {done}/{total}", force=finished, end=finished and phase == "fakes"
        )

    return progress


def _by_protocol(score, names, num_images):
    """One row from score(names, count) run per protocol group, each metric key suffixed with the
    image count actually used (FID-50k); `protocol` states them (fid-50k,swd-16k)."""
    row, stated = {}, []
    for count, group in protocol_groups(names, num_images):
        values = score(group, num_images=count)
        label = count_label(values.pop("num_images"))
        for key in ("snapshot", "kimg", "resolution"):
            row[key] = values.pop(key)
        row.update({f"{k}-{label}": v for k, v in values.items()})
        stated += [f"{name}-{label}" for name in group]
    row["protocol"] = ",".join(stated)
    return row


def evaluate(
    run_dir,
    metrics,
    *,
    snapshots="all",
    num_images=None,
    inception_path=None,
    seed=0,
    batch_size=64,
    baseline=True,
    log=print,
):
    """Scores the chosen snapshots (and baselines), appends/writes the rows; returns them.

    Each metric runs on its protocol count (`registry.protocol_groups`; num_images for all when
    given) and its keys say the count used (FID-50k); the row's `protocol` lists them."""
    names = parse_metric_names(metrics)
    if {"fid", "is"} & set(names):
        from pgan_tf.metrics.fid import InceptionFeatures

        inception_path = InceptionFeatures(inception_path)  # load once, fail early
    config = rundir.read_config(run_dir)
    dataset_path, mirror = config.dataset.path, bool(config.train.data.mirror)
    print(
        f"reals: {dataset_path} in file order, repeated as needed, mirrored: {mirror}",
        file=sys.stderr,
    )
    chosen = select_snapshots(rundir.list_snapshots(run_dir), snapshots)
    rows = []
    plans = []
    for kimg, path in chosen:
        generator = rundir.load_generator(path)
        plans.append((kimg, path, snapshot_resolution(generator)))
    if baseline:
        for res in sorted({res for _, _, res in plans}):
            usable, skipped = applicable_metrics(names, res)
            start = time.time()
            row = _by_protocol(
                functools.partial(
                    baseline_row,
                    dataset_path=dataset_path,
                    resolution=res,
                    seed=seed,
                    inception_path=inception_path,
                    batch_size=batch_size,
                    progress=_progress_printer(f"reals vs reals {res}²"),
                ),
                usable,
                num_images,
            )
            row["seconds"] = round(time.time() - start, 2)
            if skipped:
                row["skipped"] = skipped
            rows.append(row)
    for kimg, path, res in plans:
        usable, skipped = applicable_metrics(names, res)
        start = time.time()
        row = _by_protocol(
            functools.partial(
                snapshot_row,
                kimg=kimg,
                path=path,
                dataset_path=dataset_path,
                seed=seed,
                inception_path=inception_path,
                batch_size=batch_size,
                progress=_progress_printer(os.path.basename(path)),
                mirror=mirror,
            ),
            usable,
            num_images,
        )
        row["seconds"] = round(time.time() - start, 2)
        if skipped:
            row["skipped"] = skipped
        rows.append(row)
    append_jsonl(os.path.join(run_dir, METRICS_FILE), rows)
    write_tensorboard(os.path.join(run_dir, EVAL_LOGDIR), rows)
    log(format_table(rows))
    return rows


# ------------------------------------------------------------------ command line
def make_parser() -> cli.ArgumentParser:
    p = cli.ArgumentParser(
        prog="python -m pgan_tf.evaluate",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--run_dir", default=None, help="Run directory (holds config.json and snapshots)."
    )
    p.add_argument(
        "--images",
        default=None,
        help="Score this image folder or dataset directory (instead of a run) against --reference.",
    )
    p.add_list("--metrics", default=["swd"], help=f"Comma-separated: {', '.join(metric_names())}.")
    p.add_argument(
        "--reference",
        default=None,
        help="The reals for --images: an image folder or dataset directory.",
    )
    p.add_bool(
        "--json",
        default=False,
        help="With --images: one JSON object on stdout, all else on stderr.",
    )
    p.add_argument(
        "--snapshots", default="all", help="all, latest, or comma-separated kimg numbers."
    )
    p.add_argument(
        "--num_images",
        type=cli.integer,
        default=None,
        help="Images per set for every metric; by default the original's protocol: 16384 for "
        "SWD, 20000 images (10000 pairs) for MS-SSIM, 50000 for FID and IS.",
    )
    p.add_argument(
        "--inception_path",
        default=None,
        help="Inception for fid/is, never downloaded: classify_image_graph_def.pb, a directory "
        "holding it, inception-2015-12-05.tgz, a .keras/.h5 model, .weights.h5, or a SavedModel "
        "dir.",
    )
    p.add_alias("--inception", "--inception_path")
    p.add_argument(
        "--seed", type=cli.integer, default=0, help="Seed of latents, patches and projections."
    )
    p.add_argument("--batch_size", type=cli.integer, default=64, help="Images per batch.")
    p.add_bool("--baseline", default=True, help="Also score real vs real (two disjoint halves).")
    return p


def _main_sets(args):
    """--images/--reference: the values as a table, or as one JSON object on stdout."""
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    values = evaluate_sets(
        args.images,
        args.reference,
        args.metrics,
        num_images=args.num_images,
        inception_path=args.inception_path,
        seed=args.seed,
        batch_size=args.batch_size,
        log=log,
        progress=_progress_printer("images vs reference"),
    )
    if args.json:
        print(json.dumps({json_key(k): v for k, v in values.items()}))
    else:
        log(format_table([{"snapshot": args.images, "kimg": None, "resolution": None, **values}]))
    return cli.OK


def main(argv: list[str] | None = None) -> int:
    """`python -m pgan_tf.evaluate`; returns the exit code (0, 1 failed, 2 usage, 130 Ctrl-C)."""
    parser = make_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if (args.run_dir is None) == (args.images is None) or (args.images is None) != (
        args.reference is None
    ):
        parser.error("give either --run_dir, or --images and --reference")
    try:
        if args.images is not None:
            return _main_sets(args)
        evaluate(
            args.run_dir,
            args.metrics,
            snapshots=args.snapshots,
            num_images=args.num_images,
            inception_path=args.inception_path,
            seed=args.seed,
            batch_size=args.batch_size,
            baseline=args.baseline,
        )
    except OSError as e:  # a path the flags name that does not exist is a usage error
        code = cli.USAGE if isinstance(e, FileNotFoundError) else cli.FAILURE
        return cli.fail(f"{e.filename}: {e.strerror}" if e.filename and e.strerror else e, code)
    except InceptionGraphError as e:
        return cli.fail(e, cli.FAILURE)
    except ValueError as e:
        return cli.fail(e, cli.USAGE)
    except KeyboardInterrupt:
        return cli.fail("interrupted; the rows of this run were not written", cli.INTERRUPTED)
    return cli.OK


if __name__ == "__main__":
    sys.exit(main())
