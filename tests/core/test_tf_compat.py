"""Each private TensorFlow/Keras internal of pgan_tf/core/tf_compat.py still exists and works."""

import os

import keras
import numpy as np
import tensorflow as tf

from pgan_tf.core import tf_compat


def test_eager_context_has_the_coordination_service_handles():
    ctx = tf_compat.eager_context()
    assert hasattr(ctx, "coordination_service")
    assert callable(ctx.configure_coordination_service)


def test_coordinated_job():
    job = tf_compat.coordinated_job("worker", 3)
    assert (job.name, job.num_tasks) == ("worker", 3)


def test_record_reader_reads_a_record_and_its_offset(tmp_path):
    path = str(tmp_path / "a.tfrecords")
    with tf.io.TFRecordWriter(path) as w:
        w.write(b"abc")
        w.write(b"defgh")
    reader = tf_compat.record_reader(path)
    data, offset = reader.read(0)
    assert (data, offset) == (b"abc", 8 + 4 + 3 + 4)
    assert reader.read(offset)[0] == b"defgh"


def test_saved_model_proto_round_trips(tmp_path):
    module = tf.Module()
    module.f = tf.function(lambda x: x + 1, input_signature=[tf.TensorSpec([], tf.float32)])
    tf.saved_model.save(module, str(tmp_path), signatures=module.f)
    with open(os.path.join(tmp_path, "saved_model.pb"), "rb") as f:
        saved = tf_compat.saved_model_proto(f.read())
    assert "serving_default" in saved.meta_graphs[0].signature_def


def test_xspace_proto_parses_an_empty_trace():
    assert len(tf_compat.xspace_proto(b"").planes) == 0


def test_graph_function_finds_a_called_function():
    inner = tf.function(lambda x: x * 2)
    graph = tf.function(lambda x: inner(x) + 1).get_concrete_function(tf.TensorSpec([])).graph
    calls = [op for op in graph.get_operations() if op.type in ("PartitionedCall",)]
    name = calls[0].get_attr("f").name
    called = tf_compat.graph_function(graph, name)
    assert "Mul" in {op.type for op in called.get_operations()}


def test_adam_slots_are_the_moments_of_that_variable():
    a, b = tf.Variable([1.0, 2.0]), tf.Variable(3.0)
    opt = keras.optimizers.Adam(learning_rate=0.1)
    opt.apply_gradients([(tf.constant([1.0, 1.0]), a), (tf.constant(2.0), b)])
    m, v = tf_compat.adam_slots(opt, b)  # after one step: (1 - β1)·g and (1 - β2)·g², g = 2
    np.testing.assert_allclose([m.numpy(), v.numpy()], [0.1 * 2.0, 0.001 * 4.0], rtol=1e-6)
    m, v = tf_compat.adam_slots(opt, a)
    np.testing.assert_allclose([m.numpy(), v.numpy()], [[0.1, 0.1], [0.001, 0.001]], rtol=1e-6)


def test_gradient_tape_active_inside_a_tape_only():
    seen = []

    @tf.function
    def trace(x):
        with tf.GradientTape():
            seen.append(tf_compat.gradient_tape_active())
        seen.append(tf_compat.gradient_tape_active())
        return x

    trace(tf.constant(1.0))
    assert seen == [True, False]
    assert not tf_compat.gradient_tape_active()
    with tf.GradientTape():
        assert tf_compat.gradient_tape_active()
