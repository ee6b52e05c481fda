"""What one compiled D+G step costs: FLOPs counted from its graph, and time per op kind.

FLOPs are counted from the graph that runs, not by hand: the body of the `While` loop in
`StageTrainer.run_steps`'s concrete function is one D+G step (`step_graph`). Every Conv2D,
Conv2DBackpropInput, Conv2DBackpropFilter, MatMul and BatchMatMul in it (and in any function it
calls) that runs is counted from its static shapes as 2·N·Ho·Wo·kh·kw·Cin·Cout (convs) or
2·M·K·N (matmuls) (`count_flops`); TensorFlow's graph profiler is the cross-check
(`profiler_flops`). `profile_op_times` runs a call under the TF profiler and sums the executed
ops' time per kind (convolutions and their gradients, matmuls, element-wise ops, Adam, the
generator EMA), with the gradient penalty's second-order part apart.
Used by benchmarks/step_timing.py and step_report.py, for train_step.py, only (so it lives here,
not in the package).
"""

import collections
import dataclasses
import glob
import math
import os
import re
import shutil
import tempfile
import time

import tensorflow as tf

from pgan_tf.core import tf_compat

CONV_OPS = ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter")
MATMUL_OPS = ("MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")


def _dims(shape, what):
    dims = tf.TensorShape(shape).as_list()
    if dims is None or None in dims:
        raise ValueError(
            f"{what} has a shape that is not fully static ({shape}); FLOPs need static shapes"
        )
    return dims


def op_flops(op) -> int:
    """FLOPs of one Conv2D / Conv2DBackprop* / MatMul / BatchMatMul op from its static shapes.

    A conv (forward or either backward) costs 2·N·Ho·Wo·kh·kw·Cin·Cout, where N·Ho·Wo is the
    forward conv's output (for the backprops: the incoming gradient, input 2) and kh·kw·Cin·Cout the
    filter; a matmul costs 2·M·K·N. Returns 0 for any other op.
    """
    t = op.type
    if t in CONV_OPS:
        if op.get_attr("data_format") not in (b"NHWC", "NHWC"):
            raise ValueError(f"{op.name}: only NHWC convolutions are counted")
        if t == "Conv2D":
            out, kernel = op.outputs[0].shape, op.inputs[1].shape
        elif t == "Conv2DBackpropInput":
            out, kernel = op.inputs[2].shape, op.inputs[1].shape
        else:
            out, kernel = op.inputs[2].shape, op.outputs[0].shape
        n, ho, wo, cout = _dims(out, op.name)
        kh, kw, cin, kcout = _dims(kernel, op.name)
        assert kcout == cout, (op.name, out, kernel)
        return 2 * n * ho * wo * kh * kw * cin * cout
    if t in MATMUL_OPS:
        a = _dims(op.inputs[0].shape, op.name)
        out = _dims(op.outputs[0].shape, op.name)
        transposed = op.get_attr("transpose_a" if t == "MatMul" else "adj_x")
        k = a[-2] if transposed else a[-1]
        return 2 * math.prod(out) * k
    return 0


def _called_graphs(op):
    """Graphs of the functions an op calls (While body/cond, If branches, PartitionedCall, ...)."""
    out = []
    for name, value in op.node_def.attr.items():
        funcs = [value.func] if value.HasField("func") else list(value.list.func)
        for f in funcs:
            if f.name:
                out.append((name, tf_compat.graph_function(op.graph, f.name)))
    return out


def live_ops(graph) -> set:
    """Ops of a function graph that run: ancestors of its outputs and of its control outputs.

    The runtime prunes the rest. Here that is ~10% of the conv FLOPs in the graph: TensorFlow's
    conv gradient always builds both the input and the filter gradient, and the filter gradients
    of D inside the gradient penalty's inner tape and in the G step are never used.
    """
    live, stack = set(), [t.op for t in graph.outputs] + list(graph.control_outputs)
    while stack:
        op = stack.pop()
        if op not in live:
            live.add(op)
            stack.extend(t.op for t in op.inputs)
            stack.extend(op.control_inputs)
    return live


@dataclasses.dataclass
class FlopCount:
    """Conv/matmul FLOPs of a graph by op type and dtype (ops that run), and of pruned ops."""

    by_type: collections.Counter
    by_dtype: collections.Counter
    pruned: collections.Counter  # by op type: in the graph, but not an ancestor of any output
    loops: list  # names of While ops whose body was counted once (one iteration)

    @property
    def total(self):
        return sum(self.by_type.values())

    def in_graph(self):
        """Every conv/matmul in the graph by type, pruned or not (what the profiler sees)."""
        return self.by_type + self.pruned


def count_flops(graph) -> FlopCount:
    """Sums `op_flops` over a graph and every function it calls, each function body once.

    Only ops that run (`live_ops`) go into `by_type`; the others into `pruned`. A While body is
    counted once, i.e. one iteration: for `run_steps` that is one D+G step.
    """
    count = FlopCount(collections.Counter(), collections.Counter(), collections.Counter(), [])

    def visit(g):
        live = live_ops(g) if hasattr(g, "control_outputs") else set(g.get_operations())
        for op in g.get_operations():
            flops = op_flops(op)
            if flops and op in live:
                count.by_type[op.type] += flops
                count.by_dtype[tf.as_dtype(op.get_attr("T")).name] += flops
            elif flops:
                count.pruned[op.type] += flops
            for attr, body in _called_graphs(op):
                if op.type in ("While", "StatelessWhile") and attr == "body":
                    count.loops.append(op.name)
                visit(body)

    visit(graph)
    return count


