"""What benchmarks/train_step.py prints: the peaks, the per-stage table and its legend, where the
step's time goes per op kind, the bfloat16 / float32 ratios, what the FLOP count counts, the fixed
cost of a call, the summary of an --isolate run, and the schedule's estimated time.

Every function prints rows made by step_timing.py (one dict per stage and precision); none times
anything.
"""

import collections
import os
import statistics
import sys

from pgan_tf.training.schedule import stages

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # benchmarks/flops.py, run or loaded
# isort: split
from flops import CONV_OPS, MATMUL_OPS  # noqa: E402

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


def print_peaks(peaks):
    """The peak kernels' GFLOP/s over the run, and a warning when no call had the cores."""
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


def print_table(rows, peaks):
    head = (
        f"{'res':>7} {'prec':11} {'batch':>5} {'trace_s':>7} {'compile_s':>9} {'step_ms':>8} "
        f"{'cpu%':>4} {'med_ms':>7} {'spread%':>7} {'input_ms':>8} {'img/s':>7} "
        f"{'GFLOP/step':>10} {'GFLOP/s':>7} {'%matmul_peak':>12} "
        f"{'%conv_peak':>10} {'%conv_cpu':>9} {'peak_GB':>7}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        rate = r["flops"] / r["best_s"]
        name = f"{r['res']}{'-fade' if r['fade'] else ''}"
        conv_peak = peaks.best_per_cpu_second(r["dtype"], "conv")
        conv_cpu = 100 * r["flops"] / r["best_cpu_s"] / conv_peak
        print(
            f"{name:>7} {r['prec']:11} {r['batch']:5d} {r['trace_s']:7.1f} {r['compile_s']:9.1f} "
            f"{1e3 * r['best_s']:8.1f} {100 * r['cpu_share']:4.0f} {1e3 * r['median_s']:7.1f} "
            f"{100 * r['spread']:7.0f} "
            f"{1e3 * r['input_s']:8.2f} "
            f"{r['img_s']:7.1f} {r['flops'] / 1e9:10.2f} {rate / 1e9:7.1f} "
            f"{100 * rate / peaks.best(r['dtype'], 'matmul')[0]:12.1f} "
            f"{100 * rate / peaks.best(r['dtype'], 'conv')[0]:10.1f} "
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


def _print_switch_ratios(rows, tag, title, tagged_on_top):
    """Images/s ratio of every stage timed with and without a variant tag ("+xla", "+tf_grads"):
    the tagged variant over its untagged twin (or the inverse), same stage, same run."""
    by = {(r["res"], r["fade"], r["prec"]): r for r in rows}
    pairs = []
    for (res, fade, prec), tagged in by.items():
        other = by.get((res, fade, prec.replace(tag, ""))) if tag in prec else None
        if other:
            top, bottom = (tagged, other) if tagged_on_top else (other, tagged)
            pairs.append(((res, fade, other["prec"]), top, bottom))
    if not pairs:
        return
    print(f"\n{title} (same stage and precision, same run, calls interleaved):")
    for (res, fade, label), top, bottom in sorted(pairs, key=lambda p: p[0]):
        name = f"{res}{'-fade' if fade else ''}"
        print(
            f"  {name:>7} {label}: {top['img_s'] / bottom['img_s']:.2f}x images/s at the "
            f"best calls, {top['median_img_s'] / bottom['median_img_s']:.2f}x at the medians; "
            f"compile {top['compile_s']:.1f} s vs {bottom['compile_s']:.1f} s"
        )


def print_xla_ratios(rows):
    """XLA / no XLA images/s of every stage timed both ways (--jit_compile=both)."""
    _print_switch_ratios(rows, "+xla", "XLA / no XLA speed", tagged_on_top=True)


def print_conv_gradient_ratios(rows):
    """Forward-convolution gradients / TF's gradient kernels, images/s of every stage timed both
    ways (--conv_gradients=both)."""
    _print_switch_ratios(
        rows,
        "+tf_grads",
        "Convolution gradients as convolutions / TF's gradient kernels",
        tagged_on_top=False,
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
        if "+xla" in r["prec"]:  # the body calls the compiled step as one function
            check = "profiler: does not look inside the XLA-compiled step"
        else:
            check = (
                f"profiler agrees: {'yes' if c.in_graph() == prof_mm else 'NO'}, element-wise "
                f"+{other / 1e9:.3f} GFLOP ({100 * other / max(r['flops'], 1):.1f}%)"
            )
        print(
            f"  {name:>16}: {parts}; pruned {pruned / 1e9:.2f} "
            f"({100 * pruned / (pruned + r['flops']):.0f}%); {check}"
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
        f"{'res':>7} {'prec':11} "
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
            f"{name:>7} {r['prec']:11} "
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


def print_tracing(rows):
    """Whether every stage's run_steps was traced once (a retrace would be timed as a step)."""
    retraced = [r for r in rows if r["traces"] != 1]
    print(
        (
            "\nTracing: run_steps traced exactly once per stage "
            "(get_concrete_function, then every call reused it)"
        )
        if not retraced
        else f"\nTracing: RETRACED in {[(r['res'], r['prec'], r['traces']) for r in retraced]}"
    )


def print_report(rows, peaks):
    """Everything an in-process run prints after timing, up to the estimate."""
    print_peaks(peaks)
    print("\n" + LEGEND)
    print_table(rows, peaks)
    print_op_table(rows)
    print_ratios(rows)
    print_xla_ratios(rows)
    print_conv_gradient_ratios(rows)
    print_flop_notes(rows)
    print(
        "\nFixed cost of a run_steps call (Python dispatch, loop set-up, reading the stats back):"
    )
    print_overhead(rows)
    print_tracing(rows)


def print_summary(config_name, rows, failed):
    """The table of an --isolate run: the summary rows of every child process, then the
    resolutions whose child failed ((resolution, exit code) pairs)."""
    print(
        f"\n===== Summary, config {config_name} (every resolution timed in its own process) ====="
    )
    print(
        f"{'res':>7} {'prec':11} {'batch':>5} {'compile_s':>9} {'step_s':>8} {'cpu%':>4} "
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
            f"{name:>7} {r['prec']:11} {r['batch']:5d} {compile_s:9.1f} {r['best_s']:8.2f} "
            f"{100 * r['cpu_share']:4.0f} {r['img_s']:8.2f} {r['flops'] / 1e9:10.1f} "
            f"{100 * r['flops'] / r['best_cpu_s'] / r['conv_per_cpu_s']:9.1f} {rss:7.2f}"
        )
    for res, code in failed:
        why = ": killed, out of memory?" if code in (-9, 137) else ""
        print(f"  {res}x{res}: the child process failed (exit code {code}{why})")
