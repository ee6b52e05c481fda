r"""Create, describe, extract and compare multi-resolution PGGAN datasets.

These subcommands take the arguments of the original PGGAN `dataset_tool.py`'s and write its
files (see pgan_tf/data/tfrecord_format.py): `display` (here a text description, as `info`),
`extract`, `compare`, `create_mnist`, `create_mnistrgb`, `create_cifar10`, `create_cifar100`,
`create_svhn`, `create_lsun`, `create_celeba`, `create_from_images`, `create_from_hdf5`. New
ones: `info`, `verify`, `create_from_tfds`, `create_synthetic`. `python
data_prep/create_tfrecords.py` runs the same. Examples:

    python -m pgan_tf.create_tfrecords create_from_images datasets/mine ~/my-images
    python -m pgan_tf.create_tfrecords create_cifar10 datasets/cifar10 \
        ~/downloads/cifar-10-batches-py
    python -m pgan_tf.create_tfrecords create_from_tfds datasets/celebahq celeb_a_hq/1024 \
        --manual_dir ~/celebahq
    python -m pgan_tf.create_tfrecords create_synthetic datasets/synthetic \
        --resolution 32 --num_images 20000
    python -m pgan_tf.create_tfrecords info datasets/cifar10
    python -m pgan_tf.create_tfrecords verify datasets/cifar10

Bad input is refused with one line, `error: <file>: <reason>`, exit code 1, and the target
directory is left as it was, as the original tool; usage errors exit 2, Ctrl-C 130. An existing
non-empty target is only replaced with --overwrite. Help and usage errors do not load TensorFlow.
"""

from __future__ import annotations

import os
import sys

from pgan_tf.core import cli
from pgan_tf.data.tool_parser import ORIGINAL_EXTRAS, build_parser


def _create_original_extra(args, common):
    """Runs create_mnistrgb, create_svhn or create_from_hdf5; returns the DatasetInfo."""
    from pgan_tf.data import dataset_tool

    if args.command == "create_mnistrgb":
        return dataset_tool.create_mnistrgb(
            args.tfrecord_dir, args.mnist_dir, args.num_images, args.random_seed, **common
        )
    if args.command == "create_svhn":
        return dataset_tool.create_svhn(args.tfrecord_dir, args.svhn_dir, **common)
    return dataset_tool.create_from_hdf5(
        args.tfrecord_dir, args.hdf5_filename, bool(args.shuffle), **common
    )


def _run_celebahq(args, common):
    from pgan_tf.data import dataset_tool

    info, md5_summary = dataset_tool.create_celebahq(
        args.tfrecord_dir,
        args.celeba_dir,
        args.delta_dir,
        num_threads=args.num_threads,
        num_tasks=args.num_tasks,
        partial=args.partial,
        strict=args.strict,
        **common,
    )
    print(md5_summary)
    return info


def _summary(info, skipped=0):
    labels = f", {info.label_size}-class labels" if info.label_size else ""
    skips = f" Skipped {skipped} undecodable record(s), each named on stderr." if skipped else ""
    return (
        f"Added {info.num_images} images to {info.path}: "
        f"{info.max_resolution}x{info.max_resolution}, {info.num_channels} channel(s), levels "
        f"{info.resolutions[0]}..{info.max_resolution}{labels}.{skips}"
    )


INSPECTION_COMMANDS = ("display", "info", "extract", "verify", "compare")


def _inspect(args, common, progress):
    """display / info, extract, verify, compare; returns the exit code."""
    from pgan_tf.data import dataset_inspect

    cmd = args.command
    if cmd in ("display", "info"):
        print("\n".join(dataset_inspect.info(args.tfrecord_dir)))
        return 0
    if cmd == "extract":
        n = dataset_inspect.extract(args.tfrecord_dir, args.output_dir, **common)
        print(f"Extracted {n} images to {args.output_dir}.")
        return 0
    if cmd == "verify":
        problems, summary = dataset_inspect.verify(args.tfrecord_dir, progress=progress)
        print("\n".join(problems + summary))
        print(f"{len(problems)} problem(s) found." if problems else "Dataset is intact.")
        return 1 if problems else 0
    if cmd == "compare":
        same, lines = dataset_inspect.compare(
            args.tfrecord_dir_a, args.tfrecord_dir_b, ignore_labels=bool(args.ignore_labels)
        )
        print("\n".join(lines))
        print("Datasets are identical." if same else "Datasets differ.")
        return 0 if same else 1
    raise AssertionError(cmd)  # pragma: no cover - only the commands above come here


