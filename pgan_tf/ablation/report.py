"""docs/ablation.md from the stored run directories of a sweep, without retraining: the setup,
the paper's Table 1 form (one row per configuration, mean ± spread over seeds, final snapshot),
a PNG of the curves, and where the numbers agree with the paper.

The spread is half the range over seeds (with two seeds, mean ± spread are exactly the two
values). A difference counts only when it exceeds the two configurations' spreads added; a paired
column counts the seeds in which switching off scored worse than the full method with the same
seed, and a section reads progressive growing at equal training time (the paper's Fig. 4).
"""

import math
import os
import re

from pgan_tf.ablation import configs, plot
from pgan_tf.ablation.summary import (
    difference,
    load_runs,
    mean_spread,
    paired_worse,
    summarize,
    swd_levels,
    time_to_reach,
    value_at_time,
    verdict,
)
from pgan_tf.core import atomic
from pgan_tf.training import rundir

NOTES_START, NOTES_END = "<!-- lead-notes:start -->", "<!-- lead-notes:end -->"
NOTES_PLACEHOLDER = (
    "**[Placeholder for the lead: after the real sweep, explain in prose where and "
    "why this small-scale result agrees with the paper or not — scale, budget, "
    "dataset. Everything outside this marked block is regenerated.]**"
)


def _fmt(pair, digits, percent=False):
    mean, spread = pair
    if not math.isfinite(mean):
        return "–"
    scale, unit = (100, "%") if percent else (1, "")
    return (
        f"{mean * scale + 0.0:.{digits}f} ± {spread * scale:.{digits}f}{unit}"  # + 0.0: no "-0.000"
    )


def _minutes(seconds):
    return f"{int(seconds) // 60}m {int(seconds) % 60:02d}s"


