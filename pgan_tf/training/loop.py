"""The training loop: `Training.run` reads top to bottom as the run goes.

`StageTrainer` (stage.py) is *what* a step is; `Schedule.at` (schedule.py) says what to train at
any kimg; `policy` says *when* a tick ends and what follows it; this module asks them in turn and
performs the answers: compiled calls, stage switches, checkpoints, grids, snapshots and metrics
(`outputs.py`), the tick line and record (`reporting.py`).
"""

import os
import signal
import time

import keras
import numpy as np
import tensorflow as tf

from pgan_tf.core import faults
from pgan_tf.core.resolution import res_log2
from pgan_tf.data import dataset
from pgan_tf.training import checkpoint as ckpt
from pgan_tf.training import distribute, policy, reporting, run_checkpoint, rundir, schedule
from pgan_tf.training.input_state import TrainingInput
from pgan_tf.training.outputs import RunOutputs
from pgan_tf.training.policy import Action
from pgan_tf.training.run_state import RunState
from pgan_tf.training.stage import STAT_NAMES, StageTrainer
from pgan_tf.training.switch_timing import SwitchTimer


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. a non-finite loss); the message says why and what is kept."""


class StopRequest:
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


class StageBuilder:
    """Makes each stage's `StageTrainer` for a run: networks seeded as the stage's index says,
    weights carried over from the previous stage, the input's fresh order, the step compiled
    before its first call."""

    def __init__(self, run, switch: SwitchTimer):
        self.config, self.strategy = run.config, run.strategy
        self.state, self.rng, self.input = run.state, run.rng, run.input
        self.workers, self.worker = run.workers, run.worker
        self.switch = switch

    def build(self, stage, previous=None) -> StageTrainer:
        keras.utils.set_random_seed(self.config.seed + 7919 * stage.index)
        trainer = StageTrainer(
            self.config,
            self.strategy,
            stage,
            self.state.images_seen,
            self.rng,
            previous,
            self.workers,
            self.worker,
        )
        self.state.stage_index.assign(stage.index)
        return trainer

    def trace(self, trainer, start: float) -> None:
        """Compiles the stage's step before its first call (timed apart: `switch_timing`)."""
        built = time.perf_counter()
        steps = tf.constant(self.config.steps_per_call)
        trainer.run_steps.get_concrete_function(self.input.iterator, steps)
        self.switch.entered(trainer.stage.name, built - start, time.perf_counter() - built)

    def enter(self, stage, previous, log) -> StageTrainer:
        """The trainer of `stage` with a fresh input order; a switch logs what grew."""
        start = time.perf_counter()
        trainer = self.build(stage, previous)
        self.input.start(stage.resolution, trainer.global_batch, self.config.seed + stage.index)
        self.trace(trainer, start)
        if previous is not None:
            faults.kill_point("stage-switch")
            for report in trainer.transfer_reports:
                log(
                    f"  grew to {stage.name}: new layers {', '.join(report.new_only) or '-'}"
                    f"; dropped {', '.join(report.old_only) or '-'}"
                )
        return trainer


