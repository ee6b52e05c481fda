"""Flags → frozen config, and the up-front validation errors a user sees."""

import dataclasses

import pytest

from pgan_tf.data.dataset import DatasetInfo
from pgan_tf.training import config as config_lib
from pgan_tf.training import schedule


def _parse(*args):
    return config_lib.config_from_flags(config_lib.parse_flags(list(args)))


INFO = DatasetInfo(
    path="/data/x",
    name="x",
    resolutions=(4, 8, 16),
    max_resolution=16,
    num_channels=3,
    num_images=100,
    label_size=0,
)


def test_flags_to_frozen_config():
    cfg = _parse(
        "--dataset_dir=/data/x",
        "--minibatch_dict=8:12,4:20",
        "--lr_dict=16:0.002",
        "--loss=lsgan_mao",
    )
    assert cfg.schedule.minibatch_dict == ((4, 20), (8, 12))
    assert cfg.schedule.learning_rate(16) == 0.002 and cfg.loss == "lsgan_mao"
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.loss = "wgan_gp"
    resolved = config_lib.resolve_with_dataset(cfg, INFO, num_replicas=1)
    assert resolved.schedule.resolution == 16 and resolved.data.resolution == 16
    assert resolved.network.num_channels == 3
    assert config_lib.train_config_from_dict(resolved.to_dict()) == resolved


@pytest.mark.parametrize(
    "args,message",
    [
        ((), "--dataset_dir is required"),
        (("--dataset_dir=/d", "--total_kimg=-1"), "total_kimg must be >= 0"),
        (("--dataset_dir=/d", "--minibatch_dict=8-4"), "--minibatch_dict: cannot parse"),
        (("--dataset_dir=/d", "--resolution=24"), "power of two"),
        (("--dataset_dir=/d", "--grid_size=0"), "--grid_size must be positive"),
        (("--dataset_dir=/d", "--g_ema_decay=1.5"), "--g_ema_decay must be in"),
    ],
)
def test_bad_flags(args, message):
    with pytest.raises(config_lib.ConfigError, match=message):
        _parse(*args)


@pytest.mark.parametrize(
    "args,replicas,message",
    [
        (("--resolution=32",), 1, "above the dataset's 16"),
        (("--minibatch_base=6",), 4, "minibatch 6 at 4x4 is not divisible by the 4 replicas"),
        (
            ("--minibatch_base=6",),
            1,
            "per-replica minibatch 6 at 4x4 is not divisible by --mbstd_group_size 4",
        ),
        (("--conditional",), 1, "--conditional needs labels"),
        (("--initial_resolution=32", "--resolution=16"), 1, "initial_resolution 32 is above"),
    ],
)
def test_validation_against_dataset(args, replicas, message):
    with pytest.raises(config_lib.ConfigError, match=message):
        config_lib.resolve_with_dataset(_parse("--dataset_dir=/data/x", *args), INFO, replicas)


def test_tick_table_lookup():
    cfg = _parse("--dataset_dir=/d", "--tick_kimg=4:10,16:5")
    assert [schedule.tick_kimg_at(cfg.log.tick_kimg, r) for r in (4, 8, 16, 64)] == [10, 10, 5, 5]


@pytest.mark.parametrize(
    "spec,res,shape",
    [
        ("1080p", 1024, (3, 2)),
        ("1080p", 256, (7, 4)),
        ("1080p", 32, (32, 32)),
        ("4k", 1024, (7, 4)),
        ("8", 32, (8, 8)),
        ("6x4", 64, (6, 4)),
    ],
)
def test_grid_shape_as_the_original(spec, res, shape):
    assert config_lib.grid_shape(spec, res) == shape


def test_legacy_config_json_reads_back():
    """Runs written before the lsgan rename and the grid spec still resume."""
    cfg = config_lib.resolve_with_dataset(_parse("--dataset_dir=/data/x"), INFO, 1)
    d = cfg.to_dict()
    d["loss"], d["log"]["grid_size"] = "lsgan", 8
    for key in ("gp_lambda", "gp_target", "drift_epsilon", "reset_optimizer"):
        d.pop(key)
    back = config_lib.train_config_from_dict(d)
    assert back.loss == "lsgan_mao" and back.log.grid_size == "8" and back.gp_target == 1.0


def test_every_setting_is_declared_once():
    """The parser's flags are the config fields' settings (plus --dry_run), and the flags'
    defaults make the dataclasses' defaults: nothing declares a default a second time."""
    from pgan_tf.core import settings
    from pgan_tf.model.networks import NetworkConfig
    from pgan_tf.training.losses import WGAN_LAMBDA

    classes = (
        config_lib.DataConfig,
        NetworkConfig,
        schedule.ScheduleConfig,
        config_lib.TrainConfig,
        config_lib.LogConfig,
    )
    declared = [settings.flag_name(f) for cls in classes for f in settings.flag_fields(cls)]
    assert len(declared) == len(set(declared))
    parsed = vars(config_lib.parse_flags([]))
    assert set(parsed) == set(declared) | {"dry_run"}
    cfg = _parse("--dataset_dir=/d")
    assert cfg.network == NetworkConfig()
    assert cfg.log == config_lib.LogConfig()
    assert cfg.gp_lambda == WGAN_LAMBDA == config_lib.TrainConfig.gp_lambda
    defaults = schedule.ScheduleConfig(resolution=4)
    assert cfg.schedule == defaults
    assert cfg.mixed_precision == "auto"  # the flag's default, resolved at start-up
