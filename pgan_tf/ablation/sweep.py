"""Runs the ablation sweep one run at a time, resumably, keeping all state in the run directories.

Layout: `<sweep_dir>/<config>-s<seed>/` is one run's slot. It holds `ablation-args.json` (the
training arguments it was started with; a re-run with other settings is refused) and the
training's own run directory `<NNNNN>-<config>-s<seed>/`, in which the sweep writes, atomically,
`ablation-done.json` (the evaluation: the marker that the run is finished) or
`ablation-failed.json` (training diverged: a result, not retried unless asked).

A slot's state is read from these files alone: no run dir → train; a run dir without a
checkpoint → start again; a checkpoint but no 'Done:' line in log.txt → `--resume`; 'Done:' but no
marker → evaluate; a marker → skip.
"""

import collections
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time

from pgan_tf.ablation import evaluation
from pgan_tf.core import atomic, cli
from pgan_tf.training import rundir

ARGS_FILE = "ablation-args.json"
DONE_FILE = "ablation-done.json"
FAILED_FILE = "ablation-failed.json"
DATASET_SEED = 1000  # the seed `pgan_tf.train` makes the quickstart's dataset with (its default)
_DIVERGED = "non-finite loss"


class SweepError(RuntimeError):
    """The sweep cannot go on; the message says why and what to do."""


class Interrupted(SweepError):
    """Stopped by a signal; everything finished so far is kept and a re-run resumes."""


@dataclasses.dataclass(frozen=True)
class Settings:
    sweep_dir: str
    flagfile: str  # the base setting (quickstart.flags)
    overrides: tuple = ()  # training flags replacing the flag file's, e.g. ('--total_kimg=60',)
    snapshot_ticks: int = 4
    num_images: int = 1024
    eval_seed: int = 0
    retry_failed: bool = False
    python: str = sys.executable


def parse_flag_lines(lines):
    """{flag: value} of `--name=value` arguments (other arguments ignored)."""
    out = {}
    for line in lines:
        line = line.strip()
        if line.startswith("--"):
            name, _, value = line[2:].partition("=")
            out[name] = value
    return out


def effective_flags(settings):
    """The flag file's values, read as `pgan_tf.train` reads it, with the overrides applied (what
    the dataset is made from)."""
    flags = parse_flag_lines(cli.read_flagfile(settings.flagfile))
    flags.update(parse_flag_lines(settings.overrides))
    return flags


def dataset_dir(settings):
    path = effective_flags(settings).get("dataset_dir")
    if not path:
        raise SweepError(f"{settings.flagfile} names no --dataset_dir")
    return os.path.abspath(path)


def ensure_dataset(settings, log):
    """Creates the synthetic dataset once, with the quickstart's seed, before any run: left to the
    runs, each would make it with its own training seed, and the first one would decide."""
    path = dataset_dir(settings)
    flags = effective_flags(settings)
    count = int(flags.get("create_synthetic", 0) or 0)
    if os.path.exists(path) or count <= 0:
        return path
    from pgan_tf.data.dataset_tool import create_synthetic

    resolution = int(flags.get("resolution", 0) or 0)
    if resolution <= 0:
        raise SweepError(
            f"{path} does not exist and the flags give no --resolution to create it at"
        )
    log(f"Creating the synthetic dataset ({count} images, {resolution}²) in {path}")
    create_synthetic(
        path, num_images=count, resolution=resolution, seed=DATASET_SEED, progress=False
    )
    return path


def slot_name(ablation, seed):
    return f"{ablation.name}-s{seed}"


def train_args(settings, ablation, seed):
    """The training command line of one run (without the interpreter and --resume)."""
    slot = slot_name(ablation, seed)
    return [
        "-m",
        "pgan_tf.train",
        f"--flagfile={os.path.abspath(settings.flagfile)}",
        *settings.overrides,
        f"--dataset_dir={dataset_dir(settings)}",
        f"--seed={seed}",
        f"--result_dir={os.path.join(os.path.abspath(settings.sweep_dir), slot)}",
        f"--desc={slot}",
        f"--network_snapshot_ticks={settings.snapshot_ticks}",
        *ablation.train_flags,
    ]


def write_json(path, obj):
    """Writes JSON atomically (a reader never sees half a file, a crash leaves none)."""
    atomic.write_text(path, json.dumps(obj, indent=1))


def read_json(path):
    with open(path) as f:
        return json.load(f)


def run_dirs(slot):
    """The training run directories inside a slot (normally one)."""
    return rundir.list_runs(slot)


def state(slot):
    """(state, run_dir): 'new', 'restart', 'resume', 'evaluate', 'done' or 'failed'."""
    runs = run_dirs(slot)
    if len(runs) > 1:
        raise SweepError(
            f"{slot} holds {len(runs)} run directories; keep one (the sweep made only one)"
        )
    if not runs:
        return "new", None
    run = runs[0]
    if os.path.exists(os.path.join(run, DONE_FILE)):
        return "done", run
    if os.path.exists(os.path.join(run, FAILED_FILE)):
        return "failed", run
    log_path = os.path.join(run, rundir.LOG_NAME)
    if os.path.exists(log_path) and evaluation.finished_training(evaluation.read_log(run)):
        return "evaluate", run
    if rundir.has_checkpoint(run):
        return "resume", run
    return "restart", run


