"""Scores one finished training run for the ablation: every generator snapshot at the run's final
resolution, the real-vs-real floor, and the training wall time at each snapshot (from the run's
per-tick records, ticks.jsonl; from log.txt's tick lines for runs older than those).

Snapshots of lower stages are upscaled (nearest neighbour, as the training grids show them) to the
final resolution before scoring, so that every point of every configuration's curve measures the
same thing: how far what the generator draws is from the 32² data. Scoring after training, not
during it, keeps the metrics' time out of the training wall time.
"""

import os
import re
import time

import numpy as np

from pgan_tf.core import images
from pgan_tf.training import rundir

METRICS = ("swd", "ms_ssim", "mode_coverage")
_TICK_RE = re.compile(r"^tick\s+\d+\s+kimg\s+([\d.]+)\s.*?\btime\s+(\d+h \d+m|\d+m \d+s|\d+s)\s")
_DONE_RE = re.compile(r"^Done: kimg ([\d.]+) in (.+)\.$")


def parse_elapsed(text):
    """Seconds of `pgan_tf.training.reporting.format_time` text: '34s', '7m 05s', '1h 02m'."""
    m = re.fullmatch(r"(?:(\d+)h )?(?:(\d+)m)?\s*(?:(\d+)s)?", text.strip())
    if not m or not any(m.groups()):
        raise ValueError(f"not a training time: {text!r}")
    h, mins, s = (int(g) if g else 0 for g in m.groups())
    return 3600 * h + 60 * mins + s


def tick_times(log_text):
    """[(kimg, training seconds)] of the tick lines of a log.txt, by kimg. A resumed run repeats
    the ticks after its last checkpoint; the later line wins (its time continues the restored
    checkpoint's, so the lost work is not counted)."""
    by_kimg = {}
    for line in log_text.splitlines():
        m = _TICK_RE.match(line)
        if m:
            by_kimg[float(m.group(1))] = parse_elapsed(m.group(2))
    return sorted(by_kimg.items())


def run_ticks(run_dir, log_text):
    """[(kimg, training seconds)] of a run's ticks, by kimg, from the per-tick records the loop
    writes (`rundir.TICKS_NAME`); runs made before those records existed fall back to the tick
    lines of `log_text`. As there, a tick repeated after a resume takes its later record."""
    records = rundir.read_ticks(run_dir)
    if records is None:
        return tick_times(log_text)
    by_kimg = {round(float(r["kimg"]), 1): float(r["train_seconds"]) for r in records}
    return sorted(by_kimg.items())


def finished_training(log_text):
    """(kimg, seconds) of the run's closing 'Done:' line, or None while training is unfinished."""
    done = [m for m in map(_DONE_RE.match, log_text.splitlines()) if m]
    return (float(done[-1].group(1)), parse_elapsed(done[-1].group(2))) if done else None


def seconds_at(ticks, kimg):
    """Training seconds when snapshot `kimg` was written: the tick nearest to it (snapshot names
    round the images shown down to whole kimg, tick lines to 0.1 kimg)."""
    if not ticks:
        return None
    return min(ticks, key=lambda t: (abs(t[0] - kimg), -t[0]))[1]


def read_log(run_dir):
    with open(os.path.join(run_dir, rundir.LOG_NAME)) as f:
        return f.read()


def evaluate_run(run_dir, *, num_images, seed=0, batch_size=64, progress=None):
    """{'resolution', 'baseline': row, 'snapshots': [row, ...], 'train_seconds', 'train_kimg'} of a
    finished run; each row holds the metric values, a snapshot row also 'kimg', its native
    'resolution' and 'train_seconds'."""
    from pgan_tf.data.dataset import iterate_uint8
    from pgan_tf.evaluate import baseline_row, make_generate_fn, snapshot_resolution
    from pgan_tf.metrics.registry import compute_metrics

    log_text = read_log(run_dir)
    done = finished_training(log_text)
    if done is None:
        raise ValueError(f"{run_dir}: training has not finished (no 'Done:' line in log.txt)")
    config = rundir.read_config(run_dir)
    dataset_path, final = config.dataset.path, int(config.train.schedule.resolution)
    ticks = run_ticks(run_dir, log_text)
    say = progress or (lambda text: None)

    start = time.time()
    baseline = baseline_row(
        METRICS,
        dataset_path,
        final,
        num_images,
        seed=seed,
        inception_path=None,
        batch_size=batch_size,
    )
    say(f"reals vs reals {final}²: {time.time() - start:.1f}s")
    rows = []
    for kimg, path in rundir.list_snapshots(run_dir):
        start = time.time()
        generator = rundir.load_generator(path)
        native = snapshot_resolution(generator)
        values = compute_metrics(
            METRICS,
            _upscaled(make_generate_fn(generator, batch_size), final),
            lambda n: iterate_uint8(dataset_path, final, 256, max_images=n),
            num_images=num_images,
            seed=seed,
            batch_size=batch_size,
        )
        rows.append(
            {
                "kimg": kimg,
                "resolution": native,
                "train_seconds": seconds_at(ticks, kimg),
                **_plain(values),
            }
        )
        say(
            f"snapshot {kimg} kimg ({native}²): SWD avg {values['SWDx1e3_avg']:.1f}, "
            f"shape evenness {values['shape_evenness']:.3f} ({time.time() - start:.1f}s)"
        )
    if not rows:
        raise ValueError(f"{run_dir}: no network-snapshot-*.keras")
    return {
        "resolution": final,
        "baseline": _plain(baseline),
        "snapshots": rows,
        "train_kimg": done[0],
        "train_seconds": done[1],
    }


def _upscaled(generate_fn, size):
    return lambda n, seed: images.upscale_to(generate_fn(n, seed), size)


def _plain(row):
    """JSON-ready copy of a metrics row (NumPy scalars → Python numbers)."""
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
