"""The numbers of an ablation report, from a sweep's stored runs: per configuration the mean ±
spread over seeds of the final snapshot's metrics, their curves over training time, values at
equal time, the paired seed-by-seed reading and the verdict against the paper's expectation.
Pure functions of the runs (report.py lays them out)."""

import math
import os
import re

from pgan_tf.ablation import configs, sweep

_SLOT_RE = re.compile(r"^(?P<name>[a-z_]+)-s(?P<seed>\d+)$")


class ReportError(ValueError):
    """The stored runs cannot make a report (none finished, or mixed settings)."""


def load_runs(sweep_dir):
    """[{'config', 'seed', 'state', 'run_dir', 'done' (the marker's dict) or 'failed'}] of every
    slot."""
    if not os.path.isdir(sweep_dir):
        raise ReportError(f"sweep directory not found: {sweep_dir}")
    runs = []
    for name in sorted(os.listdir(sweep_dir)):
        m = _SLOT_RE.match(name)
        if not m or m["name"] not in configs.BY_NAME:
            continue
        found, run = sweep.state(os.path.join(sweep_dir, name))
        entry = {"config": m["name"], "seed": int(m["seed"]), "state": found, "run_dir": run}
        if found == "done":
            entry["done"] = sweep.read_json(os.path.join(run, sweep.DONE_FILE))
        elif found == "failed":
            entry["failed"] = sweep.read_json(os.path.join(run, sweep.FAILED_FILE))
        runs.append(entry)
    return runs


def mean_spread(values):
    """(mean, half the range) of finite values; (nan, nan) when there are none."""
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return math.nan, math.nan
    return sum(values) / len(values), (max(values) - min(values)) / 2


def swd_levels(row):
    """SWD keys of a metrics row, finest level first, then the average (the paper's column
    order)."""
    levels = sorted((k for k in row if re.fullmatch(r"SWDx1e3_\d+", k)), key=lambda k: -int(k[8:]))
    return levels + ["SWDx1e3_avg"]


METRIC_COLUMNS = ("MS-SSIM", "modes_hit", "shape_evenness", "colour_evenness", "unclassified")


def summarize(runs):
    """{config: {'seeds': [...], 'failed': [...], key: (mean, spread), 'train_seconds': ...,
    'curves': {key: [(kimg, mean over seeds)]}}} over the finished runs; plus the real-vs-real
    floor under 'reals'. Refuses runs made with different settings."""
    done = [r for r in runs if r["state"] == "done"]
    if not done:
        raise ReportError("no finished run in the sweep directory yet (no ablation-done.json)")
    settings = {
        (
            r["done"]["resolution"],
            r["done"]["train_kimg"],
            r["done"]["num_images"],
            tuple(r["done"].get("overrides", ())),
        )
        for r in done
    }
    if len(settings) > 1:
        raise ReportError(
            f"the finished runs were made with different settings {sorted(settings)}; "
            f"keep one sweep per directory"
        )
    keys = swd_levels(done[0]["done"]["baseline"]) + list(METRIC_COLUMNS)
    out = {"reals": {k: mean_spread([r["done"]["baseline"].get(k) for r in done]) for k in keys}}
    for ablation in configs.ABLATIONS:
        mine = [r for r in done if r["config"] == ablation.name]
        failed = [
            r["seed"] for r in runs if r["config"] == ablation.name and r["state"] == "failed"
        ]
        if not mine and not failed:
            continue
        finals = [r["done"]["snapshots"][-1] for r in mine]
        entry = {
            "seeds": sorted(r["seed"] for r in mine),
            "failed": sorted(failed),
            "train_seconds": mean_spread([r["done"]["train_seconds"] for r in mine]),
            "eval_seconds": sum(r["done"]["eval_seconds"] for r in mine),
            "train_total": sum(r["done"]["train_seconds"] for r in mine),
        }
        entry.update({k: mean_spread([f.get(k) for f in finals]) for k in keys})
        entry["curves"] = {
            k: _mean_curve([r["done"]["snapshots"] for r in mine], k)
            for k in ("SWDx1e3_avg", "shape_evenness")
        }
        entry["time_curve"] = _time_curve([r["done"]["snapshots"] for r in mine])
        entry["snapshots"] = {r["seed"]: r["done"]["snapshots"] for r in mine}
        out[ablation.name] = entry
    return out


def _mean_curve(runs_snapshots, key):
    by_kimg = {}
    for snapshots in runs_snapshots:
        for row in snapshots:
            by_kimg.setdefault(row["kimg"], []).append(row[key])
    return [(kimg, sum(v) / len(v)) for kimg, v in sorted(by_kimg.items())]


def _time_curve(runs_snapshots, key="SWDx1e3_avg"):
    """[(training minutes, `key`)] per snapshot kimg, both averaged over the seeds that timed it."""
    timed = [[row for row in s if row.get("train_seconds") is not None] for s in runs_snapshots]
    times, values = _mean_curve(timed, "train_seconds"), _mean_curve(timed, key)
    return [(t / 60, y) for (_, t), (_, y) in zip(times, values)]


def _timed(snapshots, key):
    return [(row["train_seconds"], row[key]) for row in snapshots if "train_seconds" in row]


def value_at_time(snapshots, seconds, key="SWDx1e3_avg"):
    """`key` after `seconds` of training, linear between the two snapshots around it; None when
    `seconds` lies outside the snapshots' times (nothing is extrapolated)."""
    points = _timed(snapshots, key)
    for (t0, y0), (t1, y1) in zip(points, points[1:]):
        if t0 <= seconds <= t1:
            return y0 if t1 == t0 else y0 + (y1 - y0) * (seconds - t0) / (t1 - t0)
    if points and seconds == points[0][0]:
        return points[0][1]
    return None


def time_to_reach(snapshots, target, key="SWDx1e3_avg"):
    """Training seconds at which `key` first comes down to `target`, linear between the snapshot
    above it and the first at or below it; None if it never does."""
    points = _timed(snapshots, key)
    for i, (t1, y1) in enumerate(points):
        if y1 <= target:
            if i == 0:
                return t1
            t0, y0 = points[i - 1]
            return t0 + (t1 - t0) * (y0 - target) / (y0 - y1)
    return None


def difference(entry, full, key):
    """(ablated − full, whether it exceeds the spreads added)."""
    (a, sa), (f, sf) = entry[key], full[key]
    delta = a - f
    return delta, math.isfinite(delta) and abs(delta) > sa + sf


def paired_worse(entry, full, key="SWDx1e3_avg"):
    """(seeds where switching off scored worse than the full method with the same seed, seeds
    both have): the paired reading, which a seed-to-seed spread of the means does not give."""
    seeds = sorted(set(entry.get("snapshots", {})) & set(full.get("snapshots", {})))
    worse = sum(entry["snapshots"][s][-1][key] > full["snapshots"][s][-1][key] for s in seeds)
    return worse, len(seeds)


def verdict(ablation, entry, full):
    """One phrase: what the numbers here say against what the paper expects (by average SWD)."""
    if not entry["seeds"]:
        return "diverged in every seed (no numbers)"
    delta, clear = difference(entry, full, "SWDx1e3_avg")
    if not clear:
        return (
            "agrees: no clear SWD difference"
            if ablation.expect == "similar"
            else "not shown: SWD difference within the seed spread"
        )
    if ablation.expect == "similar":
        return f"differs: SWD clearly {'worse' if delta > 0 else 'better'} without it"
    return (
        "agrees: SWD clearly worse without it"
        if delta > 0
        else "disagrees: SWD clearly better without it"
    )