def run(args):
    """Executes parsed arguments; returns the exit code."""
    from pgan_tf.data import dataset_tool

    progress = not getattr(args, "quiet", False)
    common = dict(overwrite=getattr(args, "overwrite", False), progress=progress)
    if args.command in INSPECTION_COMMANDS:
        return _inspect(args, common, progress)
    cmd = args.command
    skipped = []  # create_lsun's undecodable records
    if cmd == "create_mnist":
        info = dataset_tool.create_mnist(args.tfrecord_dir, args.mnist_dir, **common)
    elif cmd == "create_cifar10":
        info = dataset_tool.create_cifar10(args.tfrecord_dir, args.cifar10_dir, **common)
    elif cmd == "create_cifar100":
        info = dataset_tool.create_cifar100(args.tfrecord_dir, args.cifar100_dir, **common)
    elif cmd == "create_lsun":
        info, skipped = dataset_tool.create_lsun(
            args.tfrecord_dir, args.lmdb_dir, args.resolution, args.max_images, **common
        )
    elif cmd == "create_celeba":
        info = dataset_tool.create_celeba(
            args.tfrecord_dir, args.celeba_dir, args.cx, args.cy, **common
        )
    elif cmd == "create_celebahq":
        info = _run_celebahq(args, common)
    elif cmd == "create_from_images":
        info = dataset_tool.create_from_images(
            args.tfrecord_dir,
            args.image_dir,
            bool(args.shuffle),
            transform=args.transform,
            resolution=args.resolution,
            convert=args.convert,
            **common,
        )
    elif cmd in ORIGINAL_EXTRAS:
        info = _create_original_extra(args, common)
    elif cmd == "create_from_tfds":
        info = dataset_tool.create_from_tfds(
            args.tfrecord_dir,
            args.name,
            args.split,
            data_dir=args.data_dir,
            manual_dir=args.manual_dir,
            download=args.download,
            shuffle=bool(args.shuffle),
            transform=args.transform,
            resolution=args.resolution,
            convert=args.convert,
            **common,
        )
    elif cmd == "create_synthetic":
        info = dataset_tool.create_synthetic(
            args.tfrecord_dir,
            num_images=args.num_images,
            resolution=args.resolution,
            seed=args.seed,
            shuffle=bool(args.shuffle),
            **common,
        )
    else:  # pragma: no cover - argparse only lets known commands through
        raise AssertionError(cmd)
    print(_summary(info, len(skipped)))
    return 0


def main(argv: list[str] | None = None) -> int:
    """The dataset tool; returns the exit code (0; 1 refused input or failure, or problems found
    by verify / differences found by compare; 2 usage; 130 Ctrl-C)."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    import logging

    from pgan_tf.data.tfrecord_format import DatasetError

    if not os.environ.get("PGAN_TF_VERBOSE"):
        logging.getLogger("absl").setLevel(logging.ERROR)  # TFDS's warnings; errors are ours to say

    try:
        return run(args)
    except KeyboardInterrupt:
        return cli.fail("interrupted (the target was left as it was)", cli.INTERRUPTED)
    except (DatasetError, OSError) as e:  # OSError: disk full, permissions, ...
        if isinstance(e, OSError) and getattr(e, "filename", None) and e.strerror:
            return cli.fail(f"{e.filename}: {e.strerror}", cli.FAILURE)
        return cli.fail(e, cli.FAILURE)


if __name__ == "__main__":
    sys.exit(main())
