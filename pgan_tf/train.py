"""Progressive GAN training: `python -m pgan_tf.train --flagfile=quickstart.flags`.

The command: flags → one validated config, the dataset (the built-in synthetic one is made on
first use), the distribution strategy, then `training.loop.Training` runs; every fault a user can
cause ends in one line with the exit code the README lists. `--dry_run` prints the resolved
configuration and the stage table without training.
"""

from __future__ import annotations

import os
import signal
import sys

import keras
import tensorflow as tf

import pgan_tf  # noqa: F401  (makes the TensorFlow import quiet)
from pgan_tf.core import atomic, cli, faults
from pgan_tf.core.errors import first_line
from pgan_tf.core.resolution import resolutions_up_to
from pgan_tf.data import dataset
from pgan_tf.training import checkpoint as ckpt
from pgan_tf.training import config as config_lib
from pgan_tf.training import distribute, input_state, precision, reporting, rundir
from pgan_tf.training.loop import Training, TrainingError


def ensure_dataset(config, num_workers=1):
    """Creates the built-in synthetic dataset on first use when the flags ask for it (one process
    only: workers of a cluster creating it at once would race, so they must find it made)."""
    path = config.data.path
    if not os.path.exists(path) and config.data.create_synthetic > 0:
        from pgan_tf.data.dataset_tool import create_synthetic

        res = config.data.resolution or config.schedule.resolution
        if num_workers > 1:
            raise config_lib.ConfigError(
                f"--dataset_dir={path} does not exist; with {num_workers} workers create it before "
                f"starting them: python data_prep/create_tfrecords.py create_synthetic {path} "
                f"--resolution {res} --num_images {config.data.create_synthetic} --seed "
                f"{config.seed}"
            )
        print(
            f"Creating the synthetic dataset ({config.data.create_synthetic} images, {res}x{res}) "
            f"in {path}"
        )
        create_synthetic(
            path, num_images=config.data.create_synthetic, resolution=res, seed=config.seed
        )
    return dataset.inspect(path)


def assumed_dataset(config):
    """What a dry run assumes when the dataset does not exist yet: the flags' resolution, RGB, no
    labels. Returns (DatasetInfo, the lines that say so)."""
    res = config.data.resolution
    if not res:
        raise config_lib.ConfigError(
            f"--dry_run: {config.data.path} does not exist, so --resolution must say the final "
            "resolution"
        )
    info = dataset.DatasetInfo(
        path=config.data.path,
        name=os.path.basename(config.data.path.rstrip(os.sep)),
        resolutions=resolutions_up_to(res),
        max_resolution=res,
        num_channels=3,
        num_images=0,
        label_size=0,
    )
    notes = [
        f"Dataset {config.data.path} does not exist yet; assumed from the flags: resolution {res} "
        f"(--resolution), 3 channels, no labels"
        + (" (--conditional: the dataset will say how many)" if config.data.conditional else ""),
    ]
    return info, notes


def build_config(f):
    """Parsed flags (`config.parse_flags`) → validated config, dataset info, strategy and notes
    for the reader (the order matters: devices first). A dry run never creates a dataset and
    works without one."""
    config = config_lib.config_from_flags(f)
    distribute.split_cpu(config.num_cpu_devices)
    strategy = distribute.make_strategy(
        config.distribute, config.worker_timeout
    )  # before any op: collectives need it
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    choice = precision.resolve(config.mixed_precision)  # may time a probe: before the seed is set
    if choice.warning:
        print(f"warning: {choice.warning}", file=sys.stderr)
    config = config_lib.with_precision(config, choice)
    keras.utils.set_random_seed(config.seed)
    notes = []
    if f.dry_run and not os.path.exists(config.data.path):
        info, notes = assumed_dataset(config)
        config = config_lib.resolve_with_dataset(
            config, info, strategy.num_replicas_in_sync, labels_known=False
        )
    else:
        info = ensure_dataset(config, distribute.num_workers(strategy))
        config = config_lib.resolve_with_dataset(config, info, strategy.num_replicas_in_sync)
    return config, info, strategy, notes


def main(argv: list[str] | None = None) -> int:
    """`python -m pgan_tf.train`; returns the exit code (README: 0 done, 1 failed, 2 usage or
    configuration, 130 stopped by Ctrl-C / 143 by SIGTERM after a checkpoint)."""
    flags = config_lib.parse_flags(sys.argv[1:] if argv is None else argv)
    strategy = None
    try:
        config, info, strategy, notes = build_config(flags)
        if flags.dry_run:
            print(rundir.config_json(config))
            for line in notes:
                print(line)
            print(reporting.stage_table(config, strategy.num_replicas_in_sync))
            return cli.OK
        training = Training(config, strategy, info)
        training.run()
        stopped_by = training.stop.signal  # the run stopped at a checkpoint on this signal
        return 128 + signal.Signals[stopped_by] if stopped_by else cli.OK
    except (
        config_lib.ConfigError,
        dataset.DatasetError,
        input_state.DatasetChanged,
        ckpt.CheckpointError,
        rundir.RunDirError,
    ) as e:
        return cli.fail(e, cli.USAGE)
    except (
        TrainingError,
        ckpt.DamagedCheckpoint,
        atomic.WriteError,
        faults.CorruptRecord,
        faults.WorkerLost,
    ) as e:
        return cli.fail(e, cli.FAILURE)
    except OSError as e:
        return cli.fail(f"{e.filename or 'I/O'}: {atomic.reason(e)}", cli.FAILURE)
    except tf.errors.DataLossError as e:
        return cli.fail(f"corrupt data: {first_line(e)}", cli.FAILURE)
    except faults.PEER_ERRORS as e:
        if (distribute.num_workers(strategy) if strategy else distribute.tf_config_workers()) <= 1:
            raise
        lost = faults.lost_task(e, distribute.task(strategy))
        return cli.fail(
            f"lost worker {lost}; restart every worker with --resume (newest checkpoint kept)",
            cli.FAILURE,
        )
    except KeyboardInterrupt:
        return cli.fail(
            "interrupted; the newest checkpoint, if any, is kept (continue with --resume)",
            cli.INTERRUPTED,
        )


if __name__ == "__main__":
    sys.exit(main())
