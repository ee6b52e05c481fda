"""FLOPs and op kinds of a compiled step, on tiny graphs, against hand computations (no timing)."""

import importlib.util
import os

import numpy as np
import pytest
import tensorflow as tf

_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", "flops.py"
)
_spec = importlib.util.spec_from_file_location("benchmark_flops", _PATH)
flops = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(flops)

N, H, W, CIN, COUT, K = 2, 5, 6, 3, 4, 3
CONV = 2 * N * H * W * K * K * CIN * COUT  # one 3x3 SAME conv, stride 1, or either of its gradients
M, KD, ND = 2, 7, 5
MATMUL = 2 * M * KD * ND  # [M, KD] @ [KD, ND], or either of its gradients


def _conv_and_matmul_grads(x, k, a, b):
    with tf.GradientTape() as tape:
        tape.watch([x, k, a, b])
        y = tf.reduce_sum(tf.nn.conv2d(x, k, 1, "SAME")) + tf.reduce_sum(tf.matmul(a, b))
    return [y] + tape.gradient(y, [x, k, a, b])


def _specs():
    return (
        tf.TensorSpec([N, H, W, CIN]),
        tf.TensorSpec([K, K, CIN, COUT]),
        tf.TensorSpec([M, KD]),
        tf.TensorSpec([KD, ND]),
    )


def test_counts_forward_and_both_gradients_by_hand():
    graph = tf.function(_conv_and_matmul_grads).get_concrete_function(*_specs()).graph
    count = flops.count_flops(graph)
    assert dict(count.by_type) == {
        "Conv2D": CONV,
        "Conv2DBackpropInput": CONV,
        "Conv2DBackpropFilter": CONV,
        "MatMul": 3 * MATMUL,
    }
    assert count.total == 3 * CONV + 3 * MATMUL
    assert dict(count.by_dtype) == {"float32": count.total}
    assert not count.pruned and not count.loops
    prof = flops.profiler_flops(graph)
    assert {t: prof[t] for t in count.by_type} == dict(count.by_type)


def test_unused_gradients_are_pruned_not_counted():
    def input_grads_only(x, k, a, b):
        return _conv_and_matmul_grads(x, k, a, b)[1]

    count = flops.count_flops(tf.function(input_grads_only).get_concrete_function(*_specs()).graph)
    # the gradient builds the filter gradient too, but nothing uses it; nor is the forward conv's
    # output needed for the input gradient of a sum
    assert dict(count.by_type) == {"Conv2DBackpropInput": CONV}
    assert count.pruned["Conv2DBackpropFilter"] == CONV
    assert count.pruned["Conv2D"] == CONV
    assert count.in_graph()["Conv2DBackpropFilter"] == CONV


def test_bfloat16_and_batch_matmul_with_transposes():
    def f(a, b):
        return tf.matmul(
            tf.cast(a, tf.bfloat16), tf.cast(b, tf.bfloat16), transpose_a=True, adjoint_b=True
        )

    graph = (
        tf.function(f)
        .get_concrete_function(tf.TensorSpec([3, KD, M]), tf.TensorSpec([3, ND, KD]))
        .graph
    )
    count = flops.count_flops(graph)
    assert count.total == 3 * MATMUL
    assert dict(count.by_dtype) == {"bfloat16": 3 * MATMUL}


def test_while_body_counts_one_iteration():
    def loop(a, b, n):
        total = tf.zeros([M, ND])
        for _ in tf.range(n):
            total += tf.matmul(a, b)
        return total

    concrete = tf.function(loop).get_concrete_function(
        tf.TensorSpec([M, KD]), tf.TensorSpec([KD, ND]), tf.TensorSpec([], tf.int32)
    )
    count = flops.count_flops(concrete.graph)
    assert count.total == MATMUL and len(count.loops) == 1
    body = flops.step_graph(concrete)
    assert flops.count_flops(body).total == MATMUL
    # the profiler only sees the outer graph's ops (the loop counter's arithmetic), not the body
    assert flops.profiler_flops(concrete.graph)["MatMul"] == 0
    assert flops.profiler_flops(body)["MatMul"] == MATMUL


def test_unknown_shapes_are_an_error():
    graph = (
        tf.function(tf.matmul)
        .get_concrete_function(tf.TensorSpec([None, KD]), tf.TensorSpec([KD, ND]))
        .graph
    )
    with pytest.raises(ValueError, match="not fully static"):
        flops.count_flops(graph)


