"""Timing a stage's compiled train step: the StageRun of one stage and precision, the peak
matmul/conv FLOP/s it is compared with, the input pipeline alone, and the peak memory mark.

The machine is shared, and other processes only ever slow a measurement down: `measure_stage`
interleaves the precisions' calls with the peak kernels (each sees the same load) and keeps every
call, so the best one can be the headline number. Used by benchmarks/train_step.py (and
benchmarks/train_loop.py for `StageRun`); the rows it returns are printed by step_report.py.
"""

import collections
import dataclasses
import gc
import os
import statistics
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from pgan_tf.training.stage import StageTrainer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # benchmarks/flops.py, run or loaded
# isort: split
from flops import count_flops, profile_op_times, profiler_flops, step_graph  # noqa: E402


# ------------------------------------------------------------------------------- peak memory
def reset_peak_rss():
    """Resets the kernel's peak-RSS mark of this process (Linux: clear_refs 5); False elsewhere."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_bytes():
    """This process's peak resident set since the last reset (VmHWM), or None if unknown."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# ------------------------------------------------------------------------------- peak FLOP/s
class Peaks:
    """A large matmul and a large 3×3 conv per precision, compiled once, timed next to the step.

    The machine is shared and its speed drifts by 2-3× within minutes: other processes only ever
    slow a measurement down. So the peak is the best of many calls spread over the whole run
    (`measure_stage` calls `measure` after every timed train call), and it is compared with the
    best timed call of the train step: both are the least-disturbed measurements.
    """

    def __init__(self, precisions, size, conv_batch):
        self.size, self.conv_batch = size, conv_batch
        self.flops = {"matmul": 2 * size**3, "conv": 2 * conv_batch * 64 * 64 * 9 * 256 * 256}
        self.kernels = {}
        self.history = collections.defaultdict(list)
        matmul = tf.function(lambda a: tf.reduce_sum(tf.cast(tf.matmul(a, a), tf.float32)))
        conv = tf.function(
            lambda x, k: tf.reduce_sum(tf.cast(tf.nn.conv2d(x, k, 1, "SAME"), tf.float32))
        )
        for prec in precisions:
            dtype = tf.dtypes.as_dtype(prec)
            a = tf.cast(tf.random.normal([size, size]), dtype)
            x = tf.cast(tf.random.normal([conv_batch, 64, 64, 256]), dtype)
            k = tf.cast(tf.random.normal([3, 3, 256, 256]), dtype)
            self.kernels[prec] = {"matmul": (matmul, (a,)), "conv": (conv, (x, k))}
            for fn, args in self.kernels[prec].values():
                fn(*args).numpy()

    def measure(self, prec):
        """{"matmul": FLOP/s, "conv": FLOP/s} of one call of each kernel in `prec`."""
        out = {}
        for kind, (fn, args) in self.kernels[prec].items():
            t, cpu = time.perf_counter(), time.process_time()
            fn(*args).numpy()
            wall = time.perf_counter() - t
            out[kind] = self.flops[kind] / wall
            self.history[prec, kind].append(
                (out[kind], (time.process_time() - cpu) / (wall * os.cpu_count()))
            )
        return out

    def best(self, prec, kind):
        """(FLOP/s, share of the cores used) of the fastest call."""
        return max(self.history[prec, kind])

    def best_per_cpu_second(self, prec, kind):
        """FLOPs per second of CPU time this process used, best call: unlike FLOP/s, it does not
        drop when other processes take cores."""
        return max(rate / (share * os.cpu_count()) for rate, share in self.history[prec, kind])

    def describe(self, kind):
        n = self.size
        return (
            f"{n}x{n} @ {n}x{n} matmul"
            if kind == "matmul"
            else f"3x3 conv {self.conv_batch}x64x64x256 -> 256"
        )


# ------------------------------------------------------------------------------- the train step
def input_seconds(iterator, batches):
    """Seconds per batch of the input pipeline alone, pulled inside a tf.function like the step."""

    @tf.function
    def pull(n):
        total = tf.constant(0.0)
        for _ in tf.range(n):
            total += tf.reduce_mean(next(iterator))
        return total

    pull(tf.constant(batches)).numpy()
    t = time.perf_counter()
    pull(tf.constant(batches)).numpy()
    return (time.perf_counter() - t) / batches


