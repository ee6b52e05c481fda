"""The run directory contract shared by training, evaluation, export and generation.

A run directory `results/<NNNNN>-<desc>/` holds `config.json` (the resolved configuration:
"network", "dataset", "train"), `log.txt`, image grids, TensorBoard events, `checkpoints/`
(full training state, for resuming) and `network-snapshot-<kimg:06d>.keras` files: the EMA
generator of that moment, loadable on its own.
"""
import json
import os
import re

from pgan_tf.model import layers  # noqa: F401  (registers the custom layers for loading)
from pgan_tf.model.sampling import to_uint8  # noqa: F401  (part of the run directory contract)

CONFIG_NAME = "config.json"
_SNAPSHOT_RE = re.compile(r"^network-snapshot-(\d+)\.keras$")


class RunDirError(ValueError):
    """A run directory is missing or lacks what was asked of it."""


def snapshot_name(kimg):
    return f"network-snapshot-{int(kimg):06d}.keras"


def check_run_dir(run_dir):
    if not os.path.isdir(run_dir):
        raise RunDirError(f"run directory not found: {run_dir}")
    if not os.path.isfile(os.path.join(run_dir, CONFIG_NAME)):
        raise RunDirError(f"not a run directory (no {CONFIG_NAME}): {run_dir}")


def read_config(run_dir):
    """The resolved configuration the run was started with, as a dict."""
    check_run_dir(run_dir)
    with open(os.path.join(run_dir, CONFIG_NAME)) as f:
        return json.load(f)


def list_snapshots(run_dir):
    """[(kimg, path)] of the run's generator snapshots, oldest first."""
    check_run_dir(run_dir)
    found = []
    for name in os.listdir(run_dir):
        m = _SNAPSHOT_RE.match(name)
        if m:
            found.append((int(m.group(1)), os.path.join(run_dir, name)))
    return sorted(found)


def latest_snapshot(run_dir):
    """(kimg, path) of the newest snapshot, with a clear error when there is none."""
    snaps = list_snapshots(run_dir)
    if not snaps:
        raise RunDirError(f"no network-snapshot-*.keras in {run_dir}: has the run saved a snapshot yet?")
    return snaps[-1]


def load_generator(path):
    """Loads a generator snapshot (`.keras`) written by training."""
    import keras

    if not os.path.isfile(path):
        raise RunDirError(f"snapshot not found: {path}")
    return keras.saving.load_model(path, compile=False)
