"""Images/s of the real training loop against its own compiled step, per stage, in one run.

The loop is `python -m pgan_tf.train` on the given flag file (a subprocess, the dataset read from
disk, grids, logs, checkpoints and snapshots as a run writes them); its rate for a stage is the
images of the stage's ticks after the first over the wall time between their ends
(`ticks.jsonl`'s `wall_time`), so every per-tick cost is in it and the one-off stage switch (the
first tick, reported apart by the run's log) is not. The step is the same stage's `StageTrainer`
timed as `benchmarks/train_step.py` does (benchmarks/step_timing.py's StageRun: in-memory data,
median of --calls calls), in this process, just before the loop and again just after it; the
ratio loop / step, with the mean of the two as the step, is the loop's own efficiency (goal:
>= 0.9). The two step columns show how far the machine's speed moved meanwhile.

    python benchmarks/train_loop.py [--flagfile=quickstart.flags] [--phase_kimg=10]
        [--total_kimg=80] [--calls=6] [--work_dir=DIR]

--phase_kimg shortens the stabilize and fade phases (both) to keep the run short; with the
quickstart's 5-kimg ticks, 10 gives every stage two ticks, of which the second is measured.
Run it on an idle machine: the loop and the steps run one after the other, not interleaved.
"""

import pgan_tf  # noqa: F401  (quiet TF logs before TensorFlow loads)

# isort: split
import collections
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import tensorflow as tf

from pgan_tf.core import cli
from pgan_tf.training import config as config_lib
from pgan_tf.training import rundir, schedule

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # step_timing.py, run or loaded
# isort: split
from step_timing import StageRun  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_parser() -> cli.ArgumentParser:
    p = cli.ArgumentParser(prog="benchmarks/train_loop.py", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--config",
        default=os.path.join(REPO, "quickstart.flags"),
        help="The flag file of the run (its networks, minibatches, ticks, snapshots).",
    )
    p.add_argument("--phase_kimg", type=float, default=10.0, help="Stabilize and fade kimg.")
    p.add_argument("--total_kimg", type=float, default=80.0, help="Images of the loop's run.")
    p.add_argument("--calls", type=cli.integer, default=6, help="Timed step calls per stage.")
    p.add_argument("--work_dir", default="", help="Where the run goes (default: a temp dir).")
    return p


def loop_rates(ticks):
    """{(resolution, fade_in): (images/s, maintenance share)} from a run's tick records: per
    stage, its ticks after the first, over the wall time between the ends of consecutive ticks
    (a tick's `maintenance_seconds` is the previous tick's end: grids, checkpoints, metrics)."""
    spans = collections.defaultdict(list)
    for before, tick in zip(ticks, ticks[1:]):
        key = (tick["resolution"], tick["fade_in"])
        if (before["resolution"], before["fade_in"]) == key:
            spans[key].append(
                (
                    1000 * (tick["kimg"] - before["kimg"]),
                    tick["wall_time"] - before["wall_time"],
                    tick["maintenance_seconds"],
                )
            )
    rates = {}
    for key, parts in spans.items():
        images, wall, maintenance = (sum(x) for x in zip(*parts))
        rates[key] = (images / wall, maintenance / wall)
    return rates


def run_loop(flags, work):
    """Runs the training loop; returns its tick records."""
    data = os.path.join(work, "synthetic-32")
    cmd = [
        sys.executable,
        "-m",
        "pgan_tf.train",
        f"--flagfile={flags.config}",
        f"--dataset_dir={data}",
        f"--result_dir={os.path.join(work, 'results')}",
        f"--lod_training_kimg={flags.phase_kimg:g}",
        f"--lod_transition_kimg={flags.phase_kimg:g}",
        f"--total_kimg={flags.total_kimg:g}",
    ]
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"training failed ({proc.returncode}): {proc.stderr[-2000:]}")
    run = rundir.list_runs(os.path.join(work, "results"))[-1]
    print(f"loop: {' '.join(cmd[3:])}: {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return rundir.read_ticks(run) or []


def cpu_description():
    """The CPU's model, cores, and which of the instruction sets that matter here it has."""
    model, found = platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    found = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    isa = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in found]
    isa_override = os.environ.get("ONEDNN_MAX_CPU_ISA")
    limit = f", oneDNN limited to {isa_override}" if isa_override else ""
    return f"{model}, {os.cpu_count()} cores, {' '.join(isa) or 'no AVX2'}{limit}"


def step_rate(run, calls):
    """Images/s of `calls` calls of a StageRun's compiled step (the median call)."""
    times = [run.call(run.steps)[0] for _ in range(calls)]
    return run.trainer.global_batch * run.steps / statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    flags = make_parser().parse_args(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = flags.work_dir or tmp
        config = config_lib.config_from_flags(
            config_lib.parse_flags(
                [
                    f"--flagfile={flags.config}",
                    f"--lod_training_kimg={flags.phase_kimg:g}",
                    f"--lod_transition_kimg={flags.phase_kimg:g}",
                    f"--dataset_dir={os.path.join(work, 'synthetic-32')}",
                ]
            )
        )
        # The steps are timed just before and just after the loop, and the loop is compared with
        # their mean: the VM's speed drifts within minutes, and bracketing cancels a steady drift.
        strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
        stages = [s for s in schedule.stages(config.schedule) if s.start_kimg < flags.total_kimg]
        runs = [StageRun(config, strategy, s, config.steps_per_call) for s in stages]
        before = [step_rate(run, flags.calls) for run in runs]
        rates = loop_rates(run_loop(flags, work))
        after = [step_rate(run, flags.calls) for run in runs]
    print(f"CPU: {cpu_description()}", flush=True)
    print(
        f"{'stage':>12} {'loop img/s':>11} {'step before':>12} {'step after':>11} "
        f"{'loop/step':>10} {'maintenance':>12}"
    )
    ratios = []
    for stage, pre, post in zip(stages, before, after):
        key = (stage.resolution, stage.fade_in)
        if key not in rates:
            continue
        loop, maint = rates[key]
        ratio = loop / ((pre + post) / 2)
        ratios.append(ratio)
        print(
            f"{stage.name:>12} {loop:11.0f} {pre:12.0f} {post:11.0f} {ratio:10.2f} "
            f"{100 * maint:11.1f}%",
            flush=True,
        )
    print(f"lowest loop/step: {min(ratios):.2f} (step: the mean of before and after)", flush=True)
    return cli.OK


if __name__ == "__main__":
    sys.exit(main())