def _tiny_trainer(resolution):
    """(trainer, iterator of zero images) of the stable stage at `resolution` of a tiny config."""
    from pgan_tf.model.networks import NetworkConfig
    from pgan_tf.training.config import DataConfig, TrainConfig
    from pgan_tf.training.schedule import ScheduleConfig, stages
    from pgan_tf.training.stage import StageTrainer

    cfg = TrainConfig(
        network=NetworkConfig(fmap_base=16, fmap_max=8, latent_size=8),
        schedule=ScheduleConfig(resolution=resolution, total_kimg=1, minibatch_base=4),
        data=DataConfig(path="unused"),
    )
    stage = [s for s in stages(cfg.schedule) if s.resolution == resolution and not s.fade_in][0]
    trainer = StageTrainer(
        cfg,
        tf.distribute.get_strategy(),
        stage,
        tf.Variable(0, dtype=tf.int64),
        tf.random.Generator.from_seed(0),
    )
    images = np.zeros((4, resolution, resolution, 3), np.float32)
    iterator = iter(
        tf.data.Dataset.from_tensor_slices(images).repeat().batch(4, drop_remainder=True)
    )
    return trainer, iterator


def test_a_tiny_stage_step_is_counted_inside_run_steps():
    trainer, iterator = _tiny_trainer(4)
    concrete = trainer.run_steps.get_concrete_function(iterator, tf.constant(1))
    body = flops.step_graph(concrete)
    count = flops.count_flops(body)
    # at least the forward 3x3 convs: G (8 -> 8, 4x4) runs twice, D (8 + mbstd -> 8) four times
    forward = 2 * (2 * 4 * 16 * 9 * 8 * 8) + 4 * (2 * 4 * 16 * 9 * 9 * 8)
    assert count.by_type["Conv2D"] >= forward
    assert set(count.by_type) >= {"Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "MatMul"}
    prof = flops.profiler_flops(body)
    assert {t: prof[t] for t in count.in_graph()} == dict(count.in_graph())


def test_op_kinds_from_names_and_onednn_types():
    assert (
        flops.op_kind(
            "while/body/_1/while/discriminator_16x16_1/d_16x16_conv0_1/add", "_MklNativeFusedConv2D"
        )
        == "conv"
    )
    assert (
        flops.op_kind(
            "while/gradient_tape/while/d_8x8_conv1_1/convolution/Conv2DBackpropInput",
            "_MklNativeConv2DBackpropInput",
        )
        == "conv_bp_input"
    )
    assert (
        flops.op_kind("while/gradient_tape/x/Conv2DBackpropFilter", "Conv2DBackpropFilter")
        == "conv_bp_filter"
    )
    assert flops.op_kind("while/d_4x4_dense0_1/MatMul", "_MklMatMul") == "matmul"
    assert flops.op_kind("while/adam_1/update_0_12/Square", "Square") == "optimizer"
    assert flops.op_kind("while/ResourceApplyAdam_3", "ResourceApplyAdam") == "optimizer"
    assert flops.op_kind("while/generator_ema/sub_3", "Sub") == "ema"
    assert flops.op_kind("while/g_16x16_conv0_lrelu_1/LeakyRelu", "LeakyRelu") == "elementwise"
    assert flops.op_kind("while/IteratorGetNext", "IteratorGetNext") == "input"
    assert flops.is_second_order(
        "while/gradient_tape/gradient_tape/while/d_16x16_conv0_1/convolution/Conv2D"
    )
    assert not flops.is_second_order(
        "while/gradient_tape/while/d_16x16_conv0_1/convolution/Conv2DBackpropInput"
    )


def test_profiled_tiny_step_has_every_kind_of_op():
    """The profiler table's source: one call of a tiny stage's compiled step."""
    trainer, iterator = _tiny_trainer(8)
    trainer.run_steps(iterator, tf.constant(1))
    times = flops.profile_op_times(lambda: trainer.run_steps(iterator, tf.constant(2)).numpy())
    assert {
        "conv",
        "conv_bp_input",
        "conv_bp_filter",
        "matmul",
        "elementwise",
        "optimizer",
        "ema",
    } <= set(times.by_kind)
    assert sum(times.share(k) for k in times.by_kind) == pytest.approx(1.0)
    assert 0 < sum(times.second_order.values()) < times.total
    assert times.second_order["optimizer"] == 0 and times.second_order["ema"] == 0
    assert 0 < times.total < 10 * times.wall_s
