"""Training-state checkpoints: everything needed to continue a run exactly where it stopped.

One `tf.train.Checkpoint` per save holds G, D, the EMA G, both optimizers, the number of images
shown, the index of the stage whose networks it holds, the tick counters, the random generator and
the input position with the dataset's identity (`input_state.py`; no path, so a run resumes after
its data moved). The stage is stored, not derived from the images
shown: a checkpoint written when a stage has just ended still holds that stage's networks.
`Saver` writes each checkpoint under a temporary name, reads it back and renames it into place, so
a crash or a full disk mid-write leaves the previous checkpoints as they were; resuming verifies
the checkpoint it picks (`verify`: every tensor read, CRC checked) and falls back to the newest
intact one (`restore_newest_intact`).

A checkpoint of networks imported from the original implementation (`pgan_tf.import_official`)
holds only G, D, the EMA G, the run counters and a description of what was imported: the optimizers,
random generator and input iterator start fresh when training resumes from it, as the original
starts fresh optimizers when it resumes from a network pickle.
"""

import glob
import json
import os
import re

import tensorflow as tf

from pgan_tf.core import atomic, faults
from pgan_tf.core.errors import first_line
from pgan_tf.training import schedule
from pgan_tf.training.run_state import IMAGES_SEEN, NETWORKS, RNG, STAGE_INDEX, variable_key

CHECKPOINT_DIR = "checkpoints"
STATE_FILE = "checkpoint"  # names the newest checkpoints, as tf.train.latest_checkpoint reads it
_IMAGES_KEY = variable_key(IMAGES_SEEN)
_STAGE_KEY = variable_key(STAGE_INDEX)
_IMPORTED_KEY = variable_key("imported")
KEEP_ALL = 0  # `Saver(keep=KEEP_ALL)`: every checkpoint stays (--keep_checkpoints=all)
_NAME_RE = re.compile(r"^ckpt-(\d+)\.index$")


class CheckpointError(ValueError):
    """No usable checkpoint where one was asked for."""


def make_checkpoint(objects, state, rng):
    """The checkpoint of one stage: `objects` (models, optimizers) + run state (counters, the
    input position: `input_state.py`) + rng."""
    return tf.train.Checkpoint(**objects, **state, **{RNG: rng})


def make_imported_checkpoint(objects, state, imported=None):
    """The checkpoint of imported networks: G, D, EMA G from `objects` and the counters in `state`.

    Written with `imported` (a JSON-able dict: network config, stage, source); read back by
    `imported_info`, so restoring passes None.
    """
    info = tf.Variable(json.dumps(imported, sort_keys=True) if imported is not None else "")
    return tf.train.Checkpoint(**{k: objects[k] for k in NETWORKS}, **state, imported=info)


def imported_info(path):
    """The import description of a checkpoint of imported networks, or None for a training
    checkpoint."""
    reader = tf.train.load_checkpoint(path)
    if not reader.has_tensor(_IMPORTED_KEY):
        return None
    value = reader.get_tensor(_IMPORTED_KEY)
    return json.loads(value.decode() if isinstance(value, bytes) else str(value))


def check_imported(path, network_config, stage):
    """True if checkpoint `path` holds imported networks that a run with `network_config` can
    resume at `stage`; False for a training checkpoint. Raises CheckpointError, naming what
    differs, otherwise."""
    info = imported_info(path)
    if info is None:
        return False
    want = info["network"]
    have = network_config.to_dict()
    diff = [
        f"{k}={want[k]!r} (this run: {have.get(k)!r})"
        for k in sorted(want)
        if have.get(k) != want[k]
    ]
    if diff:
        raise CheckpointError(
            f"{path} holds imported networks built with {', '.join(diff)}; resume with matching "
            "settings"
        )
    res, fade = info["stage"]["resolution"], info["stage"]["fade_in"]
    if (stage.resolution, stage.fade_in) != (res, fade):
        raise CheckpointError(
            f"{path} holds imported {res}x{res}{' fade-in' if fade else ''} networks, but at kimg "
            f"{images_seen(path) / 1000:g} this run's schedule is in stage {stage.name}; resume "
            "with the schedule they were imported with (lod_training_kimg / lod_transition_kimg / "
            "resolution)"
        )
    return True


class DamagedCheckpoint(RuntimeError):
    """A checkpoint that cannot be read back whole, or does not fit the networks it should hold."""

    def __init__(self, path, what):
        super().__init__(f"damaged checkpoint {path}: {what}")
        self.path = path


