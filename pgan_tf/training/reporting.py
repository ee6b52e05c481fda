"""What a run tells its reader: the stage table, the tick line of log.txt, the machine-readable
tick record of `ticks.jsonl` and the TensorBoard scalars, all made from one record per tick.

The tick line follows the original's `train.py` (tick, kimg, lod, minibatch, time, sec/tick,
sec/kimg); the record holds the same numbers for programs (the ablation report, the training
video), so nothing parses the prose.
"""

import json

import tensorflow as tf

from pgan_tf.core import atomic
from pgan_tf.training import schedule
from pgan_tf.training.stage import STAT_NAMES


def format_time(seconds: float) -> str:
    """`42s`, `3m 07s`, `2h 05m`: the log's time column."""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def stage_table(config, num_replicas: int = 1) -> str:
    """The run's stages: resolution, fade, kimg span, global minibatch, minibatch-stddev group per
    replica, learning rate and kimg per tick."""
    lines = [
        "stage  resolution  fade   start kimg   end kimg  minibatch  "
        "mbstd group  lr        tick kimg"
    ]
    for s in schedule.stages(config.schedule):
        if s.start_kimg >= config.schedule.total_kimg:
            break
        end = min(s.end_kimg, config.schedule.total_kimg)
        batch = config.schedule.minibatch(s.resolution)
        group = config.network.mbstd_group_size
        group = min(group, batch // num_replicas) if group > 1 else "-"
        lines.append(
            f"{s.index:5d}  {s.resolution:>10}  {'yes' if s.fade_in else 'no':4}  "
            f"{s.start_kimg:11.1f}  {end:9.1f}  {batch:9d}  {group:>11}  "
            f"{config.schedule.learning_rate(s.resolution):<8g}  "
            f"{schedule.tick_kimg_at(config.log.tick_kimg, s.resolution):g}"
        )
    return "\n".join(lines)


class Logger:
    """Prints and appends to `<run_dir>/log.txt`."""

    def __init__(self, path):
        self.path = path
        with atomic.reported(path):
            self._file = open(path, "a", buffering=1)

    def __call__(self, line):
        print(line, flush=True)
        with atomic.reported(self.path):
            self._file.write(line + "\n")

    def close(self):
        self._file.close()


def tick_record(*, tick, seen, tick_images, stage, lod, alpha, minibatch, train_seconds,
                tick_seconds, maintenance, stats, wall_time) -> dict:  # fmt: skip
    """One tick's numbers: the line `ticks.jsonl` holds (keys: its format, docs/design.md)."""
    return {
        "tick": tick,
        "kimg": seen / 1000.0,
        "lod": lod,
        "resolution": stage.resolution,
        "fade_in": stage.fade_in,
        "alpha": alpha,
        "minibatch": minibatch,
        "train_seconds": train_seconds,
        "tick_seconds": tick_seconds,
        "images_per_second": tick_images / max(tick_seconds, 1e-9),
        "sec_per_kimg": tick_seconds / max(tick_images / 1000.0, 1e-9),
        "maintenance_seconds": maintenance,
        "wall_time": wall_time,
        **{name: float(v) for name, v in zip(STAT_NAMES, stats)},
    }


def tick_line(r: dict) -> str:
    """log.txt's line for tick record `r`."""
    return (
        f"tick {r['tick']:<5d} kimg {r['kimg']:<8.1f} lod {r['lod']:<5.2f} "
        f"res {r['resolution']:>4}{' fade' if r['fade_in'] else '     '} "
        f"alpha {r['alpha']:<5.3f} minibatch {r['minibatch']:<4d} "
        f"time {format_time(r['train_seconds']):<9} sec/tick {r['tick_seconds']:<7.1f} "
        f"sec/kimg {r['sec_per_kimg']:<7.2f} img/s {r['images_per_second']:<7.1f} "
        f"maintenance {r['maintenance_seconds']:<5.1f} "
        f"D {r['loss_d']:+.3f} G {r['loss_g']:+.3f}"
    )


def tick_summaries(writer, r: dict, learning_rate: float) -> None:
    """TensorBoard scalars of tick record `r`, at step kimg."""
    with writer.as_default(step=int(r["kimg"])):
        for name in STAT_NAMES:
            tf.summary.scalar(f"Loss/{name}", r[name])
        tf.summary.scalar("Progress/kimg", r["kimg"])
        tf.summary.scalar("Progress/lod", r["lod"])
        tf.summary.scalar("Progress/resolution", r["resolution"])
        tf.summary.scalar("Progress/alpha", r["alpha"])
        tf.summary.scalar("Progress/minibatch", r["minibatch"])
        tf.summary.scalar("Progress/learning_rate", learning_rate)
        tf.summary.scalar("Timing/sec_per_kimg", r["sec_per_kimg"])
        tf.summary.scalar("Timing/images_per_sec", r["images_per_second"])


def metrics_line(values: dict, seconds: float) -> str:
    return (
        "  metrics " + "  ".join(f"{k} {v:.4g}" for k, v in values.items()) + f"  ({seconds:.1f}s)"
    )


def append_json_line(path: str, record: dict) -> None:
    """Appends one JSON object as a line (the run's .jsonl files)."""
    with atomic.reported(path), open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
