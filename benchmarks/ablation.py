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
import os
import sys

from absl import app, flags

import pgan_tf  # noqa: F401  (quiet TF logs before TensorFlow loads)
from pgan_tf.ablation import configs, report, sweep

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = flags.FLAGS
flags.DEFINE_string("sweep_dir", "results/ablation", "Where the runs live (one folder per configuration and seed).")
flags.DEFINE_string("only", "", "Comma-separated configurations to run; empty = all of them.")
flags.DEFINE_list("seeds", ["1", "2"], "Training seeds.")
flags.DEFINE_string("base_flags", os.path.join(ROOT, "quickstart.flags"), "Flag file of the setting.")
_OVERRIDES = {  # flags replacing the base flag file's values when given
    "total_kimg": flags.DEFINE_float("total_kimg", None, "Images shown per run, in thousands."),
    "lod_training_kimg": flags.DEFINE_float("lod_training_kimg", None, "Stabilization kimg per resolution."),
    "lod_transition_kimg": flags.DEFINE_float("lod_transition_kimg", None, "Fade-in kimg per resolution."),
    "resolution": flags.DEFINE_integer("resolution", None, "Final resolution."),
    "fmap_base": flags.DEFINE_integer("fmap_base", None, "Network width base."),
    "fmap_max": flags.DEFINE_integer("fmap_max", None, "Maximum feature maps per layer."),
    "latent_size": flags.DEFINE_integer("latent_size", None, "Latent size."),
    "tick_kimg": flags.DEFINE_string("tick_kimg", None, "kimg per tick per resolution, e.g. '4:1,8:1,16:1'."),
    "dataset_dir": flags.DEFINE_string("dataset_dir", None, "Dataset directory."),
    "create_synthetic": flags.DEFINE_integer("create_synthetic", None, "Synthetic images to create if the dataset is absent."),
}
flags.DEFINE_multi_string("train_flag", [], "Any further training flag, e.g. --train_flag=--minibatch_base=8 (repeatable).")
flags.DEFINE_integer("snapshot_ticks", 4, "Generator snapshot every N ticks (the quickstart's 4: every 20 kimg): the points of the curves.")
flags.DEFINE_integer("eval_images", 1024, "Generated and real images per evaluation (pgan_tf.evaluate imports lazily: its --num_images).")
flags.DEFINE_integer("eval_seed", 0, "Seed of the evaluation's latents, patches and projections.")
flags.DEFINE_bool("retry_failed", False, "Train diverged runs again instead of keeping them as a result.")
flags.DEFINE_string("report", os.path.join(ROOT, "docs", "ablation.md"), "Markdown report to write (the PNG goes next to it).")
flags.DEFINE_bool("report_only", False, "Only regenerate the report from the stored runs.")


def settings_from_flags():
    overrides = [f"--{name}={holder.value}" for name, holder in _OVERRIDES.items() if holder.value is not None]
    return sweep.Settings(
        sweep_dir=FLAGS.sweep_dir, flagfile=FLAGS.base_flags,
        overrides=tuple(overrides + FLAGS.train_flag), snapshot_ticks=FLAGS.snapshot_ticks,
        num_images=FLAGS.eval_images, eval_seed=FLAGS.eval_seed, retry_failed=FLAGS.retry_failed)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        ablations = configs.select(FLAGS.only)
        seeds = [int(s) for s in FLAGS.seeds]
        if FLAGS.snapshot_ticks <= 0 or FLAGS.eval_images < 2:
            raise ValueError("--snapshot_ticks must be positive and --eval_images at least 2")
        if not os.path.isfile(FLAGS.base_flags):
            raise ValueError(f"--base_flags: no such file {FLAGS.base_flags}")
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        if not FLAGS.report_only:
            found = sweep.sweep(settings_from_flags(), ablations, seeds)
            print("Sweep: " + ", ".join(f"{k} {v}" for k, v in found.items()))
        md, png = report.write_report(FLAGS.sweep_dir, FLAGS.report)
        print(f"Wrote {md} and {png}")
    except sweep.Interrupted as e:
        print(f"interrupted: {e}", file=sys.stderr)
        return 130
    except (sweep.SweepError, report.ReportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    app.run(lambda argv: sys.exit(main(argv)))
