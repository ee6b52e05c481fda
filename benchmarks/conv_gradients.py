"""One 3×3 convolution layer's share of a WGAN-GP step, with TF's gradient kernels and with
`pgan_tf.model.conv_gradients` (gradients as forward convolutions), as a ratio in one run.

For each shape (batch, size, C_in -> C_out) it compiles what the train step takes of a conv:
y = lrelu(conv(x, K)), the loss's input gradient (the penalty's), and the gradients of
loss + |input gradient|² with respect to x and K (the second order), once per way, and times
the two calls interleaved (the machine is noisy: best of --repeats, median next to it). The
default shapes are the quickstart's 8²–32² layers and the paper's networks at 64²–1024² (its
widths, small batches); every value pair is checked equal before timing.

    python benchmarks/conv_gradients.py [--shapes=16x32x16x16,1x1024x32x32] [--repeats=4]
"""

import pgan_tf  # noqa: F401  (quiet TF logs before TensorFlow loads)

# isort: split
import statistics
import sys
import time

import numpy as np
import tensorflow as tf

from pgan_tf.core import cli
from pgan_tf.model.conv_gradients import conv2d_same

DEFAULT_SHAPES = (
    "16x32x16x16",
    "16x16x32x32",
    "16x8x64x64",
    "4x64x512x512",
    "4x128x256x256",
    "4x256x128x128",
    "2x512x64x64",
    "1x1024x32x32",
)


def parse_shape(text):
    """'NxSxCINxCOUT' → (N, S, C_in, C_out)."""
    try:
        n, s, cin, cout = (int(v) for v in text.split("x"))
    except ValueError:
        raise ValueError(f"--shapes: {text!r} is not NxSIZExC_INxC_OUT, e.g. 16x32x16x16") from None
    return n, s, cin, cout


def penalty_step(x, kernel, conv_gradients):
    """A compiled call: (lrelu output sum, |d(loss + |dx|²)/dx|, |d(...)/dK|) of one conv."""

    @tf.function
    def step():
        with tf.GradientTape() as outer:
            outer.watch([x, kernel])
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = tf.nn.leaky_relu(conv2d_same(x, kernel, conv_gradients), 0.2)
                loss = tf.reduce_sum(y * y)
            grad_x = inner.gradient(loss, x)
            total = loss + tf.reduce_sum(tf.square(grad_x))
        dx, dk = outer.gradient(total, [x, kernel])
        return tf.stack([loss, tf.norm(dx), tf.norm(dk)])

    return step


def time_shape(shape, repeats):
    n, s, cin, cout = shape
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(n, s, s, cin)).astype(np.float32))
    kernel = tf.constant((rng.normal(size=(3, 3, cin, cout)) / np.sqrt(9 * cin)).astype(np.float32))
    steps = {way: penalty_step(x, kernel, way == "ours") for way in ("tf", "ours")}
    values = {way: f().numpy() for way, f in steps.items()}
    np.testing.assert_allclose(values["ours"], values["tf"], rtol=1e-4)
    calls = max(1, int(2e8 / (n * s * s * cin * cout * 9)))
    times = {way: [] for way in steps}
    for _ in range(repeats):
        for way, f in steps.items():
            t = time.perf_counter()
            for _ in range(calls):
                f().numpy()
            times[way].append((time.perf_counter() - t) / calls)
    return times


def main(argv=None):
    p = cli.ArgumentParser(prog="benchmarks/conv_gradients.py", description=__doc__.split("\n")[0])
    p.add_list("--shapes", default=list(DEFAULT_SHAPES), help="NxSIZExC_INxC_OUT, comma-separated.")
    p.add_argument("--repeats", type=cli.integer, default=4, help="Timed rounds per shape.")
    flags = p.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        shapes = [parse_shape(t) for t in flags.shapes]
    except ValueError as e:
        return cli.fail(e, cli.USAGE)
    print(f"TensorFlow {tf.__version__}; per call: conv, input gradient, second-order gradients")
    print(f"{'shape':>16} {'TF kernels ms':>14} {'ours ms':>9} {'ratio':>6} {'at medians':>10}")
    for shape in shapes:
        t = time_shape(shape, flags.repeats)
        best = {way: min(v) for way, v in t.items()}
        med = {way: statistics.median(v) for way, v in t.items()}
        print(
            f"{'x'.join(map(str, shape)):>16} {best['tf'] * 1e3:14.2f} {best['ours'] * 1e3:9.2f} "
            f"{best['tf'] / best['ours']:5.2f}x {med['tf'] / med['ours']:9.2f}x",
            flush=True,
        )
    return cli.OK


if __name__ == "__main__":
    sys.exit(main())