class Training:
    """One training run (new or resumed) in one run directory."""

    def __init__(self, config, strategy, info):
        self.config, self.strategy, self.info = config, strategy, info
        self.workers = distribute.num_workers(strategy)
        self.worker = distribute.worker_index(strategy)
        self.is_chief = self.worker == 0
        self.schedule = schedule.Schedule(config.schedule, config.log.tick_kimg)
        self.cadence = policy.Cadence.from_log_config(config.log)
        self.state = RunState.new()
        self.rng = tf.random.Generator.from_seed(config.seed)
        self.trainer = None
        self.stop = StopRequest()
        self.switch = SwitchTimer()
        resume_from = None
        if config.resume:
            self.run_dir, resume_from, explicit = rundir.resolve_resume(
                config.resume, config.log.result_dir
            )
        else:
            desc = config.log.desc or f"pgan-{info.name}-{config.schedule.resolution}"
            self.run_dir = rundir.create(config.log.result_dir, desc) if self.is_chief else None
        self.log, self.outputs, self.saver = print, None, None
        if self.is_chief:
            self.log = reporting.Logger(os.path.join(self.run_dir, rundir.LOG_NAME))
            dataset_entry = rundir.DatasetEntry(info.path, config.schedule.resolution, info.name)
            rundir.write_config(self.run_dir, config, dataset_entry)
            self.outputs = RunOutputs(config, self.run_dir)
            self.saver = run_checkpoint.RunSaver(
                self.run_dir, config.log.keep_checkpoints, self.log
            )
        ctx = None
        if self.workers > 1:
            ctx = tf.distribute.InputContext(self.workers, self.worker, self.workers)
        self.input = TrainingInput(config, info, self.state.images_seen, ctx)
        self.stages = StageBuilder(self, self.switch)
        if resume_from:
            self._restore(resume_from, explicit)

    # ---- the loop ----------------------------------------------------------------------------
    def run(self):
        """Trains from where the run stands to the end of the schedule (or a stop signal)."""
        self.stop.install()
        self._start()
        tick_stats, tick_steps = np.zeros(len(STAT_NAMES)), 0
        tick_wall = run_start = last_progress = time.time()
        maintenance = 0.0  # seconds the previous tick's end took (grids, checkpoints, metrics)
        while self.state.seen < self.schedule.total_images:
            # What to train now: a new stage when the schedule moved on.
            now = self.schedule.at(self.state.seen / 1000.0)
            if now.stage != self.trainer.stage:
                self._enter_stage(now.stage, previous=self.trainer)
            # How far this call goes: to the tick's end, at most `steps_per_call` steps.
            target = policy.tick_target(
                self.state.tick_start_images,
                now.tick_kimg,
                now.stage_end_images,
                self.schedule.total_images,
            )
            steps = policy.steps_for_call(
                self.state.seen, target, self.trainer.global_batch, self.config.steps_per_call
            )
            stats = self._call(steps)
            tick_stats += stats * steps
            tick_steps += steps
            wall = time.time()
            # A stop signal: keep the steps done, then return.
            if self.stop.signal:
                self.state.elapsed.assign_add(wall - tick_wall)
                self._perform(policy.AT_STOP)
                self.log(
                    f"Stopped by {self.stop.signal} at kimg {self.state.seen / 1000:.1f}; resume "
                    f"with --resume={self.run_dir}"
                )
                return
            # Inside a tick: a progress line now and then.
            if self.state.seen < target:
                faults.kill_point("tick")
                if policy.progress_due(self.cadence, wall, last_progress):
                    self._progress(now.tick_kimg)
                    last_progress = wall
                continue
            # The tick's end: its line and record, then what the policy says follows.
            self._end_tick(tick_stats / max(tick_steps, 1), wall - tick_wall, maintenance)
            tick_stats, tick_steps = np.zeros(len(STAT_NAMES)), 0
            tick_wall = last_progress = time.time()
            maintenance = tick_wall - wall
        # The end of the schedule.
        self._perform(policy.AT_RUN_END)
        self.log(self.switch.summary(time.time() - run_start))
        self.log(
            f"Done: kimg {self.state.seen / 1000:.1f} in "
            f"{reporting.format_time(self.state.seconds)}."
        )

    def _start(self):
        """A new run enters its first stage and writes its reals, first fakes and stage table."""
        if self.trainer is None:
            self._enter_stage(self.schedule.stage_at(0.0))
            if self.is_chief:
                self.log(f"Run directory: {self.run_dir}")
                self.outputs.reals()
                self.outputs.fakes(self.trainer, self.state.seen)
            self.log(reporting.stage_table(self.config, self.strategy.num_replicas_in_sync))
        self.log(
            f"Training on {self.strategy.num_replicas_in_sync} replica(s) "
            f"({distribute.describe(self.strategy)}), {self.config.mixed_precision} "
            f"({self.config.precision_note})"
        )

    def _call(self, steps):
        """One compiled call of `steps` steps; returns the mean stats. A corrupt record or a lost
        worker ends the run in one line, after a checkpoint of the steps completed before it."""
        start = time.perf_counter()
        try:
            stats = self.trainer.run_steps(self.input.iterator, tf.constant(steps)).numpy()
        except tf.errors.DataLossError as e:
            res = self.trainer.stage.resolution
            data = self.config.data.path
            level = dataset.tfrecord_filename(data, res_log2(res), self.info.name)
            raise faults.CorruptRecord(
                f"{faults.corrupt_record(e, level, res)}; {self._after_fault()}. List every "
                f"damaged record with: python data_prep/create_tfrecords.py verify {data}"
            ) from None
        except faults.PEER_ERRORS as e:
            if self.workers == 1:
                raise
            lost = faults.lost_task(e, distribute.task(self.strategy))
            raise faults.WorkerLost(
                f"lost worker {lost} at kimg {self.state.seen / 1000:.3f}; "
                f"{self._after_fault()}. Restart every worker with --resume={self.run_dir}"
            ) from None
        line = self.switch.called(time.perf_counter() - start, steps)
        if line:
            self.log(line)
        if not np.all(np.isfinite(stats)):
            last = rundir.latest_checkpoint(self.run_dir) if self.run_dir else None
            raise TrainingError(
                f"non-finite loss at kimg {self.state.seen / 1000:.1f} "
                f"({', '.join(f'{k}={v:.4g}' for k, v in zip(STAT_NAMES, stats))}); stopped "
                f"without saving. Last good checkpoint: {last or 'none'}. Try a lower "
                "--lr_base or float32."
            )
        return stats

    def _progress(self, tick_kimg):
        done = policy.tick_fraction(self.state.seen, self.state.tick_start_images, tick_kimg)
        self.log(
            f"  ... kimg {self.state.seen / 1000:8.1f}  ({100 * done:3.0f}% of tick "
            f"{self.state.ticks + 1})"
        )

    def _end_tick(self, stats, tick_seconds, maintenance):
        """Counts the tick, logs and records it, and performs what the policy says follows."""
        state, tr, seen = self.state, self.trainer, self.state.seen
        tick_images = seen - state.tick_start_images
        state.tick.assign_add(1)
        state.tick_start.assign(seen)
        state.elapsed.assign_add(tick_seconds)
        record = reporting.tick_record(
            tick=state.ticks,
            seen=seen,
            tick_images=tick_images,
            stage=tr.stage,
            lod=schedule.lod_at(self.config.schedule, seen / 1000.0),
            alpha=float(tr.alpha()),
            minibatch=tr.global_batch,
            train_seconds=state.seconds,
            tick_seconds=tick_seconds,
            maintenance=maintenance,
            stats=stats,
            wall_time=time.time(),
        )
        self.log(reporting.tick_line(record))
        if not self.is_chief:
            return
        self.outputs.tick(record, self.config.schedule.learning_rate(tr.stage.resolution))
        run_done = seen >= self.schedule.total_images
        self._perform(policy.at_tick_end(self.cadence, state.ticks, run_done))
        self.outputs.flush()

    def _perform(self, actions: Action):
        """Does `actions` in the policy's order (the chief writes; other workers train only)."""
        if not self.is_chief:
            return
        seen = self.state.seen
        for action in policy.in_order(actions):
            if action is Action.FAKES:
                self.outputs.fakes(self.trainer, seen)
            elif action is Action.CHECKPOINT:
                self.saver.save(self._checkpoint(), seen)
            elif action is Action.SNAPSHOT:
                self.outputs.snapshot(self.trainer, seen)
            elif action is Action.METRICS:
                values, seconds = self.outputs.metrics(self.trainer, seen)
                self.log(reporting.metrics_line(values, seconds))

    def _after_fault(self):
        """What a fault leaves: `policy.AT_FAULT`'s checkpoint, as a phrase for its error line."""
        if self.saver is None:
            return "the chief writes the checkpoint"
        return self.saver.after_fault(self._checkpoint, self.state.seen)

    # ---- stages and checkpoints --------------------------------------------------------------
    def _checkpoint(self, stored=None, imported=False):
        return run_checkpoint.build(
            self.trainer, self.state, self.rng, self.input, stored, imported
        )

    def _enter_stage(self, stage, previous=None):
        """Switches to `stage`: its trainer (weights from `previous`) and a fresh input order."""
        self.trainer = self.stages.enter(stage, previous, self.log)

    def _restore(self, candidates, explicit):
        """Restores the newest intact of `candidates`; damaged ones are reported and skipped
        (an `explicit` one, named by the user, is an error instead)."""
        if self.is_chief:
            removed = ckpt.remove_partial(self.run_dir)
            if removed:
                self.log(f"Removed what an interrupted write left behind: {', '.join(removed)}")

        def restore(path):
            start = time.perf_counter()
            stage = ckpt.stage_of(path, self.config.schedule)  # at a stage's end: that stage
            imported = ckpt.check_imported(path, self.config.network, stage)
            self.trainer = self.stages.build(stage)
            stored = ckpt.stored_objects(path)
            checkpoint = self._checkpoint(stored, imported=imported)
            ckpt.restore(checkpoint, path, f"the {stage.name} networks of this configuration")
            seed = self.config.seed + stage.index
            args = (path, self.trainer, seed, self.state.seen, imported, stored)
            note = run_checkpoint.restore_input(self.input, *args)
            if note:
                self.log(note)
            self.stages.trace(self.trainer, start)

        path, damaged = ckpt.restore_newest_intact(candidates, restore, self.log, explicit)
        if self.saver is not None:
            self.saver.discard(damaged)
        self.log(
            f"Resumed from {path} at kimg {ckpt.images_seen(path) / 1000:.1f} "
            f"({self.trainer.stage.name}, tick {self.state.ticks})"
        )
