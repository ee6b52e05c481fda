"""The run directory: the one module every command uses to create, read and look into a run.

A run directory `results/<NNNNN>-<desc>/` holds `config.json` (the resolved `TrainConfig` and a
"dataset" entry: what the run found on disk), `log.txt`, image grids, TensorBoard events,
`checkpoints/` (full training state, for resuming; their files are `checkpoint`'s business) and
`network-snapshot-<kimg:06d>.keras` files: the EMA generator of that moment, loadable on its own.
"""

import dataclasses
import json
import os
import re

import keras
import tensorflow as tf

from pgan_tf.core import atomic
from pgan_tf.model import (
    layers,  # noqa: F401  (registers the custom layers for loading)
    networks,
)
from pgan_tf.training import checkpoint, schedule
from pgan_tf.training.config import TrainConfig, train_config_from_dict
from pgan_tf.training.run_state import GENERATOR_EMA

CONFIG_NAME = "config.json"
LOG_NAME = "log.txt"
TICKS_NAME = "ticks.jsonl"  # one JSON object per tick (`reporting.tick_record`): what log.txt says
REALS_NAME = "reals.png"  # a grid of training images, written when a run starts
TRAINING_METRICS_NAME = "metrics-training.jsonl"  # the --metrics computed during training
EVALUATION_METRICS_NAME = "metrics.jsonl"  # what `pgan_tf.evaluate` appends
_FAKES_RE = re.compile(r"^fakes(\d+)\.png$")
_SNAPSHOT_RE = re.compile(r"^network-snapshot-(\d+)\.keras$")
_RUN_RE = re.compile(r"^(\d+)-")


class RunDirError(ValueError):
    """A run directory is missing or lacks what was asked of it."""


@dataclasses.dataclass(frozen=True)
class DatasetEntry:
    """config.json's "dataset": the dataset the run found on disk (for readers, not a setting)."""

    path: str
    resolution: int
    name: str


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """A run's config.json: the configuration it was started with and the dataset it used."""

    train: TrainConfig
    dataset: DatasetEntry


# ---- creating and configuring a run ------------------------------------------------------------
def create(result_dir: str, desc: str) -> str:
    """Creates `<result_dir>/<NNNNN>-<desc>`, numbered one past the highest existing run."""
    os.makedirs(result_dir, exist_ok=True)
    ids = [number for number, _ in _numbered(result_dir)]
    path = os.path.join(result_dir, f"{max(ids, default=-1) + 1:05d}-{desc}")
    os.makedirs(path)
    return path


def _numbered(parent):
    """[(number, name)] of the entries of `parent` named `<digits>-...`, by name."""
    found = ((_RUN_RE.match(name), name) for name in sorted(os.listdir(parent)))
    return [(int(m.group(1)), name) for m, name in found if m]


def list_runs(parent: str) -> list[str]:
    """The numbered run directories (`<NNNNN>-<desc>`) in `parent`, oldest first."""
    if not os.path.isdir(parent):
        return []
    paths = (os.path.join(parent, name) for _, name in _numbered(parent))
    return [p for p in paths if os.path.isdir(p)]


def config_json(config: TrainConfig, dataset: DatasetEntry | None = None) -> str:
    """The text of config.json (without `dataset`: what a dry run prints)."""
    d = config.to_dict()
    if dataset is not None:
        d["dataset"] = dataclasses.asdict(dataset)
    return json.dumps(d, indent=2, sort_keys=True, default=str)


def write_config(run_dir: str, config: TrainConfig, dataset: DatasetEntry) -> str:
    """Writes `<run_dir>/config.json` atomically; returns its path."""
    path = os.path.join(run_dir, CONFIG_NAME)
    atomic.write_text(path, config_json(config, dataset))
    return path


def check_run_dir(run_dir: str) -> None:
    """Raises RunDirError unless `run_dir` is a directory with a config.json."""
    if not os.path.isdir(run_dir):
        raise RunDirError(f"run directory not found: {run_dir}")
    if not os.path.isfile(os.path.join(run_dir, CONFIG_NAME)):
        raise RunDirError(f"not a run directory (no {CONFIG_NAME}): {run_dir}")


def read_config(run_dir: str) -> RunConfig:
    """The configuration the run was started with and its dataset, read from config.json
    (run directories of earlier versions included: see `config.train_config_from_dict`)."""
    check_run_dir(run_dir)
    path = os.path.join(run_dir, CONFIG_NAME)
    with open(path) as f:
        try:
            d = json.load(f)
        except json.JSONDecodeError as e:
            raise RunDirError(f"{path}: not valid JSON ({e})") from None
    try:
        d = dict(d)
        dataset = DatasetEntry(**d.pop("dataset"))
        return RunConfig(train=train_config_from_dict(d), dataset=dataset)
    except (KeyError, TypeError, ValueError) as e:
        raise RunDirError(f"{path}: not a run configuration ({type(e).__name__}: {e})") from None


def read_ticks(run_dir: str) -> list[dict] | None:
    """The run's per-tick records (`ticks.jsonl`) in order, or None for a run without the file
    (older or imported runs). A line that is not a whole record (the torn last line of a killed
    run) is skipped."""
    path = os.path.join(run_dir, TICKS_NAME)
    if not os.path.isfile(path):
        return None
    records = []
    with open(path, errors="replace") as f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


def fakes_name(kimg: float) -> str:
    """The sample grid written at `kimg`, as the original names it."""
    return f"fakes{int(kimg):06d}.png"