def results_table(summary):
    """The Table 1 form: a floor row, then one row per configuration."""
    swd = swd_levels({k: 0 for k in summary["reals"]})
    head = (
        ["Configuration"]
        + [f"SWD×10³ {k[8:]}" if k[8:] != "avg" else "SWD×10³ avg" for k in swd]
        + [
            "MS-SSIM",
            "modes hit (of 12)",
            "shape evenness",
            "colour evenness",
            "unclassified",
            "training time",
            "seeds",
        ]
    )
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---"] + ["--:"] * (len(head) - 1)) + "|",
    ]
    reals = summary["reals"]
    lines.append(
        "| *Real vs real (floor; reals' own MS-SSIM)* | "
        + " | ".join(
            [_fmt(reals[k], 2) for k in swd]
            + [
                _fmt(reals["MS-SSIM"], 4),
                _fmt(reals["modes_hit"], 1),
                _fmt(reals["shape_evenness"], 3),
                _fmt(reals["colour_evenness"], 3),
                _fmt(reals["unclassified"], 1, percent=True),
                "–",
                "–",
            ]
        )
        + " |"
    )
    for ablation in configs.ABLATIONS:
        entry = summary.get(ablation.name)
        if entry is None:
            continue
        seeds = ", ".join(map(str, entry["seeds"])) or "–"
        if entry["failed"]:
            seeds += f" (diverged: {', '.join(map(str, entry['failed']))})"
        time_cell = (
            f"{_minutes(entry['train_seconds'][0])} ± {int(entry['train_seconds'][1])}s"
            if entry["seeds"]
            else "–"
        )
        lines.append(
            f"| {ablation.title} | "
            + " | ".join(
                [_fmt(entry[k], 2) for k in swd]
                + [
                    _fmt(entry["MS-SSIM"], 4),
                    _fmt(entry["modes_hit"], 1),
                    _fmt(entry["shape_evenness"], 3),
                    _fmt(entry["colour_evenness"], 3),
                    _fmt(entry["unclassified"], 1, percent=True),
                    time_cell,
                    seeds,
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def agreement_table(summary):
    full = summary.get("full")
    if full is None or not full["seeds"]:
        return (
            "The full method has no finished run yet, so no contribution can be compared with it."
        )
    lines = [
        "| Switched off | The paper | Δ SWD×10³ avg | SWD worse, same seed | Δ MS-SSIM "
        "| Δ shape evenness | Δ training time | Here |",
        "|---|---|--:|--:|--:|--:|--:|---|",
    ]
    for ablation in configs.ABLATIONS[1:]:
        entry = summary.get(ablation.name)
        if entry is None:
            continue
        cells = []
        worse, paired = paired_worse(entry, full)
        for key, digits in (("SWDx1e3_avg", 2), ("MS-SSIM", 4), ("shape_evenness", 3)):
            delta, clear = difference(entry, full, key) if entry["seeds"] else (math.nan, False)
            cells.append(
                "–"
                if not math.isfinite(delta)
                else f"{delta:+.{digits}f}" + ("" if clear else " (within spread)")
            )
            if key == "SWDx1e3_avg":
                cells.append(f"{worse} of {paired}" if paired else "–")
        dt = entry["train_seconds"][0] - full["train_seconds"][0] if entry["seeds"] else math.nan
        cells.append(
            "–"
            if not math.isfinite(dt)
            else f"{dt:+.0f}s ({entry['train_seconds'][0] / full['train_seconds'][0]:.2f}×)"
        )
        lines.append(
            f"| {ablation.title} | {ablation.paper_claim} | "
            + " | ".join(cells)
            + f" | {verdict(ablation, entry, full)} |"
        )
    return "\n".join(lines)


_EQUAL_TIME_HEAD = [
    "| Seed | Full method: training time | Full method: final SWD×10³ avg "
    "| No growing: SWD×10³ avg at that time | No growing: time to reach that SWD |",
    "|--:|--:|--:|--:|--:|",
]


def equal_time_section(summary):
    """Fig. 4's question for progressive growing, per seed: where the no-growing run stood after
    the full method's training time, and how long it took to reach the full method's final SWD.
    Empty when either has no finished run with the same seed."""
    full, flat = summary.get("full"), summary.get("no_growing")
    if not full or not flat:
        return ""
    seeds = sorted(set(full["snapshots"]) & set(flat["snapshots"]))
    rows, at, final, reach = [], [], [], []
    for seed in seeds:
        mine, other = full["snapshots"][seed], flat["snapshots"][seed]
        t, swd = mine[-1].get("train_seconds"), mine[-1]["SWDx1e3_avg"]
        if t is None:
            continue
        there, needed = value_at_time(other, t), time_to_reach(other, swd)
        at.append(there)
        final.append(swd)
        reach.append(needed)
        rows.append(
            f"| {seed} | {_minutes(t)} | {swd:.2f} | "
            + (f"{there:.2f}" if there is not None else "– (it had not trained that long)")
            + " | "
            + (_minutes(needed) if needed is not None else "never, within its budget")
            + " |"
        )
    if not rows:
        return ""
    (m_at, s_at), (m_full, s_full) = mean_spread(at), mean_spread(final)
    if not math.isfinite(m_at):
        reading = "no seed's no-growing run trained as long as the full method"
    elif abs(m_at - m_full) <= s_at + s_full:
        reading = "no clear difference at equal time (within the seed spreads)"
    elif m_at > m_full:
        reading = "growing is ahead at equal time, as in Fig. 4"
    else:
        reading = "growing is behind at equal time, unlike Fig. 4"
    done = [t for t in reach if t is not None]
    reached = (
        f" No growing reached the full method's final SWD in {len(done)} of {len(reach)} seeds,"
        f" after {_minutes(sum(done) / len(done))} on average."
        if done
        else ""
    )
    return f"""## Progressive growing at equal training time (Fig. 4)

The paper's case for growing is speed as much as quality: most images are shown at low
resolution, where a step is cheap. Per seed, the no-growing run read at the full method's
training time (linear between its snapshots), and the time it needed to reach the full method's
final SWD. Wall-clock times: they carry the machine's load at the time of each run.

{chr(10).join(_EQUAL_TIME_HEAD + rows)}

Mean over seeds: the full method {_fmt((m_full, s_full), 2)} at its end, no growing
{_fmt((m_at, s_at), 2)} at the same time: {reading}.{reached}
"""


def curves_png(summary, path):
    """Writes the plot: average SWD (with the floor) and shape evenness against kimg, and average
    SWD against training time when the snapshots carry it."""
    names = [a for a in configs.ABLATIONS if a.name in summary and summary[a.name]["seeds"]]
    panels = [
        {
            "title": "SWD x 1e3, average of the levels (lower is better)",
            "series": {a.name: summary[a.name]["curves"]["SWDx1e3_avg"] for a in names},
            "floor": summary["reals"]["SWDx1e3_avg"][0],
        },
        {
            "title": "Shape evenness (1 = discs, squares, triangles equally often)",
            "series": {a.name: summary[a.name]["curves"]["shape_evenness"] for a in names},
            "floor": summary["reals"]["shape_evenness"][0],
        },
    ]
    timed = {a.name: summary[a.name]["time_curve"] for a in names if summary[a.name]["time_curve"]}
    if timed:
        panels.append(
            {
                "title": "SWD x 1e3 average against wall-clock time",
                "series": timed,
                "floor": summary["reals"]["SWDx1e3_avg"][0],
                "xlabel": "training time (minutes)",
            }
        )
    image = plot.line_chart(
        panels,
        [a.name for a in names],
        xlabel="images shown (kimg)",
        floor_label="reals (SWD: real vs real)",
        width=600 * len(panels),
    )
    atomic.replace_via_temp(path, lambda tmp: image.save(tmp, format="PNG"))


_NOT_BUDGET = ("--dataset_dir", "--create_synthetic")


def budget_line(flagfile, overrides):
    """The setup's budget sentence: only flags that change what is trained change the budget;
    where the data lives (--dataset_dir, --create_synthetic) does not."""
    changed = [o for o in overrides if o.split("=", 1)[0] not in _NOT_BUDGET]
    if not changed:
        return f"The budget is `{flagfile}`'s unchanged."
    listed = " ".join(f"`{o}`" for o in changed)
    return f"**Reduced budget, not the quickstart's:** `{flagfile}` with {listed}."


def _setup_text(runs, summary, sweep_dir):
    done = [r for r in runs if r["state"] == "done"]
    first = done[0]
    cfg = rundir.read_config(first["run_dir"])
    net, sch = cfg.train.network, cfg.train.schedule
    marker = first["done"]
    snaps = sorted({row["kimg"] for row in marker["snapshots"]})
    overrides = marker.get("overrides", [])
    flagfile = marker.get("flagfile", "quickstart.flags")
    total_train = sum(r["done"]["train_seconds"] for r in done)
    total_eval = sum(r["done"]["eval_seconds"] for r in done)
    budget = budget_line(flagfile, overrides)
    seeds = ", ".join(map(str, sorted({r["seed"] for r in done})))
    snapshots = ", ".join(f"{k:g}" for k in snaps)
    eval_res, eval_images = marker["resolution"], marker["num_images"]
    finished = f"{len(done)} finished run{'s' if len(done) > 1 else ''}"
    return f"""\
## Setup

- Data: the built-in synthetic dataset `{cfg.dataset.name}` (discs, squares and triangles
  in red, yellow, green or blue: 12 known modes), trained at {sch.resolution}² final resolution.
- Schedule: {sch.total_kimg:g}k images shown per run; growing from {sch.initial_resolution}² with
  {sch.lod_training_kimg:g}k images to stabilize and {sch.lod_transition_kimg:g}k to fade in each
  resolution (the "no growing" runs show the same {sch.total_kimg:g}k images at {sch.resolution}²
  throughout). Minibatch {sch.minibatch_base}, Adam lr {sch.lr_base:g}, WGAN-GP, G EMA decay
  {cfg.train.g_ema_decay:g} per step (0 in the no-EMA runs).
- Networks: fmap_base {net.fmap_base}, fmap_max {net.fmap_max}, latent {net.latent_size}.
- {budget}
- Seeds: {seeds}; snapshots at {snapshots} kimg.
- Evaluation of every snapshot, upscaled (nearest neighbour) from its stage's resolution to
  {eval_res}², on {eval_images} generated and {eval_images} real images:
  SWD per Laplacian level and average (§5), MS-SSIM among the generated images (Odena et al.,
  as in Table 1; the reals' own value is the target), and mode coverage (modes hit, evenness of
  the shapes and of the colours, share of images that fit no mode). The floor row scores two
  disjoint halves of the reals against each other: what a perfect generator would score.
- Time: {_minutes(total_train)} of training and {_minutes(total_eval)} of evaluation for
  {finished}, wall-clock on a machine with {os.cpu_count()} CPU cores (times grow
  when the machine is shared; the training times come from each run's log.txt, excluding start-up).
"""


def render(runs, sweep_dir, png_name, notes):
    summary = summarize(runs)
    failed = [r for r in runs if r["state"] == "failed"]
    unfinished = [r for r in runs if r["state"] not in ("done", "failed")]
    regen = f"python benchmarks/ablation.py --sweep_dir={sweep_dir} --report_only"
    one_seed = (
        ""
        if min(len(e["seeds"]) for k, e in summary.items() if k != "reals" and e["seeds"]) > 1
        else " Some configurations have a single seed: no spread, so every difference counts there."
    )
    curves_alt = (
        "Average SWD and shape evenness against images shown, and average SWD against "
        "training time, one line per configuration (mean over seeds)"
    )
    parts = [
        f"""\
# Ablation: each contribution of the paper switched off, at small scale

*Generated by `benchmarks/ablation.py` from the run directories in `{sweep_dir}`; regenerate
(no training) with `{regen}`. Only the block between the lead-notes markers is kept by hand.*

The paper's Table 1 adds its contributions one at a time and shows SWD and MS-SSIM improving.
Here the full method is trained next to the same setting with exactly one contribution
switched off (leave one out), a few seeds each.
""",
        _setup_text(runs, summary, sweep_dir),
        f"""\
## Results (final snapshot, mean ± half the range over seeds)

{results_table(summary)}

Lower SWD is better; MS-SSIM is better the closer it is to the reals' (higher means less varied
images); evenness is better closer to 1; unclassified is better closer to the reals'.

![{curves_alt}]({png_name})

## Agreement with the paper

Computed from the table above: Δ = switched off − full method, marked "(within spread)" when it
is smaller than the two seed spreads added. "SWD worse, same seed" pairs the runs by training
seed (the same data order and initial draws) and counts the seeds in which switching off scored a
worse average SWD. The verdict follows average SWD, the measure Table 1 reports for every
step, and the spread rule.{one_seed}

{agreement_table(summary)}

{equal_time_section(summary)}
{NOTES_START}
{notes}
{NOTES_END}
""",
    ]
    if failed:
        parts.append(
            "## Diverged runs\n\n"
            + "\n".join(f"- {r['config']} seed {r['seed']}: {r['failed']['error']}" for r in failed)
            + "\n"
        )
    if unfinished:
        parts.append(
            "## Not finished yet\n\n"
            + "\n".join(f"- {r['config']} seed {r['seed']}: {r['state']}" for r in unfinished)
            + "\n"
        )
    return "\n".join(parts)


def kept_notes(path):
    """The hand-written block of an existing report, or the placeholder."""
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
        m = re.search(
            re.escape(NOTES_START) + r"\n(.*?)\n?" + re.escape(NOTES_END), text, re.DOTALL
        )
        if m and m.group(1).strip():
            return m.group(1).rstrip("\n")
    return NOTES_PLACEHOLDER


def write_report(sweep_dir, out_path):
    """Writes the markdown and its PNG (next to it, same stem); returns both paths."""
    runs = load_runs(sweep_dir)
    png = os.path.splitext(out_path)[0] + ".png"
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    text = render(runs, sweep_dir, os.path.basename(png), kept_notes(out_path))
    curves_png(summarize(runs), png)
    atomic.write_text(out_path, text)
    return out_path, png