class StageRun:
    """One stage's StageTrainer in one precision (with or without XLA), on in-memory data,
    traced and compiled. `prec` names the variant ("float32", "float32+xla"), `dtype` its
    precision alone (the peak kernels')."""

    def __init__(self, config, strategy, stage, steps):
        keras.utils.set_random_seed(stage.index)
        images_seen = tf.Variable(int(stage.start_kimg * 1000), dtype=tf.int64)
        rng = tf.random.Generator.from_seed(stage.index)
        self.stage, self.steps, self.dtype = stage, steps, config.mixed_precision
        self.prec = variant_name(
            config.mixed_precision, config.jit_compile, config.network.conv_gradients
        )
        self.trainer = StageTrainer(config, strategy, stage, images_seen, rng)
        batch, res = self.trainer.global_batch, stage.resolution
        images = np.random.default_rng(stage.index).uniform(
            -1, 1, (4 * batch, res, res, config.network.num_channels)
        )
        # drop_remainder gives the batch a static size, as every step sees a full batch anyway
        ds = (
            tf.data.Dataset.from_tensor_slices(images.astype(np.float32))
            .repeat()
            .batch(batch, drop_remainder=True)
        )
        self.iterator = iter(ds.prefetch(tf.data.AUTOTUNE))
        t = time.perf_counter()
        self.concrete = self.trainer.run_steps.get_concrete_function(
            self.iterator, tf.constant(steps)
        )
        self.trace_s = time.perf_counter() - t
        self.first_s = self.call(steps)[0]
        self.call(steps)
        self.times, self.cpu_shares = [], []
        self.op_times = None

    def call(self, steps):
        """Wall seconds of one run_steps call of `steps` steps (stats read back), and the share of
        the machine's cores this process used meanwhile (below 1: other processes took the rest)."""
        t, cpu = time.perf_counter(), time.process_time()
        self.trainer.run_steps(self.iterator, tf.constant(steps)).numpy()
        wall = time.perf_counter() - t
        return wall, (time.process_time() - cpu) / (wall * os.cpu_count())

    def overhead(self, reps):
        """Median over `reps` pairs of t(1-step call) - t(steps-step call) / steps: the fixed cost
        of a call (Python dispatch, loop set-up, reading the stats back), not of the steps."""
        pairs = []
        for _ in range(reps):
            many = self.call(self.steps)[0]
            pairs.append(self.call(1)[0] - many / self.steps)
        return statistics.median(pairs)

    def result(self, overhead_s=None):
        body = step_graph(self.concrete)
        count = count_flops(body)
        times, steps, batch = self.times, self.steps, self.trainer.global_batch
        return {
            "res": self.stage.resolution,
            "fade": self.stage.fade_in,
            "prec": self.prec,
            "dtype": self.dtype,
            "batch": batch,
            "steps": steps,
            "trace_s": self.trace_s,
            "compile_s": self.trace_s + self.first_s - statistics.median(times),
            "best_s": min(times) / steps,
            "median_s": statistics.median(times) / steps,
            "spread": (max(times) - min(times)) / min(times),
            "cpu_share": self.cpu_shares[times.index(min(times))],
            "best_cpu_s": min(t * c * os.cpu_count() for t, c in zip(times, self.cpu_shares))
            / steps,
            "img_s": batch * steps / min(times),
            "median_img_s": batch * steps / statistics.median(times),
            "overhead_s": overhead_s,
            "input_s": input_seconds(self.iterator, 4 * steps),
            "flops": count.total,
            "count": count,
            "profiler": profiler_flops(body),
            "profiler_outer": sum(profiler_flops(self.concrete.graph).values()),
            "traces": self.trainer.run_steps.experimental_get_tracing_count(),
            "op_times": self.op_times,
        }


def variant_name(precision, jit_compile, conv_gradients=True):
    """A timed variant's name in the tables: the precision, "+xla" when the step is XLA-compiled,
    "+tf_grads" when the convolutions are differentiated by TF's gradient kernels."""
    return precision + ("+xla" if jit_compile else "") + ("" if conv_gradients else "+tf_grads")


def measure_stage(
    config, strategy, stage, variants, steps, calls, peaks, overhead_reps=0, profile=False
):
    """Times one stage in every variant (precision, jit_compile, conv_gradients), the variants'
    calls interleaved.

    Interleaving (fp32 call, peak kernels, bf16 call, peak kernels, ...) makes every variant and
    the peak kernels see the same load, so their ratios hold even while the machine's speed drifts.
    With `profile`, one more call per variant runs under the TF profiler (not timed).
    """
    gc.collect()
    exact_rss = reset_peak_rss()
    runs = [
        StageRun(
            dataclasses.replace(
                config,
                mixed_precision=p,
                jit_compile=j,
                network=dataclasses.replace(config.network, conv_gradients=g),
            ),
            strategy,
            stage,
            steps,
        )
        for p, j, g in variants
    ]
    for _ in range(calls):
        for run in runs:
            wall, share = run.call(steps)
            run.times.append(wall)
            run.cpu_shares.append(share)
            peaks.measure(run.dtype)
    rss = peak_rss_bytes() if exact_rss else None
    for run in runs if profile else ():
        run.op_times = profile_op_times(lambda run=run: run.call(steps))
    rows = [run.result(run.overhead(overhead_reps) if overhead_reps else None) for run in runs]
    for row in rows:
        row["peak_rss"] = rss  # of all precisions of the stage together
    return rows


def measure_plan(config, strategy, plan, variants, steps, calls, peaks, overhead_reps, profile):
    """`measure_stage` for every stage of `plan` (the fixed cost of a call measured in the first
    only), a line per stage as it is timed; the rows sorted by precision, resolution, fade last."""
    rows = []
    for i, stage in enumerate(plan):
        done = measure_stage(
            config,
            strategy,
            stage,
            variants,
            steps,
            calls,
            peaks,
            overhead_reps * (i == 0),
            profile,
        )
        rows += done
        print(
            f"  timed {stage.name}: "
            + ", ".join(f"{r['prec']} {r['img_s']:.1f} img/s" for r in done),
            flush=True,
        )
    names = [variant_name(*v) for v in variants]
    rows.sort(key=lambda r: (names.index(r["prec"]), r["res"], not r["fade"]))
    return rows
