"""Images/s of the compiled train step per resolution and precision, and its FLOP/s vs a peak.

For each resolution of a stated configuration (the stable stage, and with --fade the fade-in
stage too) this builds the real `StageTrainer` in every precision, traces and compiles its
`run_steps` `tf.function` (reported separately), then times calls of `run_steps` that run --steps
D+G steps each (WGAN-GP with the gradient penalty's double backprop, drift, Adam, generator EMA)
on an in-memory dataset, so reading images is not part of the number (benchmarks/dataset_read.py
measures that). It prints images/s (global batch × steps / seconds), the bfloat16 / float32 speed
ratio, and the achieved FLOP/s as a fraction of a large matmul's and a large 3×3 conv's FLOP/s
measured in the same run, in the same precision.

The machine is shared, and other processes only ever slow a measurement down. So the precisions'
calls and the peak kernels are interleaved (each sees the same load), the best call is the
headline number (the median is printed next to it), and every row says how much of the cores
this process got during its best call (cpu%).

FLOPs are counted from the graph that is timed, not by hand (benchmarks/flops.py): the
body of the `While` loop in `run_steps`'s concrete function is one D+G step. Every Conv2D,
Conv2DBackpropInput, Conv2DBackpropFilter, MatMul and BatchMatMul in it (and in any function it
calls) that runs is counted from its static shapes as 2·N·Ho·Wo·kh·kw·Cin·Cout (convs) or 2·M·K·N
(matmuls).
TensorFlow's graph profiler is run on the same body as a cross-check; it also counts element-wise
ops (1 FLOP per element), which are reported but left out of the FLOP/s (they are memory-bound).

    python benchmarks/train_step.py [--config=quickstart|paper-small|wide-128|wide-256|PATH.flags]
        [--resolutions=4,8,16,32] [--mixed_precision=float32,auto] [--steps=8] [--calls=4] [--fade]
        [--gpu_tflops=15.7]

quickstart: the networks, minibatches and schedule of quickstart.flags (read with the training
flags themselves, so this is the config `python -m pgan_tf.train --flagfile=quickstart.flags`
trains), and an estimate of how long its train steps take. paper-small: the same schedule with
4× the quickstart's widths (fmap_base 1024, fmap_max 128, latent 128; minibatch 16, as the
paper's low resolutions). wide-128 / wide-256: 128 / 256 feature maps at every resolution, latent
as wide, minibatch 16. Any other value is a flag file (e.g. celebahq.flags), read the same way.
"auto" in --mixed_precision is what training resolves it to on this machine
(pgan_tf.training.precision).

With --profile (default), one more call per stage and precision runs under the TF profiler, and a
table gives the share of the step's op time per op kind: convolutions, their input and filter
gradients, matmuls, other (element-wise) ops, Adam, the generator EMA, and the part of all of them
that is the gradient penalty's second-order part.

Every stage also reports its peak resident memory (the kernel's high-water mark, reset before the
stage), and the estimate adds the schedule's time on one GPU of --gpu_tflops peak, assuming it
reaches the same fraction of its peak as this CPU reaches of its own conv peak, and for a growing
schedule its time without growing (every image at the final resolution, paper §5).
"""

import pgan_tf  # noqa: F401  (quiet TF logs before TensorFlow loads)

