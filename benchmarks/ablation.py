"""The paper's Table 1 at small scale: trains the full method and each contribution switched off,
a few seeds each, scores every snapshot, and writes docs/ablation.md with its plot.

    python benchmarks/ablation.py                                  # the whole sweep (resumable)
    python benchmarks/ablation.py --only=no_pixelnorm --seeds=1    # one configuration, one seed
    python benchmarks/ablation.py --report_only                    # table + plot from stored runs

The setting is quickstart.flags (--base_flags); --total_kimg, --resolution, the widths etc.
replace its values. Re-running the same command skips finished runs, resumes interrupted ones
and re-evaluates trained but unscored ones; Ctrl-C stops the current training at a checkpoint.
Configurations: full, no_growing, no_mbstd, no_eqlr, no_pixelnorm, no_ema.
"""

from __future__ import annotations

import os
import sys

import pgan_tf  # noqa: F401  (makes the TensorFlow import quiet)
from pgan_tf.ablation import configs, report, summary, sweep
from pgan_tf.core import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Flags replacing the base flag file's values when given: name → (type, help).
_OVERRIDES = {
    "total_kimg": (float, "Images shown per run, in thousands."),
    "lod_training_kimg": (float, "Stabilization kimg per resolution."),
    "lod_transition_kimg": (float, "Fade-in kimg per resolution."),
    "resolution": (cli.integer, "Final resolution."),
    "fmap_base": (cli.integer, "Network width base."),
    "fmap_max": (cli.integer, "Maximum feature maps per layer."),
    "latent_size": (cli.integer, "Latent size."),
    "tick_kimg": (str, "kimg per tick per resolution, e.g. '4:1,8:1,16:1'."),
    "dataset_dir": (str, "Dataset directory."),
    "create_synthetic": (cli.integer, "Synthetic images to create if the dataset is absent."),
}


def make_parser() -> cli.ArgumentParser:
    p = cli.ArgumentParser(prog="benchmarks/ablation.py", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--sweep_dir",
        default="results/ablation",
        help="Where the runs live (one folder per configuration and seed).",
    )
    p.add_argument(
        "--only", default="", help="Comma-separated configurations to run; empty = all of them."
    )
    p.add_list("--seeds", default=["1", "2"], help="Training seeds.")
    p.add_argument(
        "--base_flags",
        default=os.path.join(ROOT, "quickstart.flags"),
        help="Flag file of the setting.",
    )
    for name, (kind, text) in _OVERRIDES.items():
        p.add_argument(f"--{name}", type=kind, default=None, help=text)
    p.add_argument(
        "--train_flag",
        action="append",
        default=[],
        help="Any further training flag, e.g. --train_flag=--minibatch_base=8 (repeatable).",
    )
    p.add_argument(
        "--snapshot_ticks",
        type=cli.integer,
        default=4,
        help="Generator snapshot every N ticks (the quickstart's 4: every 20 kimg): "
        "the points of the curves.",
    )
    p.add_argument(
        "--num_images",
        type=cli.integer,
        default=1024,
        help="Generated and real images per evaluation (pgan_tf.evaluate's --num_images).",
    )
    p.add_alias("--eval_images", "--num_images")
    p.add_argument(
        "--eval_seed",
        type=cli.integer,
        default=0,
        help="Seed of the evaluation's latents, patches and projections.",
    )
    p.add_bool(
        "--retry_failed",
        default=False,
        help="Train diverged runs again instead of keeping them as a result.",
    )
    p.add_argument(
        "--report",
        default=os.path.join(ROOT, "docs", "ablation.md"),
        help="Markdown report to write (the PNG goes next to it).",
    )
    p.add_bool(
        "--report_only", default=False, help="Only regenerate the report from the stored runs."
    )
    return p


def settings_from_flags(args):
    overrides = [
        f"--{name}={getattr(args, name)}" for name in _OVERRIDES if getattr(args, name) is not None
    ]
    return sweep.Settings(
        sweep_dir=args.sweep_dir,
        flagfile=args.base_flags,
        overrides=tuple(overrides + args.train_flag),
        snapshot_ticks=args.snapshot_ticks,
        num_images=args.num_images,
        eval_seed=args.eval_seed,
        retry_failed=args.retry_failed,
    )


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        ablations = configs.select(args.only)
        seeds = [int(s) for s in args.seeds]
        if args.snapshot_ticks <= 0 or args.num_images < 2:
            raise ValueError("--snapshot_ticks must be positive and --num_images at least 2")
        if not os.path.isfile(args.base_flags):
            raise ValueError(f"--base_flags: no such file {args.base_flags}")
    except ValueError as e:
        return cli.fail(e, cli.USAGE)
    try:
        if not args.report_only:
            found = sweep.sweep(settings_from_flags(args), ablations, seeds)
            print("Sweep: " + ", ".join(f"{k} {v}" for k, v in found.items()))
        md, png = report.write_report(args.sweep_dir, args.report)
        print(f"Wrote {md} and {png}")
    except sweep.Interrupted as e:
        print(f"interrupted: {e}", file=sys.stderr)
        return cli.INTERRUPTED
    except (sweep.SweepError, summary.ReportError) as e:
        return cli.fail(e, cli.FAILURE)
    return cli.OK


if __name__ == "__main__":
    sys.exit(main())