def profiler_flops(graph) -> collections.Counter:
    """TensorFlow's graph profiler (float_operation) on `graph`: {op type: FLOPs}.

    It sees only the ops of `graph` itself, never the bodies of the functions they call.
    """
    opts = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    opts["output"] = "none"
    root = tf.compat.v1.profiler.profile(graph, options=opts)
    types = {op.name: op.type for op in graph.get_operations()}
    out = collections.Counter()
    stack = list(root.children)
    while stack:
        node = stack.pop()
        if node.float_ops:
            out[types.get(node.name, "?")] += node.float_ops
        stack.extend(node.children)
    return out


def step_graph(concrete_function):
    """The body of the single While loop of `run_steps`: one D+G step."""
    loops = [
        op
        for op in concrete_function.graph.get_operations()
        if op.type in ("While", "StatelessWhile")
    ]
    if len(loops) != 1:
        raise ValueError(f"expected one While loop in run_steps, found {len(loops)}")
    return dict(_called_graphs(loops[0]))["body"]


# ---- time per op kind -------------------------------------------------------------------------
OP_KINDS = (
    "conv",
    "conv_bp_input",
    "conv_bp_filter",
    "matmul",
    "elementwise",
    "optimizer",
    "ema",
    "input",
)
# Ops that only call or loop over other ops: their events enclose the ops they run.
_CALL_OPS = {
    "While",
    "StatelessWhile",
    "If",
    "StatelessIf",
    "Case",
    "PartitionedCall",
    "StatefulPartitionedCall",
}
_OPTIMIZER_SCOPE = re.compile(r"(^|/)adam(_\d+)?/")


def op_kind(name: str, op_type: str) -> str:
    """Which part of the step an executed op belongs to, from its (oneDNN-rewritten) type and name.

    The optimizer's ops are under its name scope ("adam", "adam_1") or are the fused Adam kernel
    (pgan_tf/training/optimizer.py), the EMA's under "generator_ema" (stage.py); convolutions count
    with their fused bias / activation."""
    if "generator_ema/" in name:
        return "ema"
    if _OPTIMIZER_SCOPE.search(name) or "ApplyAdam" in op_type:
        return "optimizer"
    if "Conv2DBackpropInput" in op_type:
        return "conv_bp_input"
    if "Conv2DBackpropFilter" in op_type:
        return "conv_bp_filter"
    if "Conv2D" in op_type:
        return "conv"
    if "MatMul" in op_type:
        return "matmul"
    if op_type.startswith(("Iterator", "Rng")) or "Random" in op_type:
        return "input"
    return "elementwise"


def is_second_order(name: str) -> bool:
    """The gradient penalty's second-order part: the outer tape's gradients of the ops that
    computed the penalty's input gradient, i.e. gradients of gradients."""
    return "gradient_tape/gradient_tape/" in name


@dataclasses.dataclass
class OpTimes:
    """Seconds of executed ops per kind (summed over the threads that run them), the part of them
    that is the gradient penalty's second-order part, and the wall time of the profiled call."""

    by_kind: collections.Counter
    second_order: collections.Counter
    wall_s: float

    @property
    def total(self):
        return sum(self.by_kind.values())

    def share(self, kind):
        return self.by_kind[kind] / max(self.total, 1e-12)


def parse_op_events(xspace):
    """(name, type, seconds) of every executed TF op of the host plane of a profiler XSpace.

    Op events are named "<op name>:<op type>"; calls and loops are left out (they enclose ops)."""
    for plane in xspace.planes:
        if not plane.name.startswith("/host:"):
            continue
        names = {k: m.name for k, m in plane.event_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                name, sep, op_type = names[event.metadata_id].rpartition(":")
                if (
                    not sep
                    or not name
                    or name.endswith(":")
                    or " " in name
                    or not op_type.isidentifier()
                ):
                    continue
                if op_type.lstrip("_") in _CALL_OPS:
                    continue
                yield name, op_type, event.duration_ps * 1e-12


def profile_op_times(fn) -> OpTimes:
    """Runs `fn()` once under the TF profiler; returns its ops' `OpTimes`."""
    logdir = tempfile.mkdtemp(prefix="train_step_profile_")
    try:
        tf.profiler.experimental.start(logdir)
        t = time.perf_counter()
        try:
            fn()
        finally:
            wall = time.perf_counter() - t
            tf.profiler.experimental.stop()
        (path,) = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)
        with open(path, "rb") as f:
            xspace = tf_compat.xspace_proto(f.read())
    finally:
        shutil.rmtree(logdir, ignore_errors=True)
    times = OpTimes(collections.Counter(), collections.Counter(), wall)
    for name, op_type, seconds in parse_op_events(xspace):
        kind = op_kind(name, op_type)
        times.by_kind[kind] += seconds
        if is_second_order(name):
            times.second_order[kind] += seconds
    return times