def checkpoints(run_dir):
    """[(images seen, path)] of every checkpoint of a run that has an index file, oldest first."""
    directory = os.path.join(run_dir, CHECKPOINT_DIR)
    if not os.path.isdir(directory):
        return []
    found = []
    for name in os.listdir(directory):
        m = _NAME_RE.match(name)
        if m:
            found.append((int(m.group(1)), os.path.join(directory, f"ckpt-{m.group(1)}")))
    return sorted(found)


def _data_files(path):
    return sorted(glob.glob(glob.escape(path) + ".data-*"))


def verify(path):
    """Reads every tensor of checkpoint `path` back (TensorFlow checks each one's CRC32C) and
    raises `DamagedCheckpoint` naming the file and what is wrong with it."""
    index = path + ".index"
    if not os.path.isfile(index):
        raise DamagedCheckpoint(index, "missing")
    try:
        reader = tf.train.load_checkpoint(path)
        dtypes = reader.get_variable_to_dtype_map()
        keys = sorted(dtypes)
    except Exception as e:  # noqa: BLE001 - any failure to parse the index means it is damaged
        raise DamagedCheckpoint(index, f"unreadable index ({first_line(e)})") from None
    data = _data_files(path)
    if not data:
        raise DamagedCheckpoint(path + ".data-00000-of-00001", "missing")
    for key in keys:
        try:
            if dtypes[key] == tf.variant:  # iterator state: read in TensorFlow (no NumPy form)
                tf.raw_ops.RestoreV2(
                    prefix=path, tensor_names=[key], shape_and_slices=[""], dtypes=[tf.variant]
                )
            else:
                reader.get_tensor(key)
        except IndexError:  # the reader's answer to a data file shorter than the index says
            size = sum(os.path.getsize(f) for f in data)
            raise DamagedCheckpoint(
                data[0],
                f"truncated ({size} bytes; tensor {key.split('/.ATTRIBUTES')[0]} "
                f"lies past the end)",
            ) from None
        except Exception as e:  # noqa: BLE001 - checksum mismatch, unreadable file, ...
            raise DamagedCheckpoint(
                data[0], f"tensor {key.split('/.ATTRIBUTES')[0]}: {first_line(e)}"
            ) from None
    if _IMAGES_KEY not in keys:
        raise DamagedCheckpoint(index, "not a training checkpoint (no images_seen)")


def restore(checkpoint, path, what):
    """Restores `path` into `checkpoint`; a checkpoint whose tensors do not fit (another stage's
    shapes, missing objects) raises `DamagedCheckpoint` saying it does not fit `what`."""
    try:
        # expect_partial: what the file holds beyond `checkpoint` (an old checkpoint's iterator
        # state) is restored on its own or not at all, and is no cause for TensorFlow's warnings
        checkpoint.restore(path).assert_existing_objects_matched().expect_partial()
    except (ValueError, AssertionError, IndexError, tf.errors.OpError) as e:
        raise DamagedCheckpoint(path, f"does not fit {what} ({first_line(e)})") from None


def restore_newest_intact(candidates, restore_fn, report, explicit=False):
    """Restores the first of `candidates` (newest first) that verifies and restores; returns
    (its path, the damaged ones skipped). Damaged ones are reported in one line each and skipped,
    unless `explicit` (the user named that checkpoint): then the damage is the error."""
    skipped = []
    for path in candidates:
        try:
            verify(path)
            restore_fn(path)
            return path, skipped
        except DamagedCheckpoint as e:
            if explicit:
                raise
            skipped.append(path)
            report(f"{e}; falling back to an older checkpoint")
    where = os.path.dirname(candidates[0]) if candidates else "?"
    raise DamagedCheckpoint(where, f"none of its {len(candidates)} checkpoint(s) is intact")


def remove_partial(run_dir):
    """Removes what a process killed mid-write left behind (temporary checkpoint files and
    directories, `*.tmp-<pid>*` snapshots and grids); returns the names removed."""
    removed = []
    for directory in (run_dir, os.path.join(run_dir, CHECKPOINT_DIR)):
        if not os.path.isdir(directory):
            continue
        for name in sorted(os.listdir(directory)):
            if atomic.is_temp_name(name) or name.endswith("_temp"):
                atomic.remove_quietly(os.path.join(directory, name))
                removed.append(os.path.relpath(os.path.join(directory, name), run_dir))
    return removed


