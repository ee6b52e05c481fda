"""The ablation sweep (pgan_tf.ablation, benchmarks/ablation.py): log parsing, run states, the
report's numbers and plot, and a real tiny sweep that is interrupted and resumed."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from dataset_helpers import snapshot
from PIL import Image

from pgan_tf.ablation import configs, evaluation, plot, report, summary, sweep
from pgan_tf.training import rundir

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

LOG = (
    "Run directory: x\n"
    "tick 1     kimg 1.0      lod 0.00  res   16      alpha 1.000 minibatch 8    "
    "time 12s       sec/tick 12.0\n"
    "tick 2     kimg 2.0      lod 0.00  res   16      alpha 1.000 minibatch 8    "
    "time 1m 05s    sec/tick 53.0\n"
    "Resumed from ckpt-1000 at kimg 1.0 (16x16, tick 1)\n"
    "tick 2     kimg 2.0      lod 0.00  res   16      alpha 1.000 minibatch 8    "
    "time 20s       sec/tick 8.0\n"
    "tick 3     kimg 3.0      lod 0.00  res   16      alpha 1.000 minibatch 8    "
    "time 1h 02m    sec/tick 8.0\n"
    "Done: kimg 3.0 in 1h 02m.\n"
)


# ------------------------------------------------------------------ log.txt
def test_parse_elapsed_reads_every_format_train_writes():
    from pgan_tf.training.reporting import format_time

    for seconds in (0, 34, 59, 60, 425, 3599):
        assert evaluation.parse_elapsed(format_time(seconds)) == seconds
    assert evaluation.parse_elapsed(format_time(3720 + 41)) == 3720  # hours drop the seconds
    with pytest.raises(ValueError):
        evaluation.parse_elapsed("soon")


def test_tick_times_later_lines_win_after_a_resume():
    assert evaluation.tick_times(LOG) == [(1.0, 12), (2.0, 20), (3.0, 3720)]
    assert evaluation.finished_training(LOG) == (3.0, 3720)
    assert evaluation.finished_training(LOG.replace("Done:", "Stopped")) is None
    ticks = evaluation.tick_times(LOG)
    assert evaluation.seconds_at(ticks, 2) == 20 and evaluation.seconds_at(ticks, 3) == 3720


def test_run_ticks_read_the_tick_records_and_fall_back_to_the_log(tmp_path):
    run = str(tmp_path)
    assert evaluation.run_ticks(run, LOG) == [(1.0, 12), (2.0, 20), (3.0, 3720)]
    records = [(1.04, 12.5), (2.0, 20.25), (2.0, 21.0), (3.0, 3761.0)]  # 2.0 repeated: a resume
    _touch(
        os.path.join(run, rundir.TICKS_NAME),
        "".join(json.dumps({"kimg": k, "train_seconds": s}) + "\n" for k, s in records),
    )
    assert evaluation.run_ticks(run, LOG) == [(1.0, 12.5), (2.0, 21.0), (3.0, 3761.0)]


# ------------------------------------------------------------------ run states
def _touch(path, text=""):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def test_slot_states_are_read_from_the_run_directory(tmp_path):
    slot = str(tmp_path / "full-s1")
    assert sweep.state(slot) == ("new", None)
    run = os.path.join(slot, "00000-full-s1")
    _touch(os.path.join(run, "log.txt"), "tick 1 ...\n")
    assert sweep.state(slot) == ("restart", run)
    _touch(os.path.join(run, "checkpoints", "checkpoint"))
    assert sweep.state(slot) == ("resume", run)
    _touch(os.path.join(run, "log.txt"), LOG)
    assert sweep.state(slot) == ("evaluate", run)
    _touch(os.path.join(run, sweep.FAILED_FILE), "{}")
    assert sweep.state(slot) == ("failed", run)
    _touch(os.path.join(run, sweep.DONE_FILE), "{}")
    assert sweep.state(slot) == ("done", run)
    os.makedirs(os.path.join(slot, "00001-full-s1"))
    with pytest.raises(sweep.SweepError, match="2 run directories"):
        sweep.state(slot)


def test_a_slot_refuses_other_settings(tmp_path):
    slot = str(tmp_path / "full-s1")
    sweep.check_args(slot, ["--total_kimg=2", "--seed=1"])
    sweep.check_args(slot, ["--total_kimg=2", "--seed=1"])
    with pytest.raises(sweep.SweepError, match="--total_kimg=3"):
        sweep.check_args(slot, ["--total_kimg=3", "--seed=1"])


def test_select_configurations():
    assert [a.name for a in configs.select("")] == [a.name for a in configs.ABLATIONS]
    assert [a.name for a in configs.select("no_ema,full")] == ["full", "no_ema"]
    with pytest.raises(ValueError, match="no_such"):
        configs.select("no_such")


# ------------------------------------------------------------------ report numbers
def _marker(config, seed, swd, evenness, seconds):
    row = {
        "SWDx1e3_32": swd + 1,
        "SWDx1e3_16": swd - 1,
        "SWDx1e3_avg": swd,
        "MS-SSIM": 0.1,
        "modes_hit": 12,
        "shape_evenness": evenness,
        "colour_evenness": 1.0,
        "unclassified": 0.0,
    }
    return {
        "state": "done",
        "config": config,
        "seed": seed,
        "run_dir": None,
        "done": {
            "resolution": 32,
            "train_kimg": 120.0,
            "num_images": 64,
            "overrides": [],
            "train_seconds": seconds,
            "eval_seconds": 5.0,
            "baseline": {**row, "SWDx1e3_avg": 2.0},
            "snapshots": [
                {**row, "kimg": 60, "SWDx1e3_avg": swd * 2, "train_seconds": seconds / 2},
                {**row, "kimg": 120, "train_seconds": seconds},
            ],
        },
    }


def test_summary_mean_and_half_range_and_verdicts():
    runs = [
        _marker("full", 1, 10.0, 0.9, 400),
        _marker("full", 2, 14.0, 0.7, 440),
        _marker("no_mbstd", 1, 30.0, 0.5, 400),
        _marker("no_mbstd", 2, 34.0, 0.3, 400),
        _marker("no_pixelnorm", 1, 13.0, 0.8, 400),
        _marker("no_pixelnorm", 2, 16.0, 0.8, 400),
        _marker("no_eqlr", 1, 5.0, 0.8, 400),
        _marker("no_eqlr", 2, 6.0, 0.8, 400),
    ]
    s = summary.summarize(runs)
    assert s["full"]["SWDx1e3_avg"] == (12.0, 2.0)
    assert s["full"]["shape_evenness"] == pytest.approx((0.8, 0.1))
    assert s["full"]["train_seconds"] == (420.0, 20.0)
    assert s["full"]["curves"]["SWDx1e3_avg"] == [(60, 24.0), (120, 12.0)]
    assert s["reals"]["SWDx1e3_avg"] == (2.0, 0.0)
    full = s["full"]
    assert summary.verdict(configs.BY_NAME["no_mbstd"], s["no_mbstd"], full).startswith(
        "agrees"
    )  # +20 > 2 + 2
    assert summary.verdict(configs.BY_NAME["no_pixelnorm"], s["no_pixelnorm"], full).startswith(
        "agrees"
    )  # +2.5 < 3.5
    assert summary.verdict(configs.BY_NAME["no_eqlr"], s["no_eqlr"], full).startswith(
        "disagrees"
    )  # -6.5, > 2.5
    table = report.results_table(s)
    assert (
        "| Full method (all contributions) | 13.00 ± 2.00 | 11.00 ± 2.00 | 12.00 ± 2.00 |" in table
    )
    agreement = report.agreement_table(s)
    assert "| +20.00 | 2 of 2 |" in agreement
    assert "| +2.50 (within spread) | 2 of 2 |" in agreement  # paired: worse in both seeds
    assert "| -6.50 | 0 of 2 |" in agreement
    assert summary.paired_worse(s["no_eqlr"], full) == (0, 2)
    mixed = runs + [_marker("no_ema", 1, 10.0, 0.9, 400)]
    mixed[-1]["done"]["train_kimg"] = 60.0
    with pytest.raises(summary.ReportError, match="different settings"):
        summary.summarize(mixed)


def _timed(*points):
    return [{"train_seconds": t, "SWDx1e3_avg": y} for t, y in points]


def test_value_at_time_interpolates_and_never_extrapolates():
    snaps = _timed((100, 80.0), (300, 40.0), (400, 30.0))
    assert summary.value_at_time(snaps, 200) == 60.0
    assert summary.value_at_time(snaps, 100) == 80.0 and summary.value_at_time(snaps, 400) == 30.0
    assert summary.value_at_time(snaps, 50) is None and summary.value_at_time(snaps, 401) is None
    assert summary.value_at_time([{"SWDx1e3_avg": 1.0}], 0) is None  # untimed snapshots


def test_time_to_reach_is_the_first_crossing():
    snaps = _timed((100, 80.0), (300, 40.0), (400, 50.0), (500, 20.0))
    assert summary.time_to_reach(snaps, 60.0) == 200.0
    assert summary.time_to_reach(snaps, 45.0) == 275.0  # not the later crossing after 400
    assert summary.time_to_reach(snaps, 90.0) == 100.0
    assert summary.time_to_reach(snaps, 10.0) is None


def test_equal_time_section_reads_no_growing_at_the_full_methods_time():
    runs = [
        _marker("full", 1, 10.0, 0.9, 400),  # snapshots: (200 s, 20), (400 s, 10)
        _marker("no_growing", 1, 5.0, 0.9, 800),  # (400 s, 10), (800 s, 5)
        _marker("full", 2, 10.0, 0.9, 400),
        _marker("no_growing", 2, 5.0, 0.9, 1600),  # (800 s, 10): not trained 400 s yet
    ]
    text = report.equal_time_section(summary.summarize(runs))
    assert "| 1 | 6m 40s | 10.00 | 10.00 | 6m 40s |" in text
    assert "| 2 | 6m 40s | 10.00 | – (it had not trained that long) | 13m 20s |" in text
    assert "no clear difference at equal time" in text
    assert "final SWD in 2 of 2 seeds, after 10m 00s on average" in text
    assert report.equal_time_section(summary.summarize(runs[:1])) == ""
    ahead = [_marker("full", 1, 10.0, 0.9, 400), _marker("no_growing", 1, 10.0, 0.9, 800)]
    assert "growing is ahead at equal time" in report.equal_time_section(summary.summarize(ahead))


def test_kept_notes_survive_regeneration(tmp_path):
    path = str(tmp_path / "ablation.md")
    assert report.kept_notes(path) == report.NOTES_PLACEHOLDER
    _touch(
        path,
        f"old table\n{report.NOTES_START}\nWhy it differs.\n\nSecond line.\n"
        f"{report.NOTES_END}\nold\n",
    )
    assert report.kept_notes(path) == "Why it differs.\n\nSecond line."


# ------------------------------------------------------------------ plot
def test_nice_ticks_cover_the_range_with_round_steps():
    assert plot.nice_ticks(0, 120) == [0, 50, 100, 150]
    assert plot.nice_ticks(0.27, 0.93) == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert plot.nice_ticks(5, 5)[0] <= 5 <= plot.nice_ticks(5, 5)[-1]


def test_line_chart_draws_each_series_in_its_colour():
    panels = [
        {"title": "a", "series": {"x": [(0, 1), (10, 3)], "y": [(0, 2), (10, 2)]}, "floor": 0.5},
        {"title": "b", "series": {"x": [(0, 0.1), (10, 0.9)]}, "floor": None},
    ]
    image = plot.line_chart(panels, ["x", "y"], xlabel="kimg", width=800, height=400)
    pixels = np.asarray(image).reshape(-1, 3)
    colours = {tuple(p) for p in pixels}
    assert image.size[0] == 800 and image.size[1] > 400
    assert plot.PALETTE[0] in colours and plot.PALETTE[1] in colours
    with pytest.raises(ValueError):
        plot.line_chart([{"title": "a", "series": {"x": [(0, float("nan"))]}}], ["x"], xlabel="k")


# ------------------------------------------------------------------ a real tiny sweep
def _read(path):
    with open(path) as f:
        return f.read()


def _files(directory):
    """{relative path: (mtime_ns, contents)} of everything under a directory: untouched means both
    equal."""
    return {
        rel: (os.stat(os.path.join(directory, rel)).st_mtime_ns, data)
        for rel, data in snapshot(directory).items()
    }


TINY = (
    "--resolution=16",
    "--initial_resolution=16",
    "--total_kimg=2",
    "--tick_kimg=16:1",
    "--fmap_base=32",
    "--fmap_max=16",
    "--latent_size=16",
    "--minibatch_base=8",
    "--grid_size=2",
    "--shuffle_buffer=64",
)


@pytest.mark.slow  # ~45 s: two real training runs, evaluated and resumed
def test_tiny_sweep_reports_and_resumes_without_redoing_finished_runs(tmp_path):
    from pgan_tf.data.dataset_tool import create_synthetic

    create_synthetic(str(tmp_path / "data"), num_images=160, resolution=16, seed=3, progress=False)
    settings = sweep.Settings(
        sweep_dir=str(tmp_path / "sweep"),
        flagfile=os.path.join(REPO, "quickstart.flags"),
        overrides=(f"--dataset_dir={tmp_path}/data", *TINY),
        snapshot_ticks=1,
        num_images=32,
    )
    chosen = configs.select("full,no_pixelnorm")
    lines = []
    assert sweep.sweep(settings, chosen, [1], log=lines.append, echo=lambda line: None) == {
        "full-s1": "new",
        "no_pixelnorm-s1": "new",
    }
    md, png = report.write_report(settings.sweep_dir, str(tmp_path / "docs" / "ablation.md"))
    text = _read(md)
    for title in ("Full method", "− pixelwise feature normalization", "Real vs real"):
        assert title in text
    assert "![" in text and "(ablation.png)" in text and report.NOTES_PLACEHOLDER in text
    assert Image.open(png).size[0] == 1800  # kimg, evenness, and SWD against training time
    full_run = sweep.state(os.path.join(settings.sweep_dir, "full-s1"))[1]
    marker = json.loads(_read(os.path.join(full_run, sweep.DONE_FILE)))
    assert [row["kimg"] for row in marker["snapshots"]] == [1, 2]
    assert marker["baseline"]["SWDx1e3_avg"] < marker["snapshots"][-1]["SWDx1e3_avg"]
    assert f"{marker['snapshots'][-1]['SWDx1e3_avg']:.2f} ± 0.00" in text

    # interrupted after its last checkpoint: no closing 'Done:' line, no final snapshot, no marker
    before = _files(os.path.dirname(full_run))
    other = sweep.state(os.path.join(settings.sweep_dir, "no_pixelnorm-s1"))[1]
    os.remove(os.path.join(other, sweep.DONE_FILE))
    os.remove(os.path.join(other, "network-snapshot-000002.keras"))
    log_path = os.path.join(other, "log.txt")
    kept = [line for line in _read(log_path).splitlines(True) if not line.startswith("Done:")]
    with open(log_path, "w") as f:
        f.writelines(kept)
    assert sweep.sweep(settings, chosen, [1], log=lines.append, echo=lambda line: None) == {
        "full-s1": "done",
        "no_pixelnorm-s1": "resume",
    }
    assert _files(os.path.dirname(full_run)) == before
    assert "Resumed from" in _read(log_path)
    assert os.path.exists(os.path.join(other, sweep.DONE_FILE))

    # the regeneration command writes the same page from the stored runs
    md, png = report.write_report(settings.sweep_dir, str(tmp_path / "docs" / "ablation.md"))
    regen = tmp_path / "again" / "ablation.md"
    proc = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "benchmarks", "ablation.py"),
            f"--sweep_dir={settings.sweep_dir}",
            "--report_only",
            f"--report={regen}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert regen.read_text() == _read(md)

    changed = sweep.Settings(
        **{**settings.__dict__, "overrides": settings.overrides + ("--lr_base=0.01",)}
    )
    with pytest.raises(sweep.SweepError, match="other settings"):
        sweep.sweep(changed, chosen, [1], log=lines.append, echo=lambda line: None)


def test_cli_usage_errors_exit_2(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "benchmarks", "ablation.py"),
            "--only=no_such",
            f"--sweep_dir={tmp_path}",
        ],
        capture_output=True,
        text=True,
        timeout=180,  # a usage error; generous for a loaded machine
        check=False,
    )
    assert proc.returncode == 2 and proc.stderr.strip().startswith("error: unknown configuration")


@pytest.mark.slow
def test_a_diverged_run_is_kept_as_a_result_and_not_retrained(tmp_path):
    from pgan_tf.data.dataset_tool import create_synthetic

    create_synthetic(str(tmp_path / "data"), num_images=160, resolution=16, seed=3, progress=False)
    settings = sweep.Settings(
        sweep_dir=str(tmp_path / "sweep"),
        flagfile=os.path.join(REPO, "quickstart.flags"),
        overrides=(f"--dataset_dir={tmp_path}/data", *TINY, "--lr_base=1e30"),
        snapshot_ticks=1,
        num_images=32,
    )
    chosen = configs.select("no_ema")
    assert sweep.sweep(settings, chosen, [1], log=print, echo=lambda line: None) == {
        "no_ema-s1": "new"
    }
    run = sweep.state(os.path.join(settings.sweep_dir, "no_ema-s1"))[1]
    failed = json.loads(_read(os.path.join(run, sweep.FAILED_FILE)))
    assert failed["config"] == "no_ema" and "non-finite loss" in failed["error"]
    assert sweep.sweep(settings, chosen, [1], log=print, echo=lambda line: None) == {
        "no_ema-s1": "failed"
    }
    with pytest.raises(summary.ReportError, match="no finished run"):
        report.write_report(settings.sweep_dir, str(tmp_path / "ablation.md"))


def test_budget_line_ignores_where_the_data_lives():
    assert report.budget_line(
        "quickstart.flags", ["--dataset_dir=/x", "--create_synthetic=10"]
    ) == ("The budget is `quickstart.flags`'s unchanged.")
    assert report.budget_line("quickstart.flags", ["--dataset_dir=/x", "--total_kimg=12"]) == (
        "**Reduced budget, not the quickstart's:** `quickstart.flags` with `--total_kimg=12`."
    )
