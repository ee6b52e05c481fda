"""The run's state besides its networks, and the name of every object a checkpoint holds.

One home for both: the training loop, the checkpoint reader, the run directory and
`pgan_tf.import_official` all write or read checkpoints under these names, so an old checkpoint
keeps loading as long as they stay.
"""

import dataclasses

import tensorflow as tf

GENERATOR = "generator"
DISCRIMINATOR = "discriminator"
GENERATOR_EMA = "generator_ema"  # the smoothed generator (paper §A.1): what snapshots hold
G_OPTIMIZER = "g_optimizer"
D_OPTIMIZER = "d_optimizer"
NETWORKS = (GENERATOR, DISCRIMINATOR, GENERATOR_EMA)
RNG = "rng"

IMAGES_SEEN = "images_seen"
STAGE_INDEX = "stage_index"


def variable_key(name: str) -> str:
    """The key of a checkpointed variable `name` as a checkpoint reader lists it."""
    return f"{name}/.ATTRIBUTES/VARIABLE_VALUE"


@dataclasses.dataclass
class RunState:
    """Counters of a run, as variables so one checkpoint holds them with the networks.

    `images_seen` is the clock of everything (the schedule, α inside the compiled step, the
    input position); ticks count from `tick_start`; `elapsed` is the training time in seconds.
    """

    images_seen: tf.Variable
    tick: tf.Variable
    tick_start: tf.Variable
    elapsed: tf.Variable
    stage_index: tf.Variable

    @classmethod
    def new(cls, images_seen: int = 0) -> "RunState":
        return cls(
            images_seen=tf.Variable(images_seen, dtype=tf.int64, name=IMAGES_SEEN),
            tick=tf.Variable(0, dtype=tf.int64, name="tick"),
            tick_start=tf.Variable(images_seen, dtype=tf.int64, name="tick_start"),
            elapsed=tf.Variable(0.0, dtype=tf.float64, name="elapsed"),
            stage_index=tf.Variable(0, dtype=tf.int64, name=STAGE_INDEX),
        )

    def variables(self, stage: bool = True) -> dict[str, tf.Variable]:
        """{checkpoint name: variable}; `stage=False` leaves out the stage index (an imported
        checkpoint has none: its stage follows from the images shown)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if not stage:
            del out[STAGE_INDEX]
        return out

    @property
    def seen(self) -> int:
        """Images shown so far."""
        return int(self.images_seen.numpy())

    @property
    def tick_start_images(self) -> int:
        return int(self.tick_start.numpy())

    @property
    def ticks(self) -> int:
        return int(self.tick.numpy())

    @property
    def seconds(self) -> float:
        return float(self.elapsed.numpy())