class Saver:
    """Writes the checkpoints of one run, keeping the newest `keep`.

    Each save writes to temporary names, flushes the files to disk, reads every tensor back,
    renames the files into place (index last: a checkpoint without its index does not exist)
    and records it in the `checkpoint` state file (atomically, so `tf.train.latest_checkpoint`
    works); only then are older checkpoints beyond `keep` deleted (none with `KEEP_ALL`: every
    network-snapshot tick's checkpoint then stays, as the original keeps a pickle of G, D and Gs
    at each snapshot). Checkpoints numbered above
    the new one belong to a timeline the run left by resuming from an older one: they go too.
    A failed write raises `atomic.WriteError` and leaves every earlier checkpoint as it was.
    Checkpoints found damaged on resuming (`discard`) are deleted at the first save, not kept.
    """

    def __init__(self, run_dir, keep=3):
        if keep < 0:
            raise ValueError(f"keep must be >= 1, or KEEP_ALL, got {keep}")
        self.run_dir = run_dir
        self.directory = os.path.join(run_dir, CHECKPOINT_DIR)
        self.keep = keep
        self._damaged = set()

    def discard(self, paths):
        """Marks damaged checkpoints: they take no place among the kept ones."""
        self._damaged.update(paths)

    def save(self, checkpoint, number):
        path = os.path.join(self.directory, f"ckpt-{number}")
        tmp = atomic.temp_name(path)  # ckpt-<n>.tmp-<pid>: TensorFlow adds .index / .data-*
        try:
            with atomic.reported(path):
                os.makedirs(self.directory, exist_ok=True)
                checkpoint.save_counter.assign_add(
                    1
                )  # what `Checkpoint.save` stores besides the objects
                written = checkpoint.write(tmp)
                for f in [written + ".index", *_data_files(written)]:
                    atomic.fsync_file(f)
        except atomic.WriteError:
            atomic.remove_quietly(*glob.glob(glob.escape(tmp) + "*"))
            raise
        faults.kill_point("checkpoint-written")
        try:
            verify(written)
        except DamagedCheckpoint as e:
            atomic.remove_quietly(*glob.glob(glob.escape(tmp) + "*"))
            raise atomic.WriteError(path, f"written but does not read back ({e})") from None
        try:
            with atomic.reported(path):
                atomic.remove_quietly(
                    path + ".index"
                )  # an older copy of the same number stops counting first
                for f in _data_files(written):
                    os.replace(f, path + f[len(written) :])
                os.replace(written + ".index", path + ".index")
                atomic.fsync_dir(self.directory)
        except atomic.WriteError:
            atomic.remove_quietly(*glob.glob(glob.escape(tmp) + "*"), *_data_files(path))
            raise
        faults.kill_point("checkpoint-renamed")
        self._prune(number)
        return path

    def _prune(self, number):
        found = checkpoints(self.run_dir)
        older = [p for n, p in found if n < number and p not in self._damaged]
        if self.keep == KEEP_ALL:
            kept = older
        else:
            kept = older[-(self.keep - 1) :] if self.keep > 1 else []
        newest = os.path.join(self.directory, f"ckpt-{number}")
        lines = [f'model_checkpoint_path: "{os.path.basename(newest)}"']
        lines += [f'all_model_checkpoint_paths: "{os.path.basename(p)}"' for p in kept + [newest]]
        atomic.write_text(os.path.join(self.directory, STATE_FILE), "\n".join(lines) + "\n")
        for _, p in found:
            if p != newest and p not in kept:
                atomic.remove_quietly(p + ".index", *_data_files(p))


def images_seen(path):
    """Images shown when checkpoint `path` was written (read without building any model)."""
    return int(tf.train.load_checkpoint(path).get_tensor(_IMAGES_KEY))


def stored_objects(path):
    """The names of the objects checkpoint `path` holds at its root (older checkpoints lack some
    of today's: the stage index, the input position)."""
    keys = tf.train.load_checkpoint(path).get_variable_to_dtype_map()
    return {k.split("/", 1)[0] for k in keys}


def stage_of(path, schedule_config):
    """The `schedule.Stage` whose networks checkpoint `path` holds (read without building any
    model).

    Checkpoints without a stored stage index fall back to the stage at their images-shown count.
    """
    reader = tf.train.load_checkpoint(path)
    if reader.has_tensor(_STAGE_KEY):
        index = int(reader.get_tensor(_STAGE_KEY))
        return next(s for s in schedule.stages(schedule_config) if s.index == index)
    return schedule.stage_at(schedule_config, int(reader.get_tensor(_IMAGES_KEY)) / 1000.0)
