"""Training-state checkpoints: everything needed to continue a run exactly where it stopped.

One `tf.train.Checkpoint` per save holds G, D, the EMA G, both optimizers, the number of images
shown, the index of the stage whose networks it holds, the tick counters, the random generator and
the input iterator (shuffle buffer included). The stage is stored, not derived from the images
shown: a checkpoint written when a stage has just ended still holds that stage's networks.
`tf.train.CheckpointManager` writes the data files first and the `checkpoint` index last, with an
atomic rename, so a crash mid-write leaves the previous checkpoint as the latest good one.

A checkpoint of networks imported from the original implementation (`pgan_tf.import_official`)
holds only G, D, the EMA G, the run counters and a description of what was imported: the optimizers,
random generator and input iterator start fresh when training resumes from it, as the original
starts fresh optimizers when it resumes from a network pickle.
"""
import json
import os

import tensorflow as tf

CHECKPOINT_DIR = "checkpoints"
_IMAGES_KEY = "images_seen/.ATTRIBUTES/VARIABLE_VALUE"
_STAGE_KEY = "stage_index/.ATTRIBUTES/VARIABLE_VALUE"
_IMPORTED_KEY = "imported/.ATTRIBUTES/VARIABLE_VALUE"
_NETWORK_OBJECTS = ("generator", "discriminator", "generator_ema")


class CheckpointError(ValueError):
    """No usable checkpoint where one was asked for."""


def make_checkpoint(objects, state, rng, iterator):
    """The checkpoint of one stage: `objects` (models, optimizers) + run state + rng + data."""
    return tf.train.Checkpoint(**objects, **state, rng=rng, data=iterator)


def make_imported_checkpoint(objects, state, imported=None):
    """The checkpoint of imported networks: G, D, EMA G from `objects` and the counters in `state`.

    Written with `imported` (a JSON-able dict: network config, stage, source); read back by
    `imported_info`, so restoring passes None.
    """
    info = tf.Variable(json.dumps(imported, sort_keys=True) if imported is not None else "")
    return tf.train.Checkpoint(**{k: objects[k] for k in _NETWORK_OBJECTS}, **state, imported=info)


def imported_info(path):
    """The import description of a checkpoint of imported networks, or None for a training checkpoint."""
    reader = tf.train.load_checkpoint(path)
    if not reader.has_tensor(_IMPORTED_KEY):
        return None
    value = reader.get_tensor(_IMPORTED_KEY)
    return json.loads(value.decode() if isinstance(value, bytes) else str(value))


def check_imported(path, network_config, stage):
    """True if checkpoint `path` holds imported networks that a run with `network_config` can resume at
    `stage`; False for a training checkpoint. Raises CheckpointError, naming what differs, otherwise."""
    info = imported_info(path)
    if info is None:
        return False
    want = info["network"]
    have = network_config.to_dict()
    diff = [f"{k}={want[k]!r} (this run: {have.get(k)!r})" for k in sorted(want) if have.get(k) != want[k]]
    if diff:
        raise CheckpointError(
            f"{path} holds imported networks built with {', '.join(diff)}; resume with matching settings"
        )
    res, fade = info["stage"]["resolution"], info["stage"]["fade_in"]
    if (stage.resolution, stage.fade_in) != (res, fade):
        raise CheckpointError(
            f"{path} holds imported {res}x{res}{' fade-in' if fade else ''} networks, but at kimg "
            f"{images_seen(path) / 1000:g} this run's schedule is in stage {stage.name}; resume with the "
            f"schedule they were imported with (lod_training_kimg / lod_transition_kimg / resolution)"
        )
    return True


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


def has_stage_index(path):
    """False for checkpoints written before the stage index was stored."""
    return tf.train.load_checkpoint(path).has_tensor(_STAGE_KEY)


def stage_of(path, schedule_config):
    """The `schedule.Stage` whose networks checkpoint `path` holds (read without building any model).

    Checkpoints without a stored stage index fall back to the stage at their images-shown count.
    """
    from pgan_tf import schedule

    reader = tf.train.load_checkpoint(path)
    if reader.has_tensor(_STAGE_KEY):
        index = int(reader.get_tensor(_STAGE_KEY))
        return next(s for s in schedule.stages(schedule_config) if s.index == index)
    return schedule.stage_at(schedule_config, int(reader.get_tensor(_IMAGES_KEY)) / 1000.0)


def load_ema_generator(run_dir, path):
    """(EMA generator, kimg) of checkpoint `path` of a run: the generator of the checkpoint's stage,
    built from the run's config.json, weights restored, fade α set from the images shown."""
    from pgan_tf import config as C
    from pgan_tf import networks, schedule
    from pgan_tf import run_dir as rd

    if not os.path.exists(path + ".index"):
        raise CheckpointError(f"checkpoint not found: {path}")
    cfg = C.train_config_from_dict(rd.read_config(run_dir))
    stage = stage_of(path, cfg.schedule)
    kimg = images_seen(path) / 1000.0
    generator = networks.build_generator(cfg.network, stage.resolution, stage.fade_in)
    tf.train.Checkpoint(generator_ema=generator).read(path).expect_partial().assert_existing_objects_matched()
    if stage.fade_in:
        networks.set_alpha(generator, schedule.fade_alpha(stage, kimg, cfg.schedule))
    return generator, kimg


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