# isort: split
import collections
import dataclasses
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from pgan_tf.core import cli
from pgan_tf.core.resolution import res_log2, resolutions_up_to
from pgan_tf.training import config as config_lib
from pgan_tf.training import distribute, precision
from pgan_tf.training.schedule import stages
from pgan_tf.training.stage import StageTrainer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # benchmarks/flops.py, run or loaded
# isort: split
from flops import (  # noqa: E402
    CONV_OPS,
    MATMUL_OPS,
    count_flops,
    profile_op_times,
    profiler_flops,
    step_graph,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {
    "quickstart": {},
    "paper-small": {"fmap_base": 1024, "fmap_max": 128, "latent_size": 128, "minibatch_base": 16},
    # The paper's networks cut to 128 / 256 feature maps at every resolution (its 1024² networks
    # have 512 up to 64²), latent as wide; minibatch 16 as the paper's low resolutions.
    "wide-128": {"fmap_base": 8192, "fmap_max": 128, "latent_size": 128, "minibatch_base": 16},
    "wide-256": {"fmap_base": 8192, "fmap_max": 256, "latent_size": 256, "minibatch_base": 16},
}


def make_parser() -> cli.ArgumentParser:
    """The benchmark's flags (absl syntax, as every command of the project)."""
    p = cli.ArgumentParser(prog="benchmarks/train_step.py", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--config",
        default="quickstart",
        help=f"Which networks and minibatches to time: {', '.join(CONFIGS)} or a flag file.",
    )
    p.add_argument(
        "--gpu_tflops",
        type=float,
        default=15.7,
        help="Peak TFLOP/s of the GPU in the estimate (15.7: a V100's float32 peak).",
    )
    p.add_list(
        "--resolutions", help="Resolutions to time (default: every resolution of the config)."
    )
    p.add_list(
        "--mixed_precision",
        default=["float32", "auto"],
        help="Compute precisions to time; auto: what training picks on this machine.",
    )
    p.add_argument(
        "--steps",
        type=cli.integer,
        default=0,
        help="D+G steps per run_steps call (default: the config's steps_per_call).",
    )
    p.add_argument(
        "--calls",
        type=cli.integer,
        default=4,
        help="Timed run_steps calls per stage (the best and the median are reported).",
    )
    p.add_bool("--fade", help="Also time the fade-in stage of every resolution above the first.")
    p.add_argument(
        "--peak_size",
        type=cli.integer,
        default=2048,
        help="Matmul peak: an [n, n] x [n, n] product.",
    )
    p.add_argument(
        "--peak_conv_batch",
        type=cli.integer,
        default=8,
        help="Conv peak: N x 64 x 64 x 256 -> 256 channels, 3x3, SAME.",
    )
    p.add_bool(
        "--isolate",
        help="Time every resolution in a process of its own (a stage's peak memory is its own, "
        "and the paper's widths need 10+ GB per stage), then print one summary and the "
        "schedule estimate.",
    )
    p.add_argument(
        "--overhead_reps",
        type=cli.integer,
        default=8,
        help="Pairs of calls measuring the fixed cost of a call (first stage only).",
    )
    p.add_argument(
        "--rows_json",
        default="",
        help="With --isolate, internal: where a child process writes its summary rows.",
    )
    p.add_bool(
        "--profile",
        default=True,
        help="Run one more call per stage and precision under the TF profiler: time per op type.",
    )
    return p


# ------------------------------------------------------------------------------- configuration
def load_config(name):
    """The TrainConfig that `pgan_tf.train --flagfile=F` builds: F is quickstart.flags with `name`'s
    overrides for a named config, else `name` is the flag file itself.

    The flag file is parsed by the training flags themselves (`config.parse_flags`), so every
    default the file leaves out is the trainer's.
    """
    if name in CONFIGS:
        path, overrides = (
            os.path.join(REPO, "quickstart.flags"),
            [f"--{k}={v}" for k, v in CONFIGS[name].items()],
        )
    elif os.path.isfile(name):
        path, overrides = name, []
    else:
        raise ValueError(
            f"--config: {name!r} is neither one of {', '.join(CONFIGS)} nor a flag file"
        )
    return config_lib.config_from_flags(config_lib.parse_flags([f"--flagfile={path}", *overrides]))


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


def describe(config):
    net, sch = config.network, config.schedule
    widths = ", ".join(
        f"{res}:{net.nf(res_log2(res) - 1)}" for res in resolutions_up_to(sch.resolution)
    )
    return (
        f"fmap_base {net.fmap_base}, fmap_max {net.fmap_max}, latent {net.latent_size}, "
        f"mbstd group {net.mbstd_group_size}, feature maps per resolution {{{widths}}}, "
        f"loss {config.loss}, minibatch base {sch.minibatch_base}"
        + (f" dict {dict(sch.minibatch_dict)}" if sch.minibatch_dict else "")
    )


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
    """One stage's StageTrainer in one precision, on in-memory data, traced and compiled."""

    def __init__(self, config, strategy, stage, steps):
        keras.utils.set_random_seed(stage.index)
        images_seen = tf.Variable(int(stage.start_kimg * 1000), dtype=tf.int64)
        rng = tf.random.Generator.from_seed(stage.index)
        self.stage, self.steps, self.prec = stage, steps, config.mixed_precision
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


def measure_stage(
    config, strategy, stage, precisions, steps, calls, peaks, overhead_reps=0, profile=False
):
    """Times one stage in every precision, the precisions' calls interleaved.

    Interleaving (fp32 call, peak kernels, bf16 call, peak kernels, ...) makes every precision and
    the peak kernels see the same load, so their ratios hold even while the machine's speed drifts.
    With `profile`, one more call per precision runs under the TF profiler (not timed).
    """
    gc.collect()
    exact_rss = reset_peak_rss()
    runs = [
        StageRun(dataclasses.replace(config, mixed_precision=p), strategy, stage, steps)
        for p in precisions
    ]
    for _ in range(calls):
        for run in runs:
            wall, share = run.call(steps)
            run.times.append(wall)
            run.cpu_shares.append(share)
            peaks.measure(run.prec)
    rss = peak_rss_bytes() if exact_rss else None
    for run in runs if profile else ():
        run.op_times = profile_op_times(lambda run=run: run.call(steps))
    rows = [run.result(run.overhead(overhead_reps) if overhead_reps else None) for run in runs]
    for row in rows:
        row["peak_rss"] = rss  # of all precisions of the stage together
    return rows


# ------------------------------------------------------------------------------- report
def print_table(rows, peaks):
    head = (
        f"{'res':>7} {'prec':9} {'batch':>5} {'trace_s':>7} {'compile_s':>9} {'step_ms':>8} "
        f"{'cpu%':>4} {'med_ms':>7} {'spread%':>7} {'input_ms':>8} {'img/s':>7} "
        f"{'GFLOP/step':>10} {'GFLOP/s':>7} {'%matmul_peak':>12} "
        f"{'%conv_peak':>10} {'%conv_cpu':>9} {'peak_GB':>7}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        rate = r["flops"] / r["best_s"]
        name = f"{r['res']}{'-fade' if r['fade'] else ''}"
        conv_cpu = 100 * r["flops"] / r["best_cpu_s"] / peaks.best_per_cpu_second(r["prec"], "conv")
        print(
            f"{name:>7} {r['prec']:9} {r['batch']:5d} {r['trace_s']:7.1f} {r['compile_s']:9.1f} "
            f"{1e3 * r['best_s']:8.1f} {100 * r['cpu_share']:4.0f} {1e3 * r['median_s']:7.1f} "
            f"{100 * r['spread']:7.0f} "
            f"{1e3 * r['input_s']:8.2f} "
            f"{r['img_s']:7.1f} {r['flops'] / 1e9:10.2f} {rate / 1e9:7.1f} "
            f"{100 * rate / peaks.best(r['prec'], 'matmul')[0]:12.1f} "
            f"{100 * rate / peaks.best(r['prec'], 'conv')[0]:10.1f} "
            f"{conv_cpu:9.1f} "
            f"{r['peak_rss'] / 2**30 if r.get('peak_rss') else float('nan'):7.2f}"
        )


def print_ratios(rows):
    by = {(r["res"], r["fade"], r["prec"]): r for r in rows}
    pairs = [(k[:2], by[k], by.get(k[:2] + ("float32",))) for k in by if k[2] == "bfloat16"]
    pairs = [(k, bf, fp) for k, bf, fp in pairs if fp]
    if not pairs:
        return
    print("\nbfloat16 / float32 speed (same stage, same run):")
    for (res, fade), bf, fp in sorted(pairs):
        name = f"{res}{'-fade' if fade else ''}"
        share = bf["count"].by_dtype["bfloat16"] / max(bf["flops"], 1)
        print(
            f"  {name:>7}: {bf['img_s'] / fp['img_s']:.2f}x images/s at the best calls, "
            f"{bf['median_img_s'] / fp['median_img_s']:.2f}x at the medians "
            f"({100 * share:.0f}% of the bf16 step's conv/matmul FLOPs run in bfloat16)"
        )


def print_flop_notes(rows):
    print(
        "\nWhat GFLOP/step counts: the conv/matmul ops of one D+G step that run (the While body of "
        "run_steps' concrete function, pruned ops left out), by op type; the profiler "
        "(tf.compat.v1.profiler float_operation) on the same body must see the same conv/matmul "
        "ops "
        "(pruned included), and adds element-wise ops and reductions:"
    )
    for r in rows:
        c, prof = r["count"], r["profiler"]
        prof_mm = collections.Counter({t: prof[t] for t in CONV_OPS + MATMUL_OPS if prof[t]})
        other = sum(prof.values()) - sum(prof_mm.values())
        pruned = sum(c.pruned.values())
        name = f"{r['res']}{'-fade' if r['fade'] else ''} {r['prec']}"
        parts = ", ".join(
            f"{t.replace('Conv2DBackprop', 'Bp')} {v / 1e9:.2f}"
            for t, v in sorted(c.by_type.items())
        )
        print(
            f"  {name:>16}: {parts}; pruned {pruned / 1e9:.2f} "
            f"({100 * pruned / (pruned + r['flops']):.0f}%); "
            f"profiler agrees: {'yes' if c.in_graph() == prof_mm else 'NO'}, "
            f"element-wise +{other / 1e9:.3f} GFLOP ({100 * other / max(r['flops'], 1):.1f}%)"
        )
    outer = max(r["profiler_outer"] for r in rows)
    print(
        f"  The profiler on run_steps' own graph finds at most {outer:.0f} FLOPs "
        "(loop-counter arithmetic): it does not look "
        "inside the While loop's body, so it must be given the body graph."
    )


OP_COLUMNS = (
    ("conv", "conv"),
    ("bp_in", "conv_bp_input"),
    ("bp_filt", "conv_bp_filter"),
    ("matmul", "matmul"),
    ("elemwise", "elementwise"),
    ("adam", "optimizer"),
    ("ema", "ema"),
    ("input", "input"),
)


def print_op_table(rows):
    """Share of the step's op time per op kind, from the TF profiler (one call per row)."""
    rows = [r for r in rows if r.get("op_times")]
    if not rows:
        return
    print(
        "\nWhere the step's time goes (TF profiler, one call of the compiled step; "
        "% of the time the executed ops "
        "took, summed over the threads that ran them):"
    )
    head = (
        f"{'res':>7} {'prec':9} "
        + " ".join(f"{h:>8}" for h, _ in OP_COLUMNS)
        + f" {'GP2nd':>6} {'(conv)':>6} {'op_ms':>7} {'ops/wall':>8}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        t, steps = r["op_times"], r["steps"]
        second = sum(t.second_order.values())
        second_conv = sum(t.second_order[k] for k in ("conv", "conv_bp_input", "conv_bp_filter"))
        name = f"{r['res']}{'-fade' if r['fade'] else ''}"
        print(
            f"{name:>7} {r['prec']:9} "
            + " ".join(f"{100 * t.share(k):8.1f}" for _, k in OP_COLUMNS)
            + f" {100 * second / t.total:6.1f} {100 * second_conv / t.total:6.1f}"
            + f" {1e3 * t.total / steps:7.0f} {t.total / t.wall_s:8.2f}"
        )
    print(
        "  conv / bp_in / bp_filt: 3x3 and 1x1 convolutions (with any bias / activation oneDNN "
        "fused into them) and their input and filter gradients; elemwise: every other op of the "
        "networks and losses (bias, activations, pixel norm, casts, reductions, resampling); "
        "adam: the optimizers' updates; ema: the generator average; input: reading the batch, "
        "random numbers. GP2nd: the gradient penalty's second-order part (gradients of its input "
        "gradient), a part of the columns before it, of which (conv) in convolutions. op_ms: op "
        "time per step; ops/wall: op time / wall time of the call (above 1: ops ran side by side)."
    )


def format_duration(seconds):
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def print_estimate(config, rows, gpu_tflops):
    """How long the schedule's train steps take at the measured speeds (compile included), and on
    one GPU of `gpu_tflops` peak that reaches the same fraction of its peak (MFU) per stage as this
    CPU reaches of its own best 3×3-conv FLOP/s (per CPU-second, %conv_cpu: independent of the
    load)."""
    total = config.schedule.total_kimg
    plan = [s for s in stages(config.schedule) if s.start_kimg < total]
    for prec in sorted({r["prec"] for r in rows}):
        by = {(r["res"], r["fade"]): r for r in rows if r["prec"] == prec}
        if any((s.resolution, False) not in by for s in plan):
            print(f"  {prec}: not every resolution of the schedule was timed")
            continue
        median_s = best_s = compile_s = gpu_s = 0.0
        proxies = 0
        for s in plan:
            r = by.get((s.resolution, s.fade_in)) or by[s.resolution, False]
            proxies += s.fade_in and (s.resolution, True) not in by
            images = (min(s.end_kimg, total) - s.start_kimg) * 1000
            median_s += images / r["median_img_s"]
            best_s += images / r["img_s"]
            compile_s += r["compile_s"]
            mfu = r["flops"] / r["best_cpu_s"] / r["conv_per_cpu_s"]
            gpu_s += images * (r["flops"] / r["batch"]) / (gpu_tflops * 1e12 * mfu)
        note = f"; the {proxies} fade stages timed as their stable stage" if proxies else ""
        print(
            f"  {prec:9}: {format_duration(median_s)} of train steps here at the median speeds "
            f"({format_duration(best_s)} at the best) + {compile_s:.0f} s compiling "
            f"{len(plan)} stages, "
            f"for {total:g} kimg{note}"
        )
        print(
            f"  {'':9}  on one GPU of {gpu_tflops:g} TFLOP/s peak "
            "at this machine's per-stage %conv_cpu: "
            f"{format_duration(gpu_s)} of train steps"
        )
        if config.schedule.growing and len(plan) > 1:
            res = config.schedule.resolution
            flat_s = total * 1000 / by[res, False]["median_img_s"]
            print(
                f"  {'':9}  without growing (all {total:g} kimg at {res}², --nogrowing): "
                f"{format_duration(flat_s)} at the median speed; growing takes "
                f"{median_s / flat_s:.2f}x of that (paper §5: the speed-up of growing)"
            )


LEGEND = """\
  trace_s     tracing run_steps to a graph (Python)
  compile_s   trace + first call - a median call: tracing plus graph optimization and kernel set-up
  step_ms     best timed call / steps per call (the least-disturbed call; the machine is shared)
  cpu%        share of the machine's cores this process used during that call (100: nothing else ran)
  med_ms      median timed call / steps per call; spread% = (slowest - fastest) / fastest call
  input_ms    one batch from the in-memory tf.data pipeline alone, pulled in a tf.function loop
  img/s       global batch / step_ms
  GFLOP/step  conv + matmul FLOPs of one D+G step that run (see below)
  %peak       the step's GFLOP/s / the best matmul or conv GFLOP/s of the same precision in this run
  %conv_cpu   the same against the conv, per second of CPU time used instead of per wall second:
              still meaningful when cpu% is well below 100 (the machine is shared)
  peak_GB     peak resident memory of the process while the stage was built, traced and timed
              (the kernel's high-water mark, reset before the stage; all precisions of the stage)
"""  # noqa: E501  (printed as written: one row is 101 characters)


def print_overhead(rows):
    for r in rows:
        if r["overhead_s"] is None:
            continue
        call_s = r["median_s"] * r["steps"]
        name = f"{r['res']}x{r['res']}{'-fade' if r['fade'] else ''} {r['prec']}"
        how = f"1-step call - {r['steps']}-step call / {r['steps']}, median of 8 pairs"
        if r["overhead_s"] <= 0:
            print(f"  {name}: below the timing noise ({1e3 * r['overhead_s']:.1f} ms; {how})")
            continue
        print(
            f"  {name}: {1e3 * r['overhead_s']:.1f} ms per run_steps call ({how}) = "
            f"{100 * r['overhead_s'] / call_s:.1f}% of a {r['steps']}-step call at this resolution"
        )


def resolve_precisions(names):
    """The concrete precisions to time, in order and without repeats ("auto": as training resolves
    it on this machine), each printed with the reason."""
    out = []
    for name in names:
        choice = precision.resolve(name)
        print(f"--mixed_precision={name}: {choice.precision} ({choice.reason})")
        if choice.warning:
            print(f"  WARNING: {choice.warning}")
        if choice.precision not in out:
            out.append(choice.precision)
    return out


def main(argv: list[str] | None = None) -> int:
    flags = make_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        config = load_config(flags.config)
    except ValueError as e:
        return cli.fail(e, cli.USAGE)
    # The only TF warnings here are expected: the FLOP profiler's deprecated v1 API and one
    # input-pipeline trace per stage run. They would split the table; errors still show.
    tf.get_logger().setLevel("ERROR")
    strategy = distribute.make_strategy(config.distribute)
    steps = flags.steps or config.steps_per_call
    resolutions = [int(r) for r in flags.resolutions] or sorted(
        {s.resolution for s in stages(config.schedule)}
    )
    plan = [
        s
        for s in stages(config.schedule)
        if s.resolution in resolutions and (flags.fade or not s.fade_in)
    ]
    print(f"Train step benchmark, config {flags.config}: {describe(config)}")
    precisions = resolve_precisions(flags.mixed_precision)
    print(
        f"{strategy.num_replicas_in_sync} replica(s) ({type(strategy).__name__}), "
        f"{os.cpu_count()} CPU cores, TensorFlow {tf.__version__}, Keras {keras.__version__}; "
        f"{steps} steps per run_steps call, {flags.calls} timed calls per stage; in-memory data"
    )
    if flags.isolate:
        run_isolated(flags, config, plan, steps)
        return cli.OK
    peaks = Peaks(precisions, flags.peak_size, flags.peak_conv_batch)
    rows = []
    for i, stage in enumerate(plan):
        done = measure_stage(
            config,
            strategy,
            stage,
            precisions,
            steps,
            flags.calls,
            peaks,
            flags.overhead_reps * (i == 0),
            flags.profile,
        )
        rows += done
        print(
            f"  timed {stage.name}: "
            + ", ".join(f"{r['prec']} {r['img_s']:.1f} img/s" for r in done),
            flush=True,
        )
    rows.sort(key=lambda r: (precisions.index(r["prec"]), r["res"], not r["fade"]))

    print(
        "\nPeaks, one call of each after every timed train call "
        "(GFLOP/s: min / median / best, cpu% of the best):"
    )
    for (prec, kind), history in peaks.history.items():
        rates = [rate for rate, _ in history]
        best, share = max(history)
        print(
            f"  {prec:9} {peaks.describe(kind):34}: {min(rates) / 1e9:6.1f} / "
            f"{statistics.median(rates) / 1e9:6.1f} / {best / 1e9:6.1f}   cpu {100 * share:.0f}%"
        )
    if any(max(history)[1] < 0.9 for history in peaks.history.values()):
        print(
            "  WARNING: other processes held cores during every peak call (cpu% < 90), "
            "so the peaks are low and %matmul_peak / %conv_peak overstate; "
            "%conv_cpu (per CPU-second) does not depend on the load."
        )
    print("\n" + LEGEND)
    print_table(rows, peaks)
    print_op_table(rows)
    print_ratios(rows)
    print_flop_notes(rows)
    print(
        "\nFixed cost of a run_steps call (Python dispatch, loop set-up, reading the stats back):"
    )
    print_overhead(rows)
    retraced = [r for r in rows if r["traces"] != 1]
    print(
        (
            "\nTracing: run_steps traced exactly once per stage "
            "(get_concrete_function, then every call reused it)"
        )
        if not retraced
        else f"\nTracing: RETRACED in {[(r['res'], r['prec'], r['traces']) for r in retraced]}"
    )
    for r in rows:
        r["conv_per_cpu_s"] = peaks.best_per_cpu_second(r["prec"], "conv")
    if flags.rows_json:
        write_summary_rows(flags.rows_json, rows)
    print(f"\nEstimated train-step time of the {flags.config} schedule at these speeds:")
    print_estimate(config, rows, flags.gpu_tflops)
    return cli.OK


SUMMARY_KEYS = (
    "res",
    "fade",
    "prec",
    "batch",
    "steps",
    "trace_s",
    "compile_s",
    "best_s",
    "median_s",
    "best_cpu_s",
    "cpu_share",
    "img_s",
    "median_img_s",
    "flops",
    "peak_rss",
    "conv_per_cpu_s",
    "traces",
)


def write_summary_rows(path, rows):
    with open(path, "w") as f:
        json.dump([{k: r.get(k) for k in SUMMARY_KEYS} for r in rows], f)


def run_isolated(flags, config, plan, steps):
    """Each resolution of `plan` timed by a child process of this script; one summary after."""
    rows, failed = [], []
    resolutions = sorted({s.resolution for s in plan})
    for i, res in enumerate(resolutions):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "rows.json")
            cmd = [
                sys.executable,
                os.path.abspath(__file__),
                f"--config={flags.config}",
                f"--resolutions={res}",
                f"--mixed_precision={','.join(flags.mixed_precision)}",
                f"--steps={steps}",
                f"--calls={flags.calls}",
                f"--peak_size={flags.peak_size}",
                f"--peak_conv_batch={flags.peak_conv_batch}",
                f"--overhead_reps={flags.overhead_reps if i == 0 else 0}",
                f"--gpu_tflops={flags.gpu_tflops}",
                "--profile" if flags.profile else "--noprofile",
                "--fade" if flags.fade else "--nofade",
                f"--rows_json={out}",
            ]
            print(f"\n===== {res}x{res} in its own process =====", flush=True)
            code = subprocess.call(cmd)
            if code != 0 or not os.path.exists(out):
                failed.append((res, code))
                continue
            with open(out) as f:
                rows += json.load(f)
    print(
        f"\n===== Summary, config {flags.config} (every resolution timed in its own process) ====="
    )
    print(
        f"{'res':>7} {'prec':9} {'batch':>5} {'compile_s':>9} {'step_s':>8} {'cpu%':>4} "
        f"{'img/s':>8} "
        f"{'GFLOP/step':>10} {'%conv_cpu':>9} {'peak_GB':>7}"
    )
    for r in rows:
        name = f"{r['res']}{'-fade' if r['fade'] else ''}"
        rss = r["peak_rss"] / 2**30 if r["peak_rss"] else float("nan")
        compile_s = max(
            r["compile_s"], r["trace_s"]
        )  # with one timed call, noise can make it < tracing
        print(
            f"{name:>7} {r['prec']:9} {r['batch']:5d} {compile_s:9.1f} {r['best_s']:8.2f} "
            f"{100 * r['cpu_share']:4.0f} {r['img_s']:8.2f} {r['flops'] / 1e9:10.1f} "
            f"{100 * r['flops'] / r['best_cpu_s'] / r['conv_per_cpu_s']:9.1f} {rss:7.2f}"
        )
    for res, code in failed:
        why = ": killed, out of memory?" if code in (-9, 137) else ""
        print(f"  {res}x{res}: the child process failed (exit code {code}{why})")
    print(f"\nEstimated train-step time of the {flags.config} schedule at these speeds:")
    print_estimate(config, rows, flags.gpu_tflops)


if __name__ == "__main__":
    sys.exit(main())
