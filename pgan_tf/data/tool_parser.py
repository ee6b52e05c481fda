"""The dataset tool's command line: every subcommand of `python -m pgan_tf.create_tfrecords` and
its arguments, named and defaulted as the original `dataset_tool.py`'s (imports no TensorFlow, so
help and usage errors answer at once).
"""

from __future__ import annotations

import argparse

from pgan_tf.core import cli


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


ORIGINAL_EXTRAS = ("create_mnistrgb", "create_svhn", "create_from_hdf5")


def _add_original_extras(command, target):
    """The parsers of create_mnistrgb, create_svhn and create_from_hdf5, as the original's."""
    p = command(
        "create_mnistrgb",
        "Create dataset for MNIST-RGB.",
        "create_mnistrgb datasets/mnistrgb ~/downloads/mnist",
    )
    target(p)
    p.add_argument("mnist_dir", help="Directory containing MNIST")
    p.add_argument(
        "--num_images",
        type=_positive,
        default=1000000,
        help="Number of composite images to create (default: 1000000)",
    )
    p.add_argument("--random_seed", type=int, default=123, help="Random seed (default: 123)")

    p = command(
        "create_svhn",
        "Create dataset for SVHN (train_1..3.pkl as the original reads, or train_32x32.mat).",
        "create_svhn datasets/svhn ~/downloads/svhn",
    )
    target(p)
    p.add_argument("svhn_dir", help="Directory containing SVHN")

    p = command(
        "create_from_hdf5",
        "Create dataset from legacy HDF5 archive (labels from <archive>-labels.npy if present).",
        "create_from_hdf5 datasets/celebahq ~/downloads/celeba-hq-1024x1024.h5",
    )
    target(p)
    p.add_argument("hdf5_filename", help="HDF5 archive containing the images")
    p.add_argument("--shuffle", type=int, default=1, help="Randomize image order (default: 1)")


def build_parser() -> cli.ArgumentParser:
    """The dataset tool's parser: the original's subcommands with its arguments, and ours."""
    parser = cli.ArgumentParser(
        prog="create_tfrecords.py",
        description="Tool for creating, extracting, and describing Progressive GAN datasets.",
        epilog='Type "create_tfrecords.py <command> -h" for more information.',
    )
    sub = parser.add_subparsers(dest="command", metavar="command")
    sub.required = True

    def command(name, help, example):
        return sub.add_parser(
            name, help=help, description=help, epilog=f"Example: create_tfrecords.py {example}"
        )

    def target(p):
        p.add_argument("tfrecord_dir", help="New dataset directory to be created")
        p.add_argument(
            "--overwrite",
            action="store_true",
            help="Replace tfrecord_dir if it exists and is not empty",
        )
        p.add_argument("--quiet", action="store_true", help="No progress output")

    def shaping(p, resolution_help="Resize every image to NxN (Lanczos)"):
        p.add_argument(
            "--transform",
            choices=("none", "center-crop"),
            default="none",
            help="center-crop: crop non-square images to their centred square (default: none)",
        )
        p.add_argument("--resolution", type=int, default=None, metavar="N", help=resolution_help)
        p.add_argument(
            "--convert",
            choices=("rgb", "gray"),
            default=None,
            help="Convert RGBA, CMYK, palette, 16-bit, ... images to 8-bit RGB or grayscale "
            "(default: refuse them, as the original tool)",
        )

    _inspection_commands(command)
    _dataset_commands(command, target)
    _celebahq_parser(command, target)
    _image_commands(command, target, shaping)
    return parser


def _inspection_commands(command):
    """display / info, extract, verify, compare."""
    for name in ("display", "info"):
        p = command(
            name,
            "Describe a dataset: resolutions, image count, channels, labels.",
            f"{name} datasets/mnist",
        )
        p.add_argument("tfrecord_dir", help="Directory containing dataset")

    p = command(
        "extract",
        "Extract the full-resolution images of a dataset as PNGs.",
        "extract datasets/mnist mnist-images",
    )
    p.add_argument("tfrecord_dir", help="Directory containing dataset")
    p.add_argument("output_dir", help="Directory to extract the images into")
    p.add_argument(
        "--overwrite", action="store_true", help="Replace output_dir if it exists and is not empty"
    )
    p.add_argument("--quiet", action="store_true", help="No progress output")

    p = command(
        "verify",
        "Check every record of every level: CRCs, shapes, level-to-level averages, labels "
        "(exit code 0 if intact, 1 if any problem; each problem is listed).",
        "verify datasets/mnist",
    )
    p.add_argument("tfrecord_dir", help="Directory containing dataset")
    p.add_argument("--quiet", action="store_true", help="No progress output")

    p = command(
        "compare",
        "Compare two datasets (exit code 0 if identical, 1 if not).",
        "compare datasets/mydataset datasets/mnist",
    )
    p.add_argument("tfrecord_dir_a", help="Directory containing first dataset")
    p.add_argument("tfrecord_dir_b", help="Directory containing second dataset")
    p.add_argument("--ignore_labels", type=int, default=0, help="Ignore labels (default: 0)")


