"""Progressive GAN training: `python -m pgan_tf.train --flagfile=quickstart.flags`.

The run loop: it walks the schedule stage by stage (fresh networks per stage, weights carried
over), runs the compiled step in chunks, and at every tick logs, writes sample grids, TensorBoard
events, snapshots and checkpoints. Everything in a chunk runs inside one `tf.function`.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time

import keras
import numpy as np
import tensorflow as tf

import pgan_tf  # noqa: F401  (makes the TensorFlow import quiet)
from pgan_tf.core import atomic, cli, faults, images
from pgan_tf.core.labels import one_hot
from pgan_tf.core.resolution import res_log2, resolutions_up_to
from pgan_tf.data import dataset
from pgan_tf.model import sampling
from pgan_tf.training import checkpoint as ckpt
from pgan_tf.training import config as config_lib
from pgan_tf.training import distribute, input_state, precision, rundir, schedule
from pgan_tf.training.input_state import TrainingInput
from pgan_tf.training.stage import STAT_NAMES, StageTrainer
from pgan_tf.training.switch_timing import SwitchTimer


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. a non-finite loss); the message says why and what is kept."""


def format_time(seconds):
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def ensure_dataset(config, num_workers=1):
    """Creates the built-in synthetic dataset on first use when the flags ask for it (one process
    only: workers of a cluster creating it at once would race, so they must find it made)."""
    path = config.data.path
    if not os.path.exists(path) and config.data.create_synthetic > 0:
        from pgan_tf.data.dataset_tool import create_synthetic

        res = config.data.resolution or config.schedule.resolution
        if num_workers > 1:
            raise config_lib.ConfigError(
                f"--dataset_dir={path} does not exist; with {num_workers} workers create it before "
                f"starting them: python data_prep/create_tfrecords.py create_synthetic {path} "
                f"--resolution {res} --num_images {config.data.create_synthetic} --seed "
                f"{config.seed}"
            )
        print(
            f"Creating the synthetic dataset ({config.data.create_synthetic} images, {res}x{res}) "
            f"in {path}"
        )
        create_synthetic(
            path, num_images=config.data.create_synthetic, resolution=res, seed=config.seed
        )
    return dataset.inspect(path)


