"""The shipped flag files: each resolves and dry-runs without a dataset, and holds the settings of
the source it names (the original implementation's presets and the paper's Theano-era configs)."""

import glob
import json
import os
import subprocess
import sys

import pytest

from pgan_tf import train
from pgan_tf.training import config as config_lib
from pgan_tf.training import reporting, rundir, schedule

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PAPER = dict(
    fmap_max=512,
    latent_size=512,
    lr_base=0.001,
    gp_lambda=10.0,
    drift_epsilon=0.001,
    g_ema_decay=0.999,
    loss="wgan_gp",
    conditional=False,
    growing=True,
    reset_optimizer=True,
    use_wscale=True,
    use_pixelnorm=True,
    use_leakyrelu=True,
)


def _v2(base, minibatch_dict, lr_dict):
    return dict(
        PAPER,
        resolution=1024,
        fmap_base=8192,
        mbstd_group_size=4,
        minibatch_base=base,
        minibatch_dict=minibatch_dict,
        lr_dict=lr_dict,
        lod_training_kimg=600,
        lod_transition_kimg=600,
        total_kimg=12000,
        mirror=True,
        gp_target=1.0,
    )


# The table of issue 10, value by value (sources: the original's config.py presets; its
# Theano-era config.py at commit 2609d1f for LSUN and CIFAR-10).
EXPECTED = {
    "celebahq.flags": dict(
        PAPER,
        resolution=1024,
        fmap_base=8192,
        mbstd_group_size=16,
        minibatch_base=16,
        minibatch_dict={256: 14, 512: 6, 1024: 3},
        lr_dict={},
        lod_training_kimg=800,
        lod_transition_kimg=800,
        total_kimg=19000,
        mirror=True,
        gp_target=1.0,
    ),
    "celebahq-v2-1gpu.flags": _v2(
        4, {4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4}, {1024: 0.0015}
    ),
    "celebahq-v2-2gpu.flags": _v2(
        8, {4: 256, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8}, {512: 0.0015, 1024: 0.002}
    ),
    "celebahq-v2-4gpu.flags": _v2(
        16,
        {4: 512, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16},
        {256: 0.0015, 512: 0.002, 1024: 0.003},
    ),
    "celebahq-v2-8gpu.flags": _v2(
        32,
        {4: 512, 8: 256, 16: 128, 32: 64, 64: 32},
        {128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003},
    ),
    "lsun_bedroom.flags": dict(
        PAPER,
        resolution=256,
        fmap_base=4096,
        mbstd_group_size=16,
        minibatch_base=16,
        minibatch_dict={},
        lr_dict={},
        lod_training_kimg=800,
        lod_transition_kimg=800,
        total_kimg=20000,
        mirror=False,
        gp_target=1.0,
    ),
    "cifar10.flags": dict(
        PAPER,
        resolution=32,
        fmap_base=4096,
        mbstd_group_size=16,
        minibatch_base=16,
        minibatch_dict={},
        lr_dict={},
        lod_training_kimg=400,
        lod_transition_kimg=400,
        total_kimg=15000,
        mirror=False,
        gp_target=750.0,
    ),
}
FLAG_FILES = sorted(os.path.basename(p) for p in glob.glob(os.path.join(REPO, "*.flags")))


def _resolve(name, tmp_path, *extra):
    flags = config_lib.parse_flags(
        [f"--flagfile={os.path.join(REPO, name)}", f"--dataset_dir={tmp_path / 'absent'}", *extra]
    )
    cfg = config_lib.config_from_flags(flags)
    info, notes = train.assumed_dataset(cfg)
    return config_lib.resolve_with_dataset(cfg, info, num_replicas=1, labels_known=False), notes


def _actual(cfg):
    n, s = cfg.network, cfg.schedule
    return dict(
        resolution=s.resolution,
        fmap_base=n.fmap_base,
        fmap_max=n.fmap_max,
        latent_size=n.latent_size,
        mbstd_group_size=n.mbstd_group_size,
        minibatch_base=s.minibatch_base,
        minibatch_dict=dict(s.minibatch_dict),
        lr_base=s.lr_base,
        lr_dict=dict(s.lr_dict),
        lod_training_kimg=s.lod_training_kimg,
        lod_transition_kimg=s.lod_transition_kimg,
        total_kimg=s.total_kimg,
        mirror=cfg.data.mirror,
        loss=cfg.loss,
        gp_lambda=cfg.gp_lambda,
        gp_target=cfg.gp_target,
        drift_epsilon=cfg.drift_epsilon,
        g_ema_decay=cfg.g_ema_decay,
        conditional=cfg.data.conditional,
        growing=s.growing,
        reset_optimizer=cfg.reset_optimizer,
        use_wscale=n.use_wscale,
        use_pixelnorm=n.use_pixelnorm,
        use_leakyrelu=n.use_leakyrelu,
    )


