"""Custom Keras 3 layers of the progressive GAN (paper §4.1, §3, Appendix A).

Every layer makes its weights in `build`, round-trips through `get_config`, and is registered
under the `pgan_tf` package so `.keras` files load after `import pgan_tf.model.layers`.
"""

import math

import keras
import tensorflow as tf
from keras import ops

from pgan_tf.model.conv_gradients import conv2d_same

_PACKAGE = "pgan_tf"
RELU_GAIN = math.sqrt(2.0)  # He et al.'s gain for (leaky) ReLU, the layers' default


def he_scale(fan_in, gain):
    """Runtime weight multiplier of the equalized learning rate: gain / sqrt(fan_in) (§4.1)."""
    return float(gain) / math.sqrt(fan_in)


def _he_kernel(layer, shape, fan_in):
    """Makes `layer.kernel` and `layer.scale` for the equalized learning rate or, with
    `use_wscale=False` (the original's ablation switch), plain He initialization and no scaling."""
    std = he_scale(fan_in, layer.gain)
    layer.kernel = layer.add_weight(
        name="kernel",
        shape=shape,
        initializer=keras.initializers.RandomNormal(0.0, 1.0 if layer.use_wscale else std),
    )
    layer.scale = std if layer.use_wscale else 1.0


def _add_bias(y, bias):
    """y + bias over the last axis as TF's BiasAdd: one op that oneDNN fuses into a preceding conv
    or matmul, whose gradient is one BiasAddGrad (a broadcasting add's is a Sum and a Reshape)."""
    return y if bias is None else tf.nn.bias_add(y, ops.cast(bias, y.dtype))


@keras.saving.register_keras_serializable(package=_PACKAGE)
class EqualizedConv2D(keras.layers.Layer):
    """2-D convolution with the equalized learning rate (paper §4.1).

    The kernel is stored N(0, 1) and multiplied by `gain / sqrt(kh * kw * C_in)` on every call,
    so Adam sees every weight at the same scale. The bias starts at zero and is not scaled.
    `use_wscale=False` turns equalization off (the original's `-nowscale`): N(0, (gain/√fan_in)²)
    initialization, no runtime multiplier. `conv_gradients` picks how it is differentiated
    (`model.conv_gradients`: forward convolutions on CPU, the same values), not what it computes.

    The constant multiplies the kernel, not the conv's output (the same for a linear op): the
    kernel is smaller than the activations from 8² on, and oneDNN fuses the conv with the
    `bias_add` (and an activation) only when nothing sits between them. Scaling the output instead
    took multiplies from 2.4% to 4.7% of the train step's op time and un-fused the bias add (TF
    profiler, 32², 128 feature maps, float32; benchmarks/train_step.py).
    """

    def __init__(
        self,
        filters,
        kernel_size,
        gain=RELU_GAIN,
        use_bias=True,
        use_wscale=True,
        conv_gradients=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.gain = float(gain)
        self.use_bias = bool(use_bias)
        self.use_wscale = bool(use_wscale)
        self.conv_gradients = bool(conv_gradients)

    def build(self, input_shape):
        in_channels = int(input_shape[-1])
        k = self.kernel_size
        _he_kernel(self, (k, k, in_channels, self.filters), k * k * in_channels)
        self.bias = (
            self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
            if self.use_bias
            else None
        )

    def call(self, x):
        y = conv2d_same(x, self.kernel * self.scale, self.conv_gradients)
        return _add_bias(y, self.bias)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "gain": self.gain,
            "use_bias": self.use_bias,
            "use_wscale": self.use_wscale,
            "conv_gradients": self.conv_gradients,
        }


