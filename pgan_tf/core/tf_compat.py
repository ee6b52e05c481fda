"""Every private TensorFlow / Keras internal the package uses, in one place.

Each function wraps one internal that has no public equivalent, says why it is needed and which
version it was checked on (TensorFlow 2.21.0, Keras 3.15.1). tests/core/test_tf_compat.py calls
each one, so an upgrade that removes or moves one fails there, by name; tests/test_architecture.py
keeps every other module from importing these internals itself.
"""


def eager_context():
    """TensorFlow's eager context (`tensorflow.python.eager.context.context()`, TF 2.21): the only
    handle on `coordination_service` / `configure_coordination_service`, which
    MultiWorkerMirroredStrategy sets up with fixed timeouts that cannot be bounded publicly."""
    from tensorflow.python.eager import context

    return context.context()


def coordinated_job(name, num_tasks):
    """A `CoordinatedJob` proto for `configure_coordination_service` (TF 2.21:
    `tensorflow.compiler.xla.tsl.protobuf.coordination_config_pb2`; not exported publicly)."""
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2

    return coordination_config_pb2.CoordinatedJob(name=name, num_tasks=num_tasks)


def record_reader(path):
    """TensorFlow's random-access TFRecord reader (TF 2.21: `tensorflow.python.lib.io.
    _pywrap_record_io.RandomRecordReader`): it checks each record's data CRC in C++ and reports
    the byte offset of a bad one; `tf.data` does neither, and a pure-Python CRC32C is far slower."""
    from tensorflow.python.lib.io import _pywrap_record_io

    return _pywrap_record_io.RandomRecordReader(path)


def saved_model_proto(data):
    """A `saved_model.pb` parsed into TensorFlow's `SavedModel` proto (TF 2.21:
    `tensorflow.core.protobuf.saved_model_pb2`): the REST server prints its SignatureDefMap as TF
    Serving does, field for field, which `tf.saved_model.load` does not expose."""
    from tensorflow.core.protobuf import saved_model_pb2

    return saved_model_pb2.SavedModel.FromString(data)


def xspace_proto(data):
    """A profiler trace (`*.xplane.pb`) parsed into the `XSpace` proto (TF 2.21:
    `tensorflow.tsl.profiler.protobuf.xplane_pb2`): the benchmark's per-op times come from it; the
    public profiler API only writes it for TensorBoard."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    xspace = xplane_pb2.XSpace()
    xspace.ParseFromString(data)
    return xspace


def graph_function(graph, name):
    """The `FuncGraph` of function `name` a graph's op calls (TF 2.21: `Graph._get_function`):
    the FLOP counter walks into While bodies and PartitionedCalls, which have no public lookup."""
    return graph._get_function(name).graph


def adam_slots(opt, variable):
    """(first moment, second moment): Keras Adam's slot variables of one trained variable (Keras
    3.15: `Adam._momentums` / `Adam._velocities` at `Adam._get_variable_index(variable)`): the
    fused Adam kernel updates them and the stage switch carries them over; Keras has no public
    accessor."""
    index = opt._get_variable_index(variable)
    return opt._momentums[index], opt._velocities[index]


def gradient_tape_active():
    """Whether a GradientTape may record ops traced now (TF 2.21: `tensorflow.python.eager.record.
    could_possibly_record`): `model.conv_gradients` wraps a convolution in its custom gradient
    only then, so graphs traced for inference (SavedModel, TFLite) stay plain convolutions."""
    from tensorflow.python.eager import record

    return record.could_possibly_record()