def _dataset_commands(command, target):
    """The original's create_* for the published datasets (MNIST, CIFAR, LSUN, CelebA) and its
    create_mnistrgb / create_svhn / create_from_hdf5."""
    p = command(
        "create_mnist", "Create dataset for MNIST.", "create_mnist datasets/mnist ~/downloads/mnist"
    )
    target(p)
    p.add_argument("mnist_dir", help="Directory containing MNIST")

    p = command(
        "create_cifar10",
        "Create dataset for CIFAR-10.",
        "create_cifar10 datasets/cifar10 ~/downloads/cifar10",
    )
    target(p)
    p.add_argument("cifar10_dir", help="Directory containing CIFAR-10")

    p = command(
        "create_cifar100",
        "Create dataset for CIFAR-100.",
        "create_cifar100 datasets/cifar100 ~/downloads/cifar100",
    )
    target(p)
    p.add_argument("cifar100_dir", help="Directory containing CIFAR-100")

    p = command(
        "create_lsun",
        "Create dataset for single LSUN category (undecodable records are skipped, each named).",
        "create_lsun datasets/lsun-car-100k ~/downloads/lsun/car_lmdb --resolution 256 "
        "--max_images 100000",
    )
    target(p)
    p.add_argument("lmdb_dir", help="Directory containing LMDB database")
    p.add_argument("--resolution", type=int, default=256, help="Output resolution (default: 256)")
    p.add_argument(
        "--max_images",
        type=_positive,
        default=None,
        help="Maximum number of images (default: none)",
    )

    p = command(
        "create_celeba",
        "Create dataset for CelebA.",
        "create_celeba datasets/celeba ~/downloads/celeba",
    )
    target(p)
    p.add_argument("celeba_dir", help="Directory containing CelebA")
    p.add_argument("--cx", type=int, default=89, help="Center X coordinate (default: 89)")
    p.add_argument("--cy", type=int, default=121, help="Center Y coordinate (default: 121)")
    _add_original_extras(command, target)


def _image_commands(command, target, shaping):
    """create_from_images (the original's), create_from_tfds and create_synthetic (ours)."""
    p = command(
        "create_from_images",
        "Create dataset from a directory full of images.",
        "create_from_images datasets/mydataset myimagedir",
    )
    target(p)
    p.add_argument("image_dir", help="Directory containing the images")
    p.add_argument("--shuffle", type=int, default=1, help="Randomize image order (default: 1)")
    shaping(p)

    p = command(
        "create_from_tfds",
        "Create dataset from a TensorFlow Datasets image dataset.",
        "create_from_tfds datasets/celebahq celeb_a_hq/1024 --manual_dir ~/celebahq "
        "(~/celebahq/data1024x1024.tar: a tar of the 1024x1024 PNGs)",
    )
    target(p)
    p.add_argument(
        "name",
        help="TFDS name, with config and version if wanted (cifar10, lsun/bedroom, "
        "celeb_a_hq/1024)",
    )
    p.add_argument("--split", default="train", help="Split to read (default: train)")
    p.add_argument(
        "--data_dir",
        default=None,
        help="TFDS data_dir (default: TFDS's own, ~/tensorflow_datasets)",
    )
    p.add_argument(
        "--manual_dir",
        default=None,
        help="TFDS manual_dir: the files you downloaded yourself. A dataset not yet prepared in "
        "data_dir is prepared from them, without downloading, when its builder downloads nothing "
        "else (celeb_a_hq/R reads manual_dir/dataRxR.tar)",
    )
    p.add_argument(
        "--download",
        action="store_true",
        help="Let TFDS download what it needs and prepare the dataset if it is not prepared in "
        "data_dir (default: refuse)",
    )
    p.add_argument("--shuffle", type=int, default=1, help="Randomize image order (default: 1)")
    shaping(p)

    p = command(
        "create_synthetic",
        "Create the built-in synthetic dataset (12 modes: 3 shapes x 4 colours).",
        "create_synthetic datasets/synthetic --resolution 32 --num_images 20000",
    )
    target(p)
    p.add_argument(
        "--resolution",
        type=int,
        default=32,
        help="Output resolution, a power of two >= 4 (default: 32)",
    )
    p.add_argument(
        "--num_images", type=_positive, default=10000, help="Number of images (default: 10000)"
    )
    p.add_argument("--seed", type=int, default=0, help="Random seed (default: 0)")
    p.add_argument("--shuffle", type=int, default=1, help="Randomize image order (default: 1)")


def _celebahq_parser(command, target):
    p = command(
        "create_celebahq",
        "Create dataset for CelebA-HQ (1024x1024) from CelebA and the CelebA-HQ deltas.",
        "create_celebahq datasets/celebahq ~/downloads/celeba ~/downloads/celeba-hq-deltas",
    )
    target(p)
    p.add_argument("celeba_dir", help="Directory containing CelebA (img_celeba/, Anno/)")
    p.add_argument(
        "delta_dir", help="Directory containing CelebA-HQ deltas (deltas*.zip, image_list.txt)"
    )
    p.add_argument(
        "--num_threads",
        type=_positive,
        default=None,
        help="Number of concurrent threads (default: one per core)",
    )
    p.add_argument(
        "--num_tasks",
        type=_positive,
        default=100,
        help="Number of concurrent processing tasks (default: 100)",
    )
    p.add_argument(
        "--partial",
        action="store_true",
        help="Build from the rows of image_list.txt whose JPEG and delta are present (default: "
        "require all of CelebA and all 30,000 deltas, as the original)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="Stop at the first image whose proc_md5 or final_md5 is not image_list.txt's "
        "(default: build anyway; <name>-md5.txt says which matched)",
    )
