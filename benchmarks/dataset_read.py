"""Images/s read through `pgan_tf.data.dataset.make_dataset` at each resolution of a synthetic
dataset, and as a ratio to a reference measured in the same run.

The dataset is written into a temporary directory (the synthetic dataset, --num_images images
at --max_resolution, every level down to 4×4). For each resolution this times:

  pipeline   make_dataset(..., shuffle=True, repeat=True): the training input, float32 NHWC in
             [-1, 1], labels off (the training loop's default; --mirror flips in the train step)
  raw        tf.data.TFRecordDataset(level).repeat().batch(B): the records' bytes and nothing else,
             the floor of any TFRecord pipeline on this machine

and prints images/s of both, the pipeline's MB/s of float32 output, and pipeline / raw (the
machine is noisy, so the ratio is the number to compare between runs). Each is the best of
--repeats timings of --images images after one warm-up pass.

    python benchmarks/dataset_read.py [--max_resolution 128] [--num_images 2048] [--batch 64]
"""

import pgan_tf  # noqa: F401  (quiet TF logs before TensorFlow loads)

# isort: split
import argparse
import os
import tempfile
import time

import tensorflow as tf

from pgan_tf.core.resolution import res_log2
from pgan_tf.data import dataset
from pgan_tf.data.dataset_tool import create_synthetic
from pgan_tf.data.tfrecord_format import tfrecord_filename


def images_per_second(ds, batch, images, repeats):
    it = iter(ds)
    steps = max(1, images // batch)
    for _ in range(min(steps, 20)):  # warm-up: fill the shuffle buffer, start the threads
        next(it)
    best = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(steps):
            x = next(it)
        _ = x.shape  # the last batch is materialized (eager tensors are)
        best = max(best, steps * batch / (time.perf_counter() - t))
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--max_resolution", type=int, default=128)
    p.add_argument("--num_images", type=int, default=2048)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--images", type=int, default=8192, help="images per timing")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "synthetic")
        t = time.perf_counter()
        info = create_synthetic(
            path, num_images=args.num_images, resolution=args.max_resolution, progress=False
        )
        print(
            f"wrote {info.num_images} synthetic images, levels 4..{info.max_resolution}, "
            f"in {time.perf_counter() - t:.1f} s ({os.cpu_count()} CPUs)"
        )
        print(
            f"{'res':>5} {'pipeline img/s':>15} {'raw img/s':>12} {'pipeline MB/s':>14} "
            f"{'pipeline/raw':>13}"
        )
        for res in info.resolutions:
            pipeline = dataset.make_dataset(path, res, args.batch, seed=0)
            level = tfrecord_filename(path, res_log2(res))
            raw = tf.data.TFRecordDataset(level).repeat().batch(args.batch)
            raw = raw.prefetch(tf.data.AUTOTUNE)
            ips = images_per_second(pipeline, args.batch, args.images, args.repeats)
            ref = images_per_second(raw, args.batch, args.images, args.repeats)
            mbps = ips * res * res * info.num_channels * 4 / 1e6
            print(
                f"{res:>5} {ips:>15.0f} {ref:>12.0f} {mbps:>14.0f} {ips / ref:>13.2f}", flush=True
            )


if __name__ == "__main__":
    main()
