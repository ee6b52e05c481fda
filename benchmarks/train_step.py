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
        [--jit_compile=config|on|off|both] [--conv_gradients=config|on|off|both]
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

This command holds the flags, the configurations and the run (in this process, or with --isolate
one child process per resolution); step_timing.py measures, step_report.py prints, flops.py counts
the FLOPs and the op times.
"""

import pgan_tf  # noqa: F401  (quiet TF logs before TensorFlow loads)

# isort: split
import json
import os
import subprocess
import sys
import tempfile

import keras
import tensorflow as tf

from pgan_tf.core import cli
from pgan_tf.core.resolution import res_log2, resolutions_up_to
from pgan_tf.training import config as config_lib
from pgan_tf.training import distribute, precision
from pgan_tf.training.schedule import stages

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the modules below, run or loaded
# isort: split
from step_report import print_estimate, print_report, print_summary  # noqa: E402
from step_timing import Peaks, measure_plan  # noqa: E402

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
    for name, what in (
        ("jit_compile", "XLA for the step (+xla)"),
        ("conv_gradients", "3x3 convolution gradients as convolutions (off: TF's, +tf_grads)"),
    ):
        p.add_argument(
            f"--{name}",
            default="config",
            choices=("config", "on", "off", "both"),
            help=f"{what}: as the config says, on, off, or both (interleaved, with the ratio "
            "per stage).",
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
        help="Time every resolution in a process of its own (its peak memory its own: the "
        "paper's widths need 10+ GB per stage), then one summary and the schedule estimate.",
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


def switch_settings(choice, configured):
    """The values of a boolean setting to time for --jit_compile / --conv_gradients=`choice`."""
    return {"config": [configured], "on": [True], "off": [False], "both": [False, True]}[choice]


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
    else:
        run_here(flags, config, strategy, plan, precisions, steps)
    return cli.OK


def run_here(flags, config, strategy, plan, precisions, steps):
    """Times every stage of `plan` in this process, then prints the report and the estimate."""
    peaks = Peaks(precisions, flags.peak_size, flags.peak_conv_batch)
    variants = [
        (p, j, g)
        for p in precisions
        for j in switch_settings(flags.jit_compile, config.jit_compile)
        for g in switch_settings(flags.conv_gradients, config.network.conv_gradients)
    ]
    rows = measure_plan(
        config,
        strategy,
        plan,
        variants,
        steps,
        flags.calls,
        peaks,
        flags.overhead_reps,
        flags.profile,
    )
    print_report(rows, peaks)
    for r in rows:
        r["conv_per_cpu_s"] = peaks.best_per_cpu_second(r["dtype"], "conv")
    if flags.rows_json:
        write_summary_rows(flags.rows_json, rows)
    print(f"\nEstimated train-step time of the {flags.config} schedule at these speeds:")
    print_estimate(config, rows, flags.gpu_tflops)


SUMMARY_KEYS = (
    "res",
    "fade",
    "prec",
    "dtype",
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
                f"--jit_compile={flags.jit_compile}",
                f"--conv_gradients={flags.conv_gradients}",
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
    print_summary(flags.config, rows, failed)
    print(f"\nEstimated train-step time of the {flags.config} schedule at these speeds:")
    print_estimate(config, rows, flags.gpu_tflops)


if __name__ == "__main__":
    sys.exit(main())
