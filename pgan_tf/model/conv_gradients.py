"""The stride-1 'same' 3×3 convolution of the networks, with gradients that are convolutions too.

On CPU, TensorFlow's Conv2DBackpropInput and Conv2DBackpropFilter run at a fraction of the
forward convolution's speed for the networks' shapes (16-channel 32² layers: 12–25 against
50–65 GFLOP/s; BUILD_NOTES "Convolution gradients as convolutions"). Both gradients are
convolutions themselves, and the WGAN-GP penalty differentiates them once more, so
`conv2d_same` defines them as forward convolutions all the way down:

- the input gradient is the output gradient convolved with the kernel flipped in space and with
  its in/out channels swapped (exact for an odd kernel, stride 1, 'same' padding);
- the kernel gradient is one convolution of the input (batch and channels swapped, padded by
  k // 2) with the output gradient as its kernel; its own gradients are the two kinds above.

The values are the same convolution sums in another order (float32 rounding apart).
"""

import tensorflow as tf

from pgan_tf.core.tf_compat import gradient_tape_active

# Below this height the whole network is a few kilobytes per image and TF's own gradient kernels
# are as fast (the 4² stage: 0.87× with these gradients, 1.0× at 8², 1.1× at 16², 1.3× at 32²;
# benchmarks/train_step.py --conv_gradients=both).
MIN_SPATIAL = 8


def uses_conv_gradients(x, kernel_size, enabled: bool = True) -> bool:
    """Whether `conv2d_same` gives a convolution of `x` (NHWC) these gradients: a gradient tape
    records (inference graphs keep plain convolutions: SavedModel and TFLite), an odd kernel above
    1×1 (a 1×1 one's gradients are matmuls already), a static height ≥ MIN_SPATIAL, and no GPU in
    this process (cuDNN's gradient kernels are fast there; these were measured on CPU only)."""
    height = x.shape[1]
    return (
        enabled
        and gradient_tape_active()
        and kernel_size > 1
        and kernel_size % 2 == 1
        and height is not None
        and height >= MIN_SPATIAL
        and not tf.config.list_logical_devices("GPU")
    )


def _flip_swap(kernel):
    """kernel[::-1, ::-1] with in and out channels swapped: the input gradient's kernel."""
    return tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])


def _conv(x, kernel):
    return tf.nn.conv2d(x, kernel, strides=1, padding="SAME")


@tf.custom_gradient
def _conv_same(x, kernel):
    def grad(dy):
        return _conv_same(dy, _flip_swap(kernel)), _kernel_gradient(x, dy, kernel.shape[0])

    return _conv(x, kernel), grad


def _kernel_gradient(x, dy, k):
    """d(sum(dy · conv(x, K)))/dK for a k×k kernel: [k, k, C_in, C_out]."""

    @tf.custom_gradient
    def kernel_gradient(x, dy):
        p = k // 2
        # [C_in, H, W, N] padded by k // 2 * [H, W, N, C_out] -> [C_in, k, k, C_out]
        swapped = tf.nn.conv2d(
            tf.transpose(x, [3, 1, 2, 0]),
            tf.transpose(dy, [1, 2, 0, 3]),
            strides=1,
            padding=[[0, 0], [p, p], [p, p], [0, 0]],
        )

        def grad(g):
            return _conv_same(dy, _flip_swap(g)), _conv_same(x, g)

        return tf.transpose(swapped, [1, 2, 0, 3]), grad

    return kernel_gradient(x, dy)


def conv2d_same(x, kernel, conv_gradients: bool = True):
    """Stride-1 'same' convolution of NHWC `x` with an HWIO `kernel`; with `conv_gradients` (and
    where `uses_conv_gradients` holds) its gradients of every order are forward convolutions."""
    if uses_conv_gradients(x, kernel.shape[0], conv_gradients):
        return _conv_same(x, kernel)
    return _conv(x, kernel)
