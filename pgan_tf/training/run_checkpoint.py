"""A run's checkpoint as the loop makes, saves and restores it: the stage's networks and
optimizers, the run state, the random generator and the input position (`checkpoint.py` holds
the file format; this module assembles a run's objects into it).
"""

import tensorflow as tf

from pgan_tf.core import atomic
from pgan_tf.core.errors import first_line
from pgan_tf.training import checkpoint as ckpt
from pgan_tf.training import input_state
from pgan_tf.training.run_state import RunState


def build(trainer, state: RunState, rng, training_input, stored=None, imported=False):
    """The current stage's `tf.train.Checkpoint`. To restore: only the objects `stored` in the
    file (older checkpoints lack some; an old iterator state is restored on its own by
    `restore_input`). `imported`: networks and counters only, `pgan_tf.import_official`'s
    layout."""
    variables = state.variables()
    if not imported:
        variables.update(training_input.state())
    if stored is not None:
        variables = {
            k: v for k, v in variables.items() if k in stored and k != input_state.LEGACY_KEY
        }
    if imported:
        return ckpt.make_imported_checkpoint(trainer.checkpoint_objects(), variables)
    return ckpt.make_checkpoint(trainer.checkpoint_objects(), variables, rng)


def restore_input(training_input, path, trainer, seed, seen, imported, stored):
    """Places the input of `trainer`'s stage after restoring checkpoint `path`: where its order
    stood, the old iterator state, or (imported networks, other data) a fresh order. Returns a
    line for the log or None."""
    stage, global_batch = trainer.stage, trainer.global_batch
    fresh = seed + 7919 * (1 + seen)  # a new order, not a replay of the stage's
    if imported or not {"dataset_identity", input_state.LEGACY_KEY} & stored:
        training_input.start(stage.resolution, global_batch, seed)
        return None
    if input_state.LEGACY_KEY in stored:
        return training_input.restore_legacy(path, stage.resolution, global_batch, seed, fresh)
    return training_input.resume(path, stage.resolution, global_batch, fresh)


class RunSaver:
    """Writes the run's checkpoints (the chief's `checkpoint.Saver`), and says what a fault
    leaves behind."""

    def __init__(self, run_dir: str, keep: int, log):
        self.run_dir = run_dir
        self.saver = ckpt.Saver(run_dir, keep)
        self.log = log

    def discard(self, paths) -> None:
        self.saver.discard(paths)

    def save(self, checkpoint, seen: int) -> str:
        """Writes `checkpoint` as the one of `seen` images; a failed write names the newest
        checkpoint that is kept."""
        try:
            path = self.saver.save(checkpoint, seen)
        except atomic.WriteError as e:
            found = ckpt.checkpoints(self.run_dir)
            kept = f"newest checkpoint kept: {found[-1][1]}" if found else "no earlier checkpoint"
            raise atomic.WriteError(e.path, f"{e.reason}; {kept}") from None
        self.log(f"  checkpoint {path}")
        return path

    def after_fault(self, make_checkpoint, seen: int) -> str:
        """A checkpoint of the last completed steps if one can be written, else the newest one on
        disk, as a phrase for the fault's error line."""
        try:
            path = self.save(make_checkpoint(), seen)
            return f"saved {path} of the last completed steps (kimg {seen / 1000:.3f})"
        except (atomic.WriteError, tf.errors.OpError, ValueError) as e:
            last = ckpt.checkpoints(self.run_dir)
            return (
                f"could not save a checkpoint ({first_line(e)}); newest checkpoint: "
                f"{last[-1][1] if last else 'none'}"
            )