def check_args(slot, args):
    """Writes the slot's training arguments on first use; refuses a slot started with others."""
    path = os.path.join(slot, ARGS_FILE)
    if os.path.exists(path):
        before = read_json(path)["train_args"]
        if before != args:
            changed = sorted(set(before) ^ set(args))
            raise SweepError(
                f"{slot} was started with other settings (differing: {' '.join(changed)}); "
                f"use another --sweep_dir or delete that slot"
            )
        return
    os.makedirs(slot, exist_ok=True)
    write_json(path, {"train_args": args})


class _Signals:
    """SIGINT / SIGTERM during the sweep: while a training runs, passed on to it once (it saves a
    checkpoint and exits) and the sweep stops after it; otherwise the sweep stops at once
    (evaluation files are written atomically, so nothing is left half-done)."""

    def __init__(self):
        self.proc = None
        self.received = None

    def __enter__(self):
        self._old = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def _handle(self, signum, frame):
        first = self.received is None
        self.received = signal.Signals(signum).name
        if self.proc is None or self.proc.poll() is not None:
            raise Interrupted(f"stopped by {self.received}; run the same command again to resume")
        if first:
            self.proc.send_signal(signal.SIGINT)

    def __exit__(self, *exc):
        for s, handler in self._old.items():
            signal.signal(s, handler)


def _child_env():
    """The training runs the same pgan_tf as the sweep (a worktree's, not an installed copy)."""
    import pgan_tf

    root = os.path.dirname(os.path.dirname(os.path.abspath(pgan_tf.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def train(settings, args, resume_dir, echo, signals):
    """Runs one training to its end (or until `signals` stops it); returns (exit code, last output
    lines). Its own session: a Ctrl-C reaches it once, through `signals`, not twice."""
    cmd = [settings.python, *args] + ([f"--resume={resume_dir}"] if resume_dir else [])
    tail = collections.deque(maxlen=30)
    signals.proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_child_env(),
        start_new_session=True,
    )
    try:
        for line in signals.proc.stdout:
            tail.append(line.rstrip("\n"))
            echo(line.rstrip("\n"))
        return signals.proc.wait(), list(tail)
    finally:
        signals.proc = None


def run_one(settings, ablation, seed, log, echo, signals):
    """Brings one run to 'done' (or 'failed' when its training diverges); returns the state it
    was found in."""
    slot = os.path.join(settings.sweep_dir, slot_name(ablation, seed))
    args = train_args(settings, ablation, seed)
    check_args(slot, args)
    found, run = state(slot)
    if found == "failed" and settings.retry_failed:
        os.remove(os.path.join(run, FAILED_FILE))
        found = "resume" if rundir.has_checkpoint(run) else "restart"
    if found in ("done", "failed"):
        log(f"{slot_name(ablation, seed)}: {found}, skipped")
        return found
    if found == "restart":  # stopped before its first checkpoint: nothing worth keeping
        log(f"{slot_name(ablation, seed)}: {run} has no checkpoint; starting it again")
        shutil.rmtree(run)
        found, run = "new", None
    if found in ("new", "resume"):
        log(f"{slot_name(ablation, seed)}: {'resuming ' + run if run else 'training'}")
        code, tail = train(settings, args, run, echo, signals)
        if signals.received:
            raise Interrupted(
                f"stopped by {signals.received} during {slot_name(ablation, seed)}; "
                f"run the same command again to resume"
            )
        new_state, run = state(slot)
        if code != 0 and any(_DIVERGED in line for line in tail):
            write_json(
                os.path.join(run, FAILED_FILE),
                {
                    "config": ablation.name,
                    "seed": seed,
                    "train_args": args,
                    "exit_code": code,
                    "error": next(line for line in reversed(tail) if _DIVERGED in line),
                },
            )
            log(f"{slot_name(ablation, seed)}: training diverged; recorded in {FAILED_FILE}")
            return found
        if code != 0 or new_state != "evaluate":
            raise SweepError(
                f"training {slot_name(ablation, seed)} stopped (exit code {code}) without "
                f"finishing:\n  " + "\n  ".join(tail[-8:])
            )
    log(f"{slot_name(ablation, seed)}: evaluating the snapshots of {run}")
    start = time.time()
    result = evaluation.evaluate_run(
        run,
        num_images=settings.num_images,
        seed=settings.eval_seed,
        progress=lambda text: log("  " + text),
    )
    write_json(
        os.path.join(run, DONE_FILE),
        {
            "config": ablation.name,
            "seed": seed,
            "train_args": args,
            "flagfile": os.path.basename(settings.flagfile),
            "overrides": list(settings.overrides),
            "num_images": settings.num_images,
            "eval_seed": settings.eval_seed,
            "eval_seconds": round(time.time() - start, 1),
            **result,
        },
    )
    log(f"{slot_name(ablation, seed)}: done")
    return found


def _say(line):
    print(line, flush=True)


def sweep(settings, ablations, seeds, log=_say, echo=_say):
    """Runs every (configuration, seed) not yet done, in table order; {slot name: state found}."""
    ensure_dataset(settings, log)
    found = {}
    with _Signals() as signals:
        for (
            seed
        ) in seeds:  # every configuration once before the second seed: early results cover all
            for ablation in ablations:
                found[slot_name(ablation, seed)] = run_one(
                    settings, ablation, seed, log, echo, signals
                )
    return found