@keras.saving.register_keras_serializable(package=_PACKAGE)
class EqualizedDense(keras.layers.Layer):
    """Fully connected layer with the equalized learning rate (paper §4.1); flattens its input.

    `use_wscale=False` as in `EqualizedConv2D`."""

    def __init__(self, units, gain=RELU_GAIN, use_bias=True, use_wscale=True, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.gain = float(gain)
        self.use_bias = bool(use_bias)
        self.use_wscale = bool(use_wscale)

    def build(self, input_shape):
        fan_in = math.prod(int(d) for d in input_shape[1:])
        _he_kernel(self, (fan_in, self.units), fan_in)
        self.bias = (
            self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
            if self.use_bias
            else None
        )

    def call(self, x):
        x = ops.reshape(x, (ops.shape(x)[0], -1))
        y = ops.matmul(x, self.kernel * self.scale)
        return _add_bias(y, self.bias)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "gain": self.gain,
            "use_bias": self.use_bias,
            "use_wscale": self.use_wscale,
        }


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ChannelBias(keras.layers.Layer):
    """A learned per-channel bias, zero-initialized.

    The generator's first dense layer stands for a 4×4 "full" convolution, so its bias is one per
    feature map, added after the reshape (as the original applies it), not one per output unit.
    """

    def build(self, input_shape):
        self.bias = self.add_weight(name="bias", shape=(int(input_shape[-1]),), initializer="zeros")

    def call(self, x):
        return _add_bias(x, self.bias)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PixelNorm(keras.layers.Layer):
    """Pixelwise feature vector normalization (paper §4.2): x / sqrt(mean(x², channels) + ε).

    The reduction runs in float32 so it stays accurate under bfloat16 / float16 compute.
    """

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, x):
        x32 = ops.cast(x, "float32")
        y = x32 * ops.rsqrt(ops.mean(ops.square(x32), axis=-1, keepdims=True) + self.epsilon)
        return ops.cast(y, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


def mbstd_group(group_size: int, batch):
    """The minibatch-stddev group used for `batch` samples: min(group_size, batch), as the
    original's `tf.minimum(group_size, N)`; a group size of 1 or less means no grouping (1).

    `batch` is a Python int (configuration checks, the replica split) or a tensor (in the layer).
    """
    if group_size <= 1:
        return 1
    return tf.minimum(group_size, batch) if tf.is_tensor(batch) else min(group_size, batch)


def minibatch_stddev_feature(x, group_size=4, epsilon=1e-8):
    """The paper's minibatch standard deviation statistic (§3), one value per sample.

    The batch is split into groups of `min(group_size, N)` samples taken with stride N / G (sample
    n belongs to group n mod (N/G), as the original reshapes [N, ...] to [G, N/G, ...]); the std of
    every feature over a group, sqrt(var + ε), is averaged over channels and pixels to one scalar.
    Returns float32 [N].
    """
    x = tf.cast(x, tf.float32)
    n = tf.shape(x)[0]
    g = mbstd_group(group_size, n)
    check = tf.debugging.assert_equal(
        n % g,
        0,
        message=f"MinibatchStdDev: the batch size must be divisible by the group size "
        f"(group_size={group_size})",
    )
    if check is not None:  # in a graph: the reshape below must not run (and fail) before it
        with tf.control_dependencies([check]):
            x = tf.identity(x)
    grouped = tf.reshape(x, tf.concat([[g, -1], tf.shape(x)[1:]], axis=0))
    centered = grouped - tf.reduce_mean(grouped, axis=0, keepdims=True)
    std = tf.sqrt(tf.reduce_mean(tf.square(centered), axis=0) + epsilon)
    per_group = tf.reduce_mean(std, axis=tf.range(1, tf.rank(std)))
    return tf.tile(per_group, [g])


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MinibatchStdDev(keras.layers.Layer):
    """Appends the minibatch standard deviation as one constant feature map (paper §3)."""

    def __init__(self, group_size=4, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.group_size = int(group_size)
        self.epsilon = float(epsilon)

    def call(self, x):
        shape = ops.shape(x)
        if isinstance(shape[0], int) and shape[0] % mbstd_group(self.group_size, shape[0]):
            raise ValueError(
                f"MinibatchStdDev: batch size {shape[0]} is not divisible by the group size "
                f"{mbstd_group(self.group_size, shape[0])}"
            )
        stat = minibatch_stddev_feature(x, self.group_size, self.epsilon)
        stat = ops.cast(ops.reshape(stat, (-1, 1, 1, 1)), x.dtype)
        fmap = ops.ones_like(x[..., :1]) * stat
        return ops.concatenate([x, fmap], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] + 1,)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class WeightedSum(keras.layers.Layer):
    """The fade-in blend of a newly grown block (paper §2, Figure 2): (1 − α)·old + α·new.

    α lives in a non-trainable variable, so changing it every step (`set_alpha`) never retraces a
    compiled `tf.function`. At α = 0 the output is exactly `old`.
    """

    def __init__(self, alpha=0.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_alpha = float(alpha)

    def build(self, input_shape):
        self.alpha = self.add_weight(
            name="alpha",
            shape=(),
            initializer=keras.initializers.Constant(self.initial_alpha),
            trainable=False,
        )

    def call(self, inputs):
        old, new = inputs
        alpha = ops.cast(self.alpha, old.dtype)
        return (1.0 - alpha) * old + alpha * new

    def set_alpha(self, alpha):
        """Sets α in [0, 1]."""
        alpha = float(alpha)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        self.alpha.assign(alpha)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "alpha": self.initial_alpha}


def upscale2d(x, factor=2):
    """Nearest-neighbour upsampling of NHWC images by an integer factor."""
    return ops.repeat(ops.repeat(x, factor, axis=1), factor, axis=2)


def downscale2d(x, factor=2):
    """Box-filter (average-pool) downsampling of NHWC images by an integer factor."""
    return ops.average_pool(x, pool_size=factor, strides=factor, padding="valid")


def upsample_layer(name, dtype=None):
    """Nearest 2× upsampling as a Keras layer (the generator's growth step)."""
    return keras.layers.UpSampling2D(size=2, interpolation="nearest", name=name, dtype=dtype)


def downsample_layer(name, dtype=None):
    """2×2 average pooling as a Keras layer (the discriminator's shrink step)."""
    return keras.layers.AveragePooling2D(pool_size=2, name=name, dtype=dtype)