ABSL = os.path.join(REPO, "tests", "fixtures", "train_flags_absl.json")


def _absl_cases():
    with open(ABSL) as f:
        return [(case["args"], case["config"]) for case in json.load(f)]


@pytest.mark.parametrize(
    "args, expected", _absl_cases(), ids=lambda v: " ".join(v) if isinstance(v, list) else ""
)
def test_flags_give_the_config_absl_gave(args, expected, monkeypatch):
    """Every shipped flag file, alone and with overrides in every form (booleans, lists, hex ints,
    `--flag value`, flags before and after the file), gives the TrainConfig that the absl flags of
    commit 56669ed gave: `ABSL` holds those, recorded from the repository root before the switch,
    with the settings added or changed since written in by hand (`jit_compile`,
    `network.conv_gradients`, and quickstart.flags' lr 0.0045 and 100 kimg of 2026-12-08)."""
    monkeypatch.chdir(REPO)
    config = json.loads(
        rundir.config_json(config_lib.config_from_flags(config_lib.parse_flags(args)))
    )
    config["data"]["path"] = os.path.relpath(config["data"]["path"])
    assert config == expected


def test_every_flag_file_is_in_the_absl_record():
    assert {f"--flagfile={name}" for name in FLAG_FILES} <= {args[0] for args, _ in _absl_cases()}


def test_every_paper_flag_file_is_checked():
    assert set(FLAG_FILES) - {"quickstart.flags"} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_flag_file_holds_its_sources_settings(name, tmp_path):
    cfg, _ = _resolve(name, tmp_path)
    assert _actual(cfg) == EXPECTED[name]
    header = open(os.path.join(REPO, name)).read().split("\n--")[0]
    assert "Source:" in header and "progressive_growing_of_gans" in header


@pytest.mark.parametrize("name", FLAG_FILES)
def test_flag_file_resolves_without_a_dataset(name, tmp_path):
    cfg, notes = _resolve(name, tmp_path)
    assert "does not exist yet" in notes[0] and f"resolution {cfg.schedule.resolution}" in notes[0]
    table = reporting.stage_table(cfg).splitlines()
    stages = [s for s in schedule.stages(cfg.schedule) if s.start_kimg < cfg.schedule.total_kimg]
    assert len(table) == 1 + len(stages) and table[-1].split()[1] == str(cfg.schedule.resolution)


def test_celebahq_mbstd_group_is_the_whole_minibatch(tmp_path):
    """The original clamps the group of 16 to the minibatch: 16 up to 128², then 14 / 6 / 3."""
    cfg, _ = _resolve("celebahq.flags", tmp_path)
    groups = {
        int(row.split()[1]): int(row.split()[6])
        for row in reporting.stage_table(cfg).splitlines()[1:]
    }
    assert groups == {4: 16, 8: 16, 16: 16, 32: 16, 64: 16, 128: 16, 256: 14, 512: 6, 1024: 3}


def test_ablation_flags(tmp_path):
    cfg, _ = _resolve(
        "celebahq.flags",
        tmp_path,
        "--nogrowing",
        "--nouse_pixelnorm",
        "--nouse_wscale",
        "--nouse_leakyrelu",
        "--g_ema_decay=0",
        "--noreset_optimizer",
    )
    assert [(s.resolution, s.fade_in) for s in schedule.stages(cfg.schedule)] == [(1024, False)]
    assert not (cfg.network.use_pixelnorm or cfg.network.use_wscale or cfg.network.use_leakyrelu)
    assert cfg.g_ema_decay == 0 and not cfg.reset_optimizer


def test_initial_resolution_starts_with_fresh_networks_there(tmp_path):
    cfg, _ = _resolve("celebahq.flags", tmp_path, "--initial_resolution=1024")
    assert schedule.stages(cfg.schedule)[0].resolution == 1024


def test_dry_run_cli_without_dataset(tmp_path):
    """The headline command's dry run, as a user types it, in a directory with no datasets."""
    proc = subprocess.run(
        [sys.executable, "-m", "pgan_tf.train", f"--flagfile={REPO}/celebahq.flags", "--dry_run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "does not exist yet; assumed from the flags: resolution 1024" in proc.stdout
    last = proc.stdout.strip().splitlines()[-1].split()
    assert last == ["16", "1024", "no", "12800.0", "19000.0", "3", "3", "0.001", "10"]
    assert not os.path.exists(tmp_path / "datasets") and not os.path.exists(tmp_path / "results")
