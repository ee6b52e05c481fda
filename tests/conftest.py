"""Test set-up: split the CPU into two logical devices before TensorFlow initializes,
so MirroredStrategy with two replicas can be tested on one machine."""

import pgan_tf  # noqa: F401  (makes the TensorFlow import quiet)

# isort: split
import tensorflow as tf

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)