def list_fakes(run_dir: str) -> list[tuple[int, str]]:
    """[(kimg, path)] of the run's sample grids, oldest first."""
    found = ((_FAKES_RE.match(name), name) for name in os.listdir(run_dir))
    return sorted((int(m.group(1)), os.path.join(run_dir, name)) for m, name in found if m)


# ---- generator snapshots -----------------------------------------------------------------------
def snapshot_name(kimg: float) -> str:
    return f"network-snapshot-{int(kimg):06d}.keras"


def list_snapshots(run_dir: str) -> list[tuple[int, str]]:
    """[(kimg, path)] of the run's generator snapshots, oldest first."""
    check_run_dir(run_dir)
    found = []
    for name in os.listdir(run_dir):
        m = _SNAPSHOT_RE.match(name)
        if m:
            found.append((int(m.group(1)), os.path.join(run_dir, name)))
    return sorted(found)


def latest_snapshot(run_dir: str) -> tuple[int, str]:
    """(kimg, path) of the newest snapshot, with a clear error when there is none."""
    snaps = list_snapshots(run_dir)
    if not snaps:
        raise RunDirError(
            f"no network-snapshot-*.keras in {run_dir}: has the run saved a snapshot yet?"
        )
    return snaps[-1]


def find_snapshot(run_dir: str, snapshot: str | None) -> tuple[int | None, str]:
    """(kimg or None, path) of the snapshot a user names: None (the latest), a kimg or a path."""
    if snapshot is None:
        return latest_snapshot(run_dir)
    if snapshot.isdigit():
        snaps = dict(list_snapshots(run_dir))
        if int(snapshot) not in snaps:
            have = ", ".join(str(k) for k in sorted(snaps)) or "none"
            raise RunDirError(
                f"no snapshot at kimg {int(snapshot)} in {run_dir} (available: {have})"
            )
        return int(snapshot), snaps[int(snapshot)]
    if not os.path.isfile(snapshot):
        raise RunDirError(f"snapshot not found: {snapshot}")
    return None, snapshot


def load_generator(path: str) -> keras.Model:
    """Loads a generator snapshot (`.keras`) written by training."""
    if not os.path.isfile(path):
        raise RunDirError(f"snapshot not found: {path}")
    return keras.saving.load_model(path, compile=False)


# ---- training checkpoints ----------------------------------------------------------------------
def latest_checkpoint(run_dir: str) -> str | None:
    """The newest complete checkpoint of a run (its state file's), or None."""
    return tf.train.latest_checkpoint(os.path.join(run_dir, checkpoint.CHECKPOINT_DIR))


def has_checkpoint(run_dir: str) -> bool:
    """True once the run has completed a checkpoint (the Saver writes the state file after each)."""
    return os.path.isfile(os.path.join(run_dir, checkpoint.CHECKPOINT_DIR, checkpoint.STATE_FILE))


def find_checkpoint(run_dir: str, which: str) -> str:
    """Path of the checkpoint a user names: 'latest' (the run's newest) or a path (checked when
    it is loaded)."""
    if which != "latest":
        return which
    path = latest_checkpoint(run_dir)
    if not path:
        where = os.path.join(run_dir, checkpoint.CHECKPOINT_DIR)
        raise checkpoint.CheckpointError(f"no checkpoint in {where}")
    return path


def load_ema_generator(run_dir: str, path: str) -> tuple[keras.Model, float]:
    """(EMA generator, kimg) of checkpoint `path` of a run: the generator of the checkpoint's stage,
    built from the run's config.json, weights restored, fade α set from the images shown."""
    if not os.path.exists(path + ".index"):
        raise checkpoint.CheckpointError(f"checkpoint not found: {path}")
    cfg = read_config(run_dir).train
    stage = checkpoint.stage_of(path, cfg.schedule)
    seen = checkpoint.images_seen(path)
    generator = networks.build_generator(cfg.network, stage.resolution, stage.fade_in)
    restored = tf.train.Checkpoint(**{GENERATOR_EMA: generator}).read(path)
    restored.expect_partial().assert_existing_objects_matched()
    if stage.fade_in:
        networks.set_alpha(generator, float(schedule.fade_alpha(stage, seen, cfg.schedule)))
    return generator, seen / 1000.0


def resolve_resume(target: str, result_dir: str) -> tuple[str, list[str], bool]:
    """--resume value → (run_dir, candidate checkpoints newest first, explicit).

    Accepts 'latest' (the newest run in result_dir that has a checkpoint), a run directory or a
    checkpoint path; `explicit` is True for a checkpoint path (no fallback to another one).
    """
    if target == "latest":
        names = sorted(os.listdir(result_dir)) if os.path.isdir(result_dir) else []
        paths = (os.path.join(result_dir, d) for d in names)
        runs = [p for p in paths if checkpoint.checkpoints(p)]
        if not runs:
            raise checkpoint.CheckpointError(
                f"--resume=latest: no run with a checkpoint in {result_dir}"
            )
        return runs[-1], [p for _, p in reversed(checkpoint.checkpoints(runs[-1]))], False
    if os.path.isdir(target):
        found = checkpoint.checkpoints(target)
        if not found:
            raise checkpoint.CheckpointError(
                f"--resume: no checkpoint in {os.path.join(target, checkpoint.CHECKPOINT_DIR)}"
            )
        return target, [p for _, p in reversed(found)], False
    if os.path.exists(target + ".index"):
        return os.path.dirname(os.path.dirname(os.path.abspath(target))), [target], True
    raise checkpoint.CheckpointError(
        f"--resume: {target} is neither a run directory nor a checkpoint"
    )
