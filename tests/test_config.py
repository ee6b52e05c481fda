"""Flags → frozen config, and the up-front validation errors a user sees."""
import dataclasses

import pytest
from absl import flags

from pgan_tf import config as C
from pgan_tf.dataset import DatasetInfo


def _parse(*args):
    fv = flags.FlagValues()
    C.define_flags(fv)
    fv(["train", *args])
    return C.config_from_flags(fv)


INFO = DatasetInfo(path="/data/x", name="x", resolutions=(4, 8, 16), max_resolution=16,
                   num_channels=3, num_images=100, label_size=0)


def test_flags_to_frozen_config():
    cfg = _parse("--dataset_dir=/data/x", "--minibatch_dict=8:12,4:20", "--lr_dict=16:0.002", "--loss=lsgan")
    assert cfg.schedule.minibatch_dict == ((4, 20), (8, 12))
    assert cfg.schedule.learning_rate(16) == 0.002 and cfg.loss == "lsgan"
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.loss = "wgan_gp"
    resolved = C.resolve_with_dataset(cfg, INFO, num_replicas=1)
    assert resolved.schedule.resolution == 16 and resolved.data.resolution == 16
    assert resolved.network.num_channels == 3
    assert C.train_config_from_dict(resolved.to_dict()) == resolved


@pytest.mark.parametrize(
    "args,message",
    [
        ((), "--dataset_dir is required"),
        (("--dataset_dir=/d", "--total_kimg=-1"), "total_kimg must be >= 0"),
        (("--dataset_dir=/d", "--minibatch_dict=8-4"), "--minibatch_dict: cannot parse"),
        (("--dataset_dir=/d", "--resolution=24"), "powers of two"),
        (("--dataset_dir=/d", "--grid_size=0"), "--grid_size must be positive"),
        (("--dataset_dir=/d", "--g_ema_decay=1.5"), "--g_ema_decay must be in"),
    ],
)
def test_bad_flags(args, message):
    with pytest.raises(C.ConfigError, match=message):
        _parse(*args)


@pytest.mark.parametrize(
    "args,replicas,message",
    [
        (("--resolution=32",), 1, "above the dataset's 16"),
        (("--minibatch_base=6",), 4, "minibatch 6 at 4x4 is not divisible by the 4 replicas"),
        (("--minibatch_base=6",), 1, "per-replica minibatch 6 at 4x4 is not divisible by --mbstd_group_size 4"),
        (("--conditional",), 1, "--conditional needs labels"),
        (("--initial_resolution=32", "--resolution=16"), 1, "initial_resolution 32 is above"),
    ],
)
def test_validation_against_dataset(args, replicas, message):
    with pytest.raises(C.ConfigError, match=message):
        C.resolve_with_dataset(_parse("--dataset_dir=/data/x", *args), INFO, replicas)


def test_tick_table_lookup():
    cfg = _parse("--dataset_dir=/d", "--tick_kimg=4:10,16:5")
    assert [C.tick_kimg_at(cfg, r) for r in (4, 8, 16, 64)] == [10, 10, 5, 5]
