"""The training input of the current stage and where it stands, kept so that it survives a move.

A stage's input order is a pure function of a seed and the data (`dataset.make_dataset`). The
run state holds that seed, the images shown when that order's first batch was drawn (`origin`)
and the dataset's identity (`data/fingerprint.py`: sizes, record counts, content digests; no
paths). Every step draws one batch per input pipeline, so the position in the order is
(images shown − origin) / global batch, and a resume rebuilds the iterator exactly there: after
the dataset moved, from another working directory, or on another machine.

Checkpoints written before this held the `tf.data` iterator state instead (`legacy`), which names
the files by path: they restore it where those paths still exist, and otherwise go on with a fresh
input order, as does a resume on data whose identity differs.
"""

from __future__ import annotations

import gc
import re

import tensorflow as tf

from pgan_tf.core.errors import first_line
from pgan_tf.data import dataset, fingerprint

LEGACY_KEY = "data"  # the checkpoint object of the old iterator state


class DatasetChanged(ValueError):
    """A resume with `--deterministic` on data that is not the checkpoint's."""


class TrainingInput:
    """The current stage's input iterator and the state that places it (`state()`)."""

    def __init__(self, config, info, images_seen: tf.Variable, input_context=None):
        self.config = config
        self.info = info
        self.images_seen = images_seen
        self.input_context = input_context
        self.identity = fingerprint.identify(info, dataset.labels_file(info))
        self.seed = tf.Variable(0, dtype=tf.int64, name="input_seed")
        self.origin = tf.Variable(0, dtype=tf.int64, name="input_origin")
        self._identity = tf.Variable(self.identity.to_json(), name="dataset_identity")
        self.iterator = None
        self.legacy = False  # this stage's iterator is an old checkpoint's restored state

    def state(self) -> dict[str, tf.Variable]:
        """What a checkpoint stores of the input (with the iterator itself in the legacy case)."""
        state = {
            "input_seed": self.seed,
            "input_origin": self.origin,
            "dataset_identity": self._identity,
        }
        if self.legacy:
            state[LEGACY_KEY] = self.iterator
        return state

    def start(self, resolution: int, global_batch: int, seed: int) -> None:
        """A fresh order with `seed`, its first batch drawn next."""
        self.seed.assign(seed)
        self.origin.assign(self.images_seen)
        self._build(resolution, global_batch, legacy=False)

    def resume(self, path: str, resolution: int, global_batch: int, fresh_seed: int) -> str | None:
        """After checkpoint `path` was restored with `state()` in it (its seed, origin and dataset
        identity): rebuilds the iterator where the checkpoint's order stood, or starts a fresh
        order with `fresh_seed` when the data differs. Returns the line that says why it is fresh,
        or None for an exact resume."""
        saved = fingerprint.DatasetIdentity.from_json(self._identity.numpy().decode())
        self._identity.assign(self.identity.to_json())
        changed = fingerprint.differences(saved, self.identity)
        if changed:
            what = (
                f"the dataset differs from the one checkpoint {path} was written with "
                f"({'; '.join(changed)}; then {saved.path}, now {self.identity.path})"
            )
            if self.config.deterministic:
                raise DatasetChanged(
                    f"{what}; --deterministic resumes only on the same data (resume without "
                    "--deterministic to continue with a fresh input order)"
                )
            self.start(resolution, global_batch, fresh_seed)
            return f"warning: {what}; continuing from the checkpoint with a fresh input order"
        position = (int(self.images_seen.numpy()) - int(self.origin.numpy())) // global_batch
        self._build(resolution, global_batch, legacy=False, start_batch=position)
        return None

    def restore_legacy(
        self, path: str, resolution: int, global_batch: int, seed: int, fresh_seed: int
    ) -> str | None:
        """Restores the iterator state of an old checkpoint into the pipeline it was saved from;
        where that state names files that do not exist here, starts a fresh order instead and
        returns the line that says so."""
        self._build(resolution, global_batch, legacy=True, seed=seed)
        reason = _restore_iterator_quietly(self.iterator, path)
        if reason is None:
            return None
        self.start(resolution, global_batch, fresh_seed)
        return (
            f"checkpoint {path} holds its input position as tf.data state that {reason}; "
            "continuing from the checkpoint with a fresh input order"
        )

    def _build(self, resolution, global_batch, legacy, start_batch=0, seed=None):
        self.release()
        self.legacy = legacy
        ds = dataset.make_dataset(
            self.info.path,
            resolution,
            global_batch,
            labels=self.config.network.label_size > 0,
            shuffle=True,
            shuffle_buffer=self.config.data.shuffle_buffer,
            seed=int(self.seed.numpy()) if seed is None else seed,
            input_context=self.input_context,
            start_batch=start_batch,
            legacy_order=legacy,
        )
        self.iterator = iter(ds)

    def release(self) -> None:
        """Drops the current iterator on a thread of its own (`dataset.release_in_background`)."""
        if self.iterator is not None:
            spent, self.iterator = [self.iterator], None
            dataset.release_in_background(spent)


def _restore_iterator_quietly(iterator, path):
    """Restores the old iterator state of checkpoint `path` into `iterator`; returns None, or why
    it does not fit. TensorFlow's warnings about the values a failed restore left are not shown:
    the caller says what happened in one line."""
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        tf.train.Checkpoint(**{LEGACY_KEY: iterator}).restore(path).expect_partial()
        reason = None
    except tf.errors.OpError as e:  # its files are elsewhere, or it is of another pipeline
        text = first_line(e)
        missing = re.search(r"from checkpoint: (\S+?); No such file", text)
        reason = f"names {missing.group(1)}, which does not exist here" if missing else text
    finally:
        gc.collect()  # the failed restore's leftovers warn when collected: here, while quiet
        logger.setLevel(level)
    return reason
