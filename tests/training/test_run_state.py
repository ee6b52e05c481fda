"""The run state's variables and the names a checkpoint stores them under."""

import tensorflow as tf

from pgan_tf.training import run_state
from pgan_tf.training.run_state import RunState


def test_new_state_starts_its_tick_at_the_images_shown():
    state = RunState.new(5000)
    assert (state.seen, state.tick_start_images, state.ticks, state.seconds) == (5000, 5000, 0, 0.0)
    state.images_seen.assign_add(16)
    assert state.seen == 5016


def test_variables_are_the_checkpoint_names():
    names = set(RunState.new().variables())
    assert names == {"images_seen", "tick", "tick_start", "elapsed", run_state.STAGE_INDEX}
    assert run_state.STAGE_INDEX not in RunState.new().variables(stage=False)


def test_checkpoint_keys_follow_the_names(tmp_path):
    """What `checkpoint.images_seen` reads is what a run state writes."""
    state = RunState.new(1234)
    path = tf.train.Checkpoint(**state.variables()).write(str(tmp_path / "ckpt"))
    reader = tf.train.load_checkpoint(path)
    assert int(reader.get_tensor(run_state.variable_key(run_state.IMAGES_SEEN))) == 1234
    assert reader.has_tensor(run_state.variable_key(run_state.STAGE_INDEX))


def test_network_names():
    assert run_state.NETWORKS == (
        run_state.GENERATOR,
        run_state.DISCRIMINATOR,
        run_state.GENERATOR_EMA,
    )
