"""What the chief writes into the run directory besides checkpoints: the reals grid, sample grids
(`fakes<kimg>.png`, one fixed set of latents for the whole run, as the original), generator
snapshots, the per-tick record (`ticks.jsonl` and TensorBoard) and the run's metrics.

File names are `rundir`'s; when each is written is `policy`'s.
"""

import os
import time

import numpy as np
import tensorflow as tf

from pgan_tf.core import atomic, faults, images
from pgan_tf.core.labels import one_hot
from pgan_tf.data import dataset
from pgan_tf.model import sampling
from pgan_tf.training import config as config_lib
from pgan_tf.training import reporting, rundir


class RunOutputs:
    """The run directory's grids, snapshots, records and metrics, for the run's `config`."""

    def __init__(self, config, run_dir: str):
        self.config = config
        self.run_dir = run_dir
        self.writer = tf.summary.create_file_writer(run_dir)
        self.cols, self.rows = config_lib.grid_shape(
            config.log.grid_size, config.schedule.resolution
        )
        n = self.cols * self.rows
        rs = np.random.RandomState(config.seed)
        self.latents = sampling.random_latents(rs, n, config.network.latent_size)
        self.labels = None
        if config.network.label_size:
            self.labels = one_hot(
                np.arange(n) % config.network.label_size, config.network.label_size
            )

    def path(self, name: str) -> str:
        return os.path.join(self.run_dir, name)

    def reals(self) -> None:
        """`reals.png`: the first grid's worth of training images at the final resolution."""
        n = self.cols * self.rows
        reals = next(
            dataset.iterate_uint8(
                self.config.data.path, self.config.schedule.resolution, n, max_images=n
            )
        )
        images.save_png(self.path(rundir.REALS_NAME), images.grid(reals, self.cols, self.rows))

    def fakes(self, trainer, seen: int) -> None:
        """`fakes<kimg>.png` from the EMA generator of `trainer`, upscaled to the final size."""
        trainer.set_alpha_now()
        fakes = images.upscale_to(
            sampling.Sampler.from_model(trainer.generator_ema)(self.latents, self.labels),
            self.config.schedule.resolution,
        )
        picture = images.grid(fakes, self.cols, self.rows)
        images.save_png(self.path(rundir.fakes_name(seen // 1000)), picture)
        with self.writer.as_default():
            tf.summary.image("fakes", picture[None], step=seen // 1000)

    def snapshot(self, trainer, seen: int) -> str:
        """`network-snapshot-<kimg>.keras`: the EMA generator, written atomically."""
        path = self.path(rundir.snapshot_name(seen // 1000))

        def write(tmp):
            faults.kill_point("snapshot")
            trainer.generator_ema.save(tmp)

        atomic.replace_via_temp(path, write)
        return path

    def tick(self, record: dict, learning_rate: float) -> None:
        """One tick's record: a line of `ticks.jsonl` and the TensorBoard scalars."""
        reporting.append_json_line(self.path(rundir.TICKS_NAME), record)
        reporting.tick_summaries(self.writer, record, learning_rate)

    def metrics(self, trainer, seen: int) -> tuple[dict, float]:
        """The run's --metrics on the current EMA generator against the reals at its resolution:
        appended to `metrics-training.jsonl` and TensorBoard. Returns (values, seconds)."""
        from pgan_tf.metrics.registry import compute_metrics

        cfg = self.config
        trainer.set_alpha_now()
        res = trainer.stage.resolution
        sampler = sampling.Sampler.from_model(trainer.generator_ema)

        def generate_fn(n, seed):
            return sampler.sample(n, np.random.RandomState(seed))

        def real_batches_fn(n):
            return dataset.iterate_uint8(cfg.data.path, res, 256, max_images=n)

        start = time.time()
        values = compute_metrics(
            cfg.log.metrics,
            generate_fn,
            real_batches_fn,
            num_images=cfg.log.metrics_images,
            seed=cfg.seed,
            inception_path=cfg.log.inception_path or None,
        )
        kimg = seen / 1000.0
        record = {"kimg": kimg, "resolution": res, **values}
        reporting.append_json_line(self.path(rundir.TRAINING_METRICS_NAME), record)
        with self.writer.as_default(step=int(kimg)):
            for k, v in values.items():
                tf.summary.scalar(f"Metrics/{k}", v)
        return values, time.time() - start

    def flush(self) -> None:
        self.writer.flush()
