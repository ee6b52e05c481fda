"""Training-state checkpoints: everything needed to continue a run exactly where it stopped.

One `tf.train.Checkpoint` per save holds G, D, the EMA G, both optimizers, the number of images
shown, the tick counters, the random generator and the input iterator (shuffle buffer included).
`tf.train.CheckpointManager` writes the data files first and the `checkpoint` index last, with an
atomic rename, so a crash mid-write leaves the previous checkpoint as the latest good one.
"""
import os

import tensorflow as tf

CHECKPOINT_DIR = "checkpoints"
_IMAGES_KEY = "images_seen/.ATTRIBUTES/VARIABLE_VALUE"


class CheckpointError(ValueError):
    """No usable checkpoint where one was asked for."""


def make_checkpoint(objects, state, rng, iterator):
    """The checkpoint of one stage: `objects` (models, optimizers) + run state + rng + data."""
    return tf.train.Checkpoint(**objects, **state, rng=rng, data=iterator)


def manager(checkpoint, run_dir, max_to_keep=3):
    return tf.train.CheckpointManager(
        checkpoint, os.path.join(run_dir, CHECKPOINT_DIR), max_to_keep=max_to_keep, checkpoint_name="ckpt"
    )


def latest(run_dir):
    """The newest complete checkpoint of a run, or None."""
    return tf.train.latest_checkpoint(os.path.join(run_dir, CHECKPOINT_DIR))


def images_seen(path):
    """Images shown when checkpoint `path` was written (read without building any model)."""
    return int(tf.train.load_checkpoint(path).get_tensor(_IMAGES_KEY))


def resolve_resume(target, result_dir):
    """--resume value → (run_dir, checkpoint path). Accepts 'latest', a run dir or a checkpoint."""
    if target == "latest":
        runs = sorted(
            (os.path.join(result_dir, d) for d in os.listdir(result_dir) if latest(os.path.join(result_dir, d)))
            if os.path.isdir(result_dir)
            else []
        )
        if not runs:
            raise CheckpointError(f"--resume=latest: no run with a checkpoint in {result_dir}")
        return runs[-1], latest(runs[-1])
    if os.path.isdir(target):
        path = latest(target)
        if not path:
            raise CheckpointError(f"--resume: no checkpoint in {os.path.join(target, CHECKPOINT_DIR)}")
        return target, path
    if os.path.exists(target + ".index"):
        return os.path.dirname(os.path.dirname(os.path.abspath(target))), target
    raise CheckpointError(f"--resume: {target} is neither a run directory nor a checkpoint")