def stage_table(config, num_replicas=1):
    """The run's stages: resolution, fade, kimg span, global minibatch, minibatch-stddev group per
    replica, learning rate and kimg per tick."""
    lines = [
        "stage  resolution  fade   start kimg   end kimg  minibatch  "
        "mbstd group  lr        tick kimg"
    ]
    for s in schedule.stages(config.schedule):
        if s.start_kimg >= config.schedule.total_kimg:
            break
        end = min(s.end_kimg, config.schedule.total_kimg)
        batch = config.schedule.minibatch(s.resolution)
        group = config.network.mbstd_group_size
        group = min(group, batch // num_replicas) if group > 1 else "-"
        lines.append(
            f"{s.index:5d}  {s.resolution:>10}  {'yes' if s.fade_in else 'no':4}  "
            f"{s.start_kimg:11.1f}  {end:9.1f}  {batch:9d}  {group:>11}  "
            f"{config.schedule.learning_rate(s.resolution):<8g}  "
            f"{config_lib.tick_kimg_at(config, s.resolution):g}"
        )
    return "\n".join(lines)


class Logger:
    """Prints and appends to `<run_dir>/log.txt`."""

    def __init__(self, path):
        self.path = path
        with atomic.reported(path):
            self._file = open(path, "a", buffering=1)

    def __call__(self, line):
        print(line, flush=True)
        with atomic.reported(self.path):
            self._file.write(line + "\n")

    def close(self):
        self._file.close()


class _StopRequest:
    """Turns SIGINT / SIGTERM into a flag the loop checks between compiled calls."""

    def __init__(self):
        self.signal = None

    def install(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        if self.signal is not None:  # second signal: stop now
            raise KeyboardInterrupt
        self.signal = signal.Signals(signum).name


class Training:
    """One training run (new or resumed) in one run directory."""

    def __init__(self, config, strategy, info):
        self.config = config
        self.strategy = strategy
        self.info = info
        self.workers = distribute.num_workers(strategy)
        self.worker = distribute.worker_index(strategy)
        self.is_chief = self.worker == 0
        self.images_seen = tf.Variable(0, dtype=tf.int64, name="images_seen")
        self.tick = tf.Variable(0, dtype=tf.int64, name="tick")
        self.stage_index = tf.Variable(0, dtype=tf.int64, name="stage_index")
        self.tick_start = tf.Variable(0, dtype=tf.int64, name="tick_start")
        self.elapsed = tf.Variable(0.0, dtype=tf.float64, name="elapsed")
        self.rng = tf.random.Generator.from_seed(config.seed)
        self.trainer = None
        self.saver = None
        self.stop = _StopRequest()
        self.metrics_fn = None
        self.switch = SwitchTimer()

        resume_from = None
        if config.resume:
            self.run_dir, resume_from, explicit = rundir.resolve_resume(
                config.resume, config.log.result_dir
            )
        else:
            desc = config.log.desc or f"pgan-{info.name}-{config.schedule.resolution}"
            self.run_dir = rundir.create(config.log.result_dir, desc) if self.is_chief else None
        self.log = Logger(os.path.join(self.run_dir, rundir.LOG_NAME)) if self.is_chief else print
        if self.is_chief:
            dataset_entry = rundir.DatasetEntry(info.path, config.schedule.resolution, info.name)
            rundir.write_config(self.run_dir, config, dataset_entry)
        rs = np.random.RandomState(config.seed)
        self.grid_cols, self.grid_rows = config_lib.grid_shape(
            config.log.grid_size, config.schedule.resolution
        )
        n = self.grid_cols * self.grid_rows
        self.grid_latents = sampling.random_latents(rs, n, config.network.latent_size)
        self.grid_labels = None
        if config.network.label_size:
            self.grid_labels = one_hot(
                np.arange(n) % config.network.label_size, config.network.label_size
            )
        ctx = None
        if self.workers > 1:
            ctx = tf.distribute.InputContext(self.workers, self.worker, self.workers)
        self.input = TrainingInput(config, info, self.images_seen, ctx)
        self.writer = tf.summary.create_file_writer(self.run_dir) if self.is_chief else None
        if self.is_chief:
            self.saver = ckpt.Saver(self.run_dir, config.log.keep_checkpoints)
        if resume_from:
            self._restore(resume_from, explicit)

    # ---- state -------------------------------------------------------------------------------
    def _enter_stage(self, stage, previous=None):
        """Builds the stage's networks (weights from `previous`) and a fresh input order."""
        start = time.perf_counter()
        self._build_stage(stage, previous)
        seed = self.config.seed + stage.index
        self.input.start(stage.resolution, self.trainer.global_batch, seed)
        self._trace(stage, start)
        if previous is not None:
            faults.kill_point("stage-switch")
            for report in self.trainer.transfer_reports:
                self.log(
                    f"  grew to {stage.name}: new layers {', '.join(report.new_only) or '-'}"
                    f"; dropped {', '.join(report.old_only) or '-'}"
                )

    def _build_stage(self, stage, previous=None):
        keras.utils.set_random_seed(self.config.seed + 7919 * stage.index)
        self.trainer = StageTrainer(
            self.config,
            self.strategy,
            stage,
            self.images_seen,
            self.rng,
            previous,
            self.workers,
            self.worker,
        )
        self.stage_index.assign(stage.index)

    def _trace(self, stage, start):
        """Compiles the stage's step before its first call (timed apart: `switch_timing`)."""
        built = time.perf_counter()
        steps = tf.constant(self.config.steps_per_call)
        self.trainer.run_steps.get_concrete_function(self.input.iterator, steps)
        self.switch.entered(stage.name, built - start, time.perf_counter() - built)

    def _make_checkpoint(self, stored=None, imported=False):
        """The current stage's checkpoint: networks, optimizers, run state, rng and input
        position; to restore, only the objects `stored` in the file (older checkpoints lack
        some). `imported`: the networks and counters only, the layout of
        `pgan_tf.import_official`."""
        state = {
            "images_seen": self.images_seen,
            "tick": self.tick,
            "tick_start": self.tick_start,
            "elapsed": self.elapsed,
            "stage_index": self.stage_index,
        }
        if not imported:
            state.update(self.input.state())
        if stored is not None:  # the old iterator state is restored on its own (`_restore_input`)
            state = {k: v for k, v in state.items() if k in stored and k != input_state.LEGACY_KEY}
        if imported:
            return ckpt.make_imported_checkpoint(self.trainer.checkpoint_objects(), state)
        return ckpt.make_checkpoint(self.trainer.checkpoint_objects(), state, self.rng)

    def _restore(self, candidates, explicit):
        """Restores the newest intact of `candidates`; damaged ones are reported and skipped
        (an `explicit` one, named by the user, is an error instead)."""
        if self.is_chief:
            removed = ckpt.remove_partial(self.run_dir)
            if removed:
                self.log(f"Removed what an interrupted write left behind: {', '.join(removed)}")

        def restore(path):
            start = time.perf_counter()
            stage = ckpt.stage_of(
                path, self.config.schedule
            )  # at a stage's end: that stage, not the next
            imported = ckpt.check_imported(path, self.config.network, stage)
            self._build_stage(stage)
            stored = ckpt.stored_objects(path)
            checkpoint = self._make_checkpoint(stored, imported=imported)
            ckpt.restore(checkpoint, path, f"the {stage.name} networks of this configuration")
            self._restore_input(path, stage, imported, stored)
            self._trace(stage, start)

        path, damaged = ckpt.restore_newest_intact(candidates, restore, self.log, explicit)
        if self.saver is not None:
            self.saver.discard(damaged)
        self.log(
            f"Resumed from {path} at kimg {ckpt.images_seen(path) / 1000:.1f} "
            f"({self.trainer.stage.name}, tick {int(self.tick.numpy())})"
        )

    def _restore_input(self, path, stage, imported, stored):
        """The input after restoring checkpoint `path`: where its order stood, the old iterator
        state, or (imported networks, other data) a fresh order."""
        res, batch = stage.resolution, self.trainer.global_batch
        seed = self.config.seed + stage.index
        fresh = seed + 7919 * (1 + int(self.images_seen.numpy()))  # not a replay of the stage
        if imported or not {"dataset_identity", input_state.LEGACY_KEY} & stored:
            self.input.start(res, batch, seed)  # nothing places the input: a fresh order
            return
        if input_state.LEGACY_KEY in stored:
            note = self.input.restore_legacy(path, res, batch, seed, fresh)
        else:
            note = self.input.resume(path, res, batch, fresh)
        if note:
            self.log(note)

    def save_checkpoint(self):
        """Writes a checkpoint (chief only); returns its path or None."""
        if self.saver is None:
            return None
        try:
            path = self.saver.save(self._make_checkpoint(), int(self.images_seen.numpy()))
        except atomic.WriteError as e:
            found = ckpt.checkpoints(self.run_dir)
            kept = f"newest checkpoint kept: {found[-1][1]}" if found else "no earlier checkpoint"
            raise atomic.WriteError(e.path, f"{e.reason}; {kept}") from None
        self.log(f"  checkpoint {path}")
        return path

    def save_snapshot(self):
        if self.is_chief:
            kimg = int(self.images_seen.numpy()) // 1000
            path = os.path.join(self.run_dir, rundir.snapshot_name(kimg))

            def write(tmp):
                faults.kill_point("snapshot")
                self.trainer.generator_ema.save(tmp)

            atomic.replace_via_temp(path, write)

    def _checkpoint_after_fault(self):
        """What the run keeps after a fault: a checkpoint of the last completed steps if one can be
        written (chief only), else the newest one on disk, as a phrase for the error line."""
        kimg = int(self.images_seen.numpy()) / 1000
        if self.saver is None:
            return "the chief writes the checkpoint"
        try:
            return f"saved {self.save_checkpoint()} of the last completed steps (kimg {kimg:.3f})"
        except (atomic.WriteError, tf.errors.OpError, ValueError) as e:
            last = ckpt.checkpoints(self.run_dir)
            return (
                f"could not save a checkpoint ({str(e).splitlines()[0]}); newest checkpoint: "
                f"{last[-1][1] if last else 'none'}"
            )

    # ---- samples -----------------------------------------------------------------------------
    def sampler(self):
        """The EMA generator of the current stage: uint8 NHWC samples in memory-sized batches."""
        return sampling.Sampler.from_model(self.trainer.generator_ema)

    def write_fakes(self):
        self.trainer.set_alpha_now()
        fakes = images.upscale_to(
            self.sampler()(self.grid_latents, self.grid_labels), self.config.schedule.resolution
        )
        kimg = int(self.images_seen.numpy()) // 1000
        picture = images.grid(fakes, self.grid_cols, self.grid_rows)
        images.save_png(os.path.join(self.run_dir, f"fakes{kimg:06d}.png"), picture)
        with self.writer.as_default():
            tf.summary.image("fakes", picture[None], step=kimg)

    def write_reals(self):
        n = self.grid_cols * self.grid_rows
        reals = next(
            dataset.iterate_uint8(
                self.config.data.path, self.config.schedule.resolution, n, max_images=n
            )
        )
        images.save_png(
            os.path.join(self.run_dir, "reals.png"),
            images.grid(reals, self.grid_cols, self.grid_rows),
        )

    # ---- the loop ----------------------------------------------------------------------------
    def run(self):
        cfg = self.config
        total_images = int(round(cfg.schedule.total_kimg * 1000))
        self.stop.install()
        if self.trainer is None:
            self._enter_stage(schedule.stage_at(cfg.schedule, 0.0))
            if self.is_chief:
                self.log(f"Run directory: {self.run_dir}")
                self.write_reals()
                self.write_fakes()
            self.log(stage_table(cfg, self.strategy.num_replicas_in_sync))
        self.log(
            f"Training on {self.strategy.num_replicas_in_sync} replica(s) "
            f"({distribute.describe(self.strategy)}), {cfg.mixed_precision} ({cfg.precision_note})"
        )
        tick_stats, tick_calls = np.zeros(len(STAT_NAMES)), 0
        tick_wall = run_start = time.time()
        maintenance = 0.0  # seconds the previous tick's end took (grids, checkpoints, metrics)
        last_progress = time.time()
        while int(self.images_seen.numpy()) < total_images:
            seen = int(self.images_seen.numpy())
            stage = schedule.stage_at(cfg.schedule, seen / 1000.0)
            if stage != self.trainer.stage:
                self._enter_stage(stage, previous=self.trainer)
            tr = self.trainer
            tick_end = int(self.tick_start.numpy()) + int(
                config_lib.tick_kimg_at(cfg, stage.resolution) * 1000
            )
            stage_end = (
                int(math.ceil(stage.end_kimg * 1000))
                if math.isfinite(stage.end_kimg)
                else total_images
            )
            target = min(tick_end, total_images, stage_end)
            steps = max(1, min(cfg.steps_per_call, math.ceil((target - seen) / tr.global_batch)))
            call_start = time.perf_counter()
            stats = self._run_steps(tr, steps)
            switch_line = self.switch.called(time.perf_counter() - call_start, steps)
            if switch_line:
                self.log(switch_line)
            if not np.all(np.isfinite(stats)):
                last = rundir.latest_checkpoint(self.run_dir) if self.run_dir else None
                raise TrainingError(
                    f"non-finite loss at kimg {self.images_seen.numpy() / 1000:.1f} "
                    f"({', '.join(f'{k}={v:.4g}' for k, v in zip(STAT_NAMES, stats))}); stopped "
                    f"without saving. Last good checkpoint: {last or 'none'}. Try a lower "
                    "--lr_base or float32."
                )
            tick_stats += stats * steps
            tick_calls += steps
            seen = int(self.images_seen.numpy())
            now = time.time()
            if self.stop.signal:
                self.elapsed.assign_add(now - tick_wall)
                self.save_checkpoint()
                self.log(
                    f"Stopped by {self.stop.signal} at kimg {seen / 1000:.1f}; resume with "
                    f"--resume={self.run_dir}"
                )
                return
            tick_done = seen >= min(tick_end, stage_end, total_images)  # no tick spans a switch
            if not tick_done:
                faults.kill_point("tick")
            if not tick_done and now - last_progress > cfg.log.progress_seconds:
                done = (seen - int(self.tick_start.numpy())) / max(
                    1, tick_end - int(self.tick_start.numpy())
                )
                self.log(
                    f"  ... kimg {seen / 1000:8.1f}  ({100 * done:3.0f}% of tick "
                    f"{int(self.tick.numpy()) + 1})"
                )
                last_progress = now
            if tick_done:
                self.end_tick(tick_stats / max(tick_calls, 1), now - tick_wall, maintenance)
                tick_stats, tick_calls = np.zeros(len(STAT_NAMES)), 0
                tick_wall = last_progress = time.time()
                maintenance = tick_wall - now
        self.save_checkpoint()
        self.save_snapshot()
        self.log(self.switch.summary(time.time() - run_start))
        self.log(
            f"Done: kimg {int(self.images_seen.numpy()) / 1000:.1f} in "
            f"{format_time(float(self.elapsed.numpy()))}."
        )

    def _run_steps(self, trainer, steps):
        """One compiled call; a corrupt record or a lost worker ends the run in one line, after
        a checkpoint of the steps completed before it."""
        try:
            return trainer.run_steps(self.input.iterator, tf.constant(steps)).numpy()
        except tf.errors.DataLossError as e:
            res = trainer.stage.resolution
            level = dataset.tfrecord_filename(self.config.data.path, res_log2(res), self.info.name)
            raise faults.CorruptRecord(
                f"{faults.corrupt_record(e, level, res)}; {self._checkpoint_after_fault()}. List "
                "every damaged record with: python data_prep/create_tfrecords.py verify "
                f"{self.config.data.path}"
            ) from None
        except faults.PEER_ERRORS as e:
            if self.workers == 1:
                raise
            lost = faults.lost_task(e, distribute.task(self.strategy))
            raise faults.WorkerLost(
                f"lost worker {lost} at kimg {int(self.images_seen.numpy()) / 1000:.3f}; "
                f"{self._checkpoint_after_fault()}. Restart every worker with "
                f"--resume={self.run_dir}"
            ) from None

    def end_tick(self, stats, tick_seconds, maintenance):
        cfg, tr = self.config, self.trainer
        seen = int(self.images_seen.numpy())
        tick_images = seen - int(self.tick_start.numpy())
        self.tick.assign_add(1)
        self.tick_start.assign(seen)
        self.elapsed.assign_add(tick_seconds)
        tick = int(self.tick.numpy())
        kimg = seen / 1000.0
        alpha = float(tr.alpha())
        lod = schedule.lod_at(cfg.schedule, kimg)
        sec_per_kimg = tick_seconds / max(tick_images / 1000.0, 1e-9)
        ips = tick_images / max(tick_seconds, 1e-9)
        self.log(
            f"tick {tick:<5d} kimg {kimg:<8.1f} lod {lod:<5.2f} res {tr.stage.resolution:>4}"
            f"{' fade' if tr.stage.fade_in else '     '} alpha {alpha:<5.3f} "
            f"minibatch {tr.global_batch:<4d} "
            f"time {format_time(float(self.elapsed.numpy())):<9} sec/tick {tick_seconds:<7.1f} "
            f"sec/kimg {sec_per_kimg:<7.2f} img/s {ips:<7.1f} maintenance {maintenance:<5.1f} "
            f"D {stats[0]:+.3f} G {stats[1]:+.3f}"
        )
        if not self.is_chief:
            return
        record = {
            "tick": tick,
            "kimg": kimg,
            "lod": lod,
            "resolution": tr.stage.resolution,
            "fade_in": tr.stage.fade_in,
            "alpha": alpha,
            "minibatch": tr.global_batch,
            "train_seconds": float(self.elapsed.numpy()),
            "tick_seconds": tick_seconds,
            "images_per_second": ips,
            "maintenance_seconds": maintenance,
            "wall_time": time.time(),
            **{name: float(v) for name, v in zip(STAT_NAMES, stats)},
        }
        with open(os.path.join(self.run_dir, rundir.TICKS_NAME), "a") as f:
            f.write(json.dumps(record) + "\n")
        with self.writer.as_default(step=int(kimg)):
            for name, value in zip(STAT_NAMES, stats):
                tf.summary.scalar(f"Loss/{name}", value)
            tf.summary.scalar("Progress/kimg", kimg)
            tf.summary.scalar("Progress/lod", lod)
            tf.summary.scalar("Progress/resolution", tr.stage.resolution)
            tf.summary.scalar("Progress/alpha", alpha)
            tf.summary.scalar("Progress/minibatch", tr.global_batch)
            tf.summary.scalar(
                "Progress/learning_rate", cfg.schedule.learning_rate(tr.stage.resolution)
            )
            tf.summary.scalar("Timing/sec_per_kimg", sec_per_kimg)
            tf.summary.scalar("Timing/images_per_sec", ips)
        done = seen >= int(round(cfg.schedule.total_kimg * 1000))
        if tick % cfg.log.image_snapshot_ticks == 0 or done:
            self.write_fakes()
        if tick % cfg.log.network_snapshot_ticks == 0 and not done:
            self.save_checkpoint()
            self.save_snapshot()
        if cfg.log.metrics and (tick % cfg.log.metrics_ticks == 0 or done):
            self.evaluate_metrics(kimg)
        self.writer.flush()

    def evaluate_metrics(self, kimg):
        from pgan_tf.metrics.registry import compute_metrics

        cfg, tr = self.config, self.trainer
        tr.set_alpha_now()
        res = tr.stage.resolution
        sampler = self.sampler()

        def generate_fn(n, seed):
            return sampler.sample(n, np.random.RandomState(seed))

        def real_batches_fn(n):
            return dataset.iterate_uint8(cfg.data.path, res, 256, max_images=n)

        t = time.time()
        values = compute_metrics(
            cfg.log.metrics,
            generate_fn,
            real_batches_fn,
            num_images=cfg.log.metrics_images,
            seed=cfg.seed,
            inception_path=cfg.log.inception_path or None,
        )
        self.log(
            "  metrics "
            + "  ".join(f"{k} {v:.4g}" for k, v in values.items())
            + f"  ({time.time() - t:.1f}s)"
        )
        with open(os.path.join(self.run_dir, "metrics-training.jsonl"), "a") as f:
            f.write(json.dumps({"kimg": kimg, "resolution": res, **values}) + "\n")
        with self.writer.as_default(step=int(kimg)):
            for k, v in values.items():
                tf.summary.scalar(f"Metrics/{k}", v)


def assumed_dataset(config):
    """What a dry run assumes when the dataset does not exist yet: the flags' resolution, RGB, no
    labels. Returns (DatasetInfo, the lines that say so)."""
    res = config.data.resolution
    if not res:
        raise config_lib.ConfigError(
            f"--dry_run: {config.data.path} does not exist, so --resolution must say the final "
            "resolution"
        )
    info = dataset.DatasetInfo(
        path=config.data.path,
        name=os.path.basename(config.data.path.rstrip(os.sep)),
        resolutions=resolutions_up_to(res),
        max_resolution=res,
        num_channels=3,
        num_images=0,
        label_size=0,
    )
    notes = [
        f"Dataset {config.data.path} does not exist yet; assumed from the flags: resolution {res} "
        f"(--resolution), 3 channels, no labels"
        + (" (--conditional: the dataset will say how many)" if config.data.conditional else ""),
    ]
    return info, notes


def build_config(f):
    """Parsed flags (`config.parse_flags`) → validated config, dataset info, strategy and notes
    for the reader (the order matters: devices first). A dry run never creates a dataset and
    works without one."""
    config = config_lib.config_from_flags(f)
    distribute.split_cpu(config.num_cpu_devices)
    strategy = distribute.make_strategy(
        config.distribute, config.worker_timeout
    )  # before any op: collectives need it
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    choice = precision.resolve(config.mixed_precision)  # may time a probe: before the seed is set
    if choice.warning:
        print(f"warning: {choice.warning}", file=sys.stderr)
    config = config_lib.with_precision(config, choice)
    keras.utils.set_random_seed(config.seed)
    notes = []
    if f.dry_run and not os.path.exists(config.data.path):
        info, notes = assumed_dataset(config)
        config = config_lib.resolve_with_dataset(
            config, info, strategy.num_replicas_in_sync, labels_known=False
        )
    else:
        info = ensure_dataset(config, distribute.num_workers(strategy))
        config = config_lib.resolve_with_dataset(config, info, strategy.num_replicas_in_sync)
    return config, info, strategy, notes


def main(argv: list[str] | None = None) -> int:
    """`python -m pgan_tf.train`; returns the exit code (README: 0 done, 1 failed, 2 usage or
    configuration, 130 stopped by Ctrl-C / 143 by SIGTERM after a checkpoint)."""
    flags = config_lib.parse_flags(sys.argv[1:] if argv is None else argv)
    strategy = None
    try:
        config, info, strategy, notes = build_config(flags)
        if flags.dry_run:
            print(rundir.config_json(config))
            for line in notes:
                print(line)
            print(stage_table(config, strategy.num_replicas_in_sync))
            return cli.OK
        training = Training(config, strategy, info)
        training.run()
        stopped_by = training.stop.signal  # the run stopped at a checkpoint on this signal
        return 128 + signal.Signals[stopped_by] if stopped_by else cli.OK
    except (
        config_lib.ConfigError,
        dataset.DatasetError,
        input_state.DatasetChanged,
        ckpt.CheckpointError,
        rundir.RunDirError,
    ) as e:
        return cli.fail(e, cli.USAGE)
    except (
        TrainingError,
        ckpt.DamagedCheckpoint,
        atomic.WriteError,
        faults.CorruptRecord,
        faults.WorkerLost,
    ) as e:
        return cli.fail(e, cli.FAILURE)
    except OSError as e:
        return cli.fail(f"{e.filename or 'I/O'}: {atomic.reason(e)}", cli.FAILURE)
    except tf.errors.DataLossError as e:
        return cli.fail(f"corrupt data: {faults.first_line(e)}", cli.FAILURE)
    except faults.PEER_ERRORS as e:
        if (distribute.num_workers(strategy) if strategy else distribute.tf_config_workers()) <= 1:
            raise
        lost = faults.lost_task(e, distribute.task(strategy))
        return cli.fail(
            f"lost worker {lost}; restart every worker with --resume (newest checkpoint kept)",
            cli.FAILURE,
        )
    except KeyboardInterrupt:
        return cli.fail(
            "interrupted; the newest checkpoint, if any, is kept (continue with --resume)",
            cli.INTERRUPTED,
        )


if __name__ == "__main__":
    sys.exit(main())
