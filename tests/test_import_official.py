"""`python -m pgan_tf.import_official`: a run directory every other command accepts."""

import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from pgan_tf.model import sampling
from pgan_tf.official.convert import load_official_pickle
from pgan_tf.training import checkpoint as ckpt
from pgan_tf.training import rundir
from tests import official_writer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY32 = os.path.join(REPO, "tests", "fixtures", "official", "tiny32.pkl")
PHASES = [
    "--lod_training_kimg=0.064",
    "--lod_transition_kimg=0.064",
]  # final 32² stage from kimg 0.384
NET_FLAGS = [
    "--resolution=32",
    "--fmap_base=128",
    "--fmap_max=32",
    "--latent_size=32",
    "--mbstd_group_size=4",
    *PHASES,
]


def run(module_or_script, *args, timeout=600):
    cmd = [
        sys.executable,
        *(["-m", module_or_script] if not module_or_script.endswith(".py") else [module_or_script]),
        *args,
    ]
    return subprocess.run(
        cmd, check=False, cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def _ok(proc):
    assert proc.returncode == 0, f"{proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("import")
    out = tmp / "run"
    proc = _ok(
        run("pgan_tf.import_official", TINY32, "--run_dir", str(out), "--name", "tiny32", *PHASES)
    )
    return tmp, str(out), proc


def test_writes_a_run_directory(imported):
    _, out, proc = imported
    assert "wrote" in proc.stdout and "--resume=" in proc.stdout
    cfg = rundir.read_config(out).train
    assert (cfg.network.latent_size, cfg.network.fmap_base, cfg.schedule.resolution) == (
        32,
        128,
        32,
    )
    assert rundir.latest_snapshot(out)[0] == 0  # kimg 0.384 → snapshot 000000
    path = rundir.latest_checkpoint(out)
    assert (
        path.endswith("ckpt-384")
        and ckpt.images_seen(path) == 384
        and "stage_index" not in ckpt.stored_objects(path)
    )
    info = ckpt.imported_info(path)
    assert info["stage"] == {"resolution": 32, "fade_in": False} and info["format"] == "tfutil"
    assert not [d for d in os.listdir(os.path.dirname(out)) if d.startswith(".run.tmp")]
    again = run("pgan_tf.import_official", TINY32, "--run_dir", out)
    assert again.returncode == 2 and "already exists" in again.stderr


@pytest.mark.slow
def test_export_serves_the_imported_generator(imported):
    tmp, out, _ = imported
    _ok(
        run(
            "export/export_saved_model.py",
            "--run_dir",
            out,
            "--export_base",
            str(tmp / "export"),
            "--no_keras",
        )
    )
    _ok(
        run(
            "export/export_saved_model.py",
            "--run_dir",
            out,
            "--checkpoint",
            "latest",
            "--export_base",
            str(tmp / "export_ckpt"),
            "--no_keras",
        )
    )
    _, _, Gs, _ = load_official_pickle(TINY32)
    expected = np.load(os.path.join(REPO, "tests", "fixtures", "official", "tiny32-expected.npz"))
    z = expected["latents"]
    for base in ("export", "export_ckpt"):
        loaded = tf.saved_model.load(str(tmp / base / "pgan" / "1"))
        images = loaded.signatures["serving_default"](latents=tf.constant(z))["images"].numpy()
        assert images.dtype == np.uint8 and images.shape == (8, 32, 32, 3)
        np.testing.assert_array_equal(images, sampling.to_uint8(Gs(z)))
        original = sampling.to_uint8(np.transpose(expected["Gs_lod0_nchw"], (0, 2, 3, 1)))
        assert np.abs(images.astype(int) - original.astype(int)).max() <= 1


def test_generate_samples_the_imported_generator(imported):
    tmp, out, _ = imported
    proc = _ok(run("pgan_tf.generate", "--model", out, "--out", str(tmp / "samples"), "--num", "4"))
    assert "wrote" in proc.stdout
    assert sum(f.endswith(".png") for f in os.listdir(tmp / "samples")) >= 4


def test_bad_requests_are_one_line_errors(tmp_path):
    proc = run(
        "pgan_tf.import_official",
        TINY32,
        "--run_dir",
        str(tmp_path / "r"),
        "--kimg",
        "0.1",
        *PHASES,
    )
    assert proc.returncode == 2 and "--kimg 0.1 is outside the 32x32 stage" in proc.stderr
    proc = run(
        "pgan_tf.import_official", str(tmp_path / "none.pkl"), "--run_dir", str(tmp_path / "r")
    )
    assert proc.returncode == 2 and "cannot read" in proc.stderr
    assert not os.path.exists(tmp_path / "r")


@pytest.mark.slow
def test_train_resumes_from_the_imported_checkpoint(imported):
    tmp, out, _ = imported
    data = [
        "--dataset_dir",
        str(tmp / "data"),
        "--create_synthetic=64",
        "--steps_per_call=3",
        "--grid_size=2",
        "--shuffle_buffer=16",
    ]
    wrong = run(
        "pgan_tf.train",
        *data,
        *NET_FLAGS[:-3],
        "--mbstd_group_size=2",
        *PHASES,
        "--total_kimg=0.432",
        f"--resume={out}",
    )
    assert wrong.returncode == 2 and "mbstd_group_size=4 (this run: 2)" in wrong.stderr
    proc = _ok(run("pgan_tf.train", *data, *NET_FLAGS, "--total_kimg=0.432", f"--resume={out}"))
    assert "Resumed from" in proc.stdout and "Done" in proc.stdout
    after = rundir.latest_checkpoint(out)
    assert (
        ckpt.images_seen(after) == 432
        and "stage_index" in ckpt.stored_objects(after)
        and ckpt.imported_info(after) is None
    )
    _, _, imported_gs, _ = load_official_pickle(TINY32)
    trained_gs, kimg = rundir.load_ema_generator(out, after)
    assert kimg == 0.432
    change = max(
        np.abs(a - b).max() for a, b in zip(trained_gs.get_weights(), imported_gs.get_weights())
    )
    assert 0 < change < 0.1  # three small steps from the imported weights, not a fresh start


def _full_size_states(rng, fmt):
    """The paper's CelebA-HQ networks (1024², fmap_base 8192, fmap_max 512, latent 512), random
    weights."""
    kw = {"resolution": 1024, "fmap_base": 8192, "fmap_max": 512, "num_channels": 3}
    if fmt == "tfutil":
        g_kw = dict(kw, latent_size=512, fused_scale=False)
        d_kw = dict(kw, mbstd_group_size=16, fused_scale=False)
        return [
            official_writer.v2_state(
                "G", "G_paper", g_kw, official_writer.g_variables(rng, latent_size=512, **kw)
            ),
            official_writer.v2_state(
                "D", "D_paper", d_kw, official_writer.d_variables(rng, mbstd_group_size=16, **kw)
            ),
            official_writer.v2_state(
                "Gs", "G_paper", g_kw, official_writer.g_variables(rng, latent_size=512, **kw)
            ),
        ]
    spec_g = dict(
        kw,
        latent_size=512,
        normalize_latents=True,
        use_wscale=True,
        use_pixelnorm=True,
        use_leakyrelu=True,
    )
    spec_d = dict(kw, use_wscale=True, mbstat_avg="all", use_gdrop=False)
    return [
        official_writer.theano_state(
            "G_paper", spec_g, official_writer.g_variables(rng, latent_size=512, **kw), rng
        ),
        official_writer.theano_state(
            "D_paper", spec_d, official_writer.d_variables(rng, mbstd_group_size=16, **kw), rng
        ),
        official_writer.theano_state(
            "G_paper", spec_g, official_writer.g_variables(rng, latent_size=512, **kw), rng
        ),
    ]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["tfutil", "theano"])
def test_full_size_celebahq_pickle_imports_and_serves_1024(tmp_path, fmt):
    pkl = tmp_path / f"celebahq-{fmt}.pkl"
    official_writer.write_pickle(
        pkl,
        _full_size_states(np.random.RandomState(0), fmt),
        fmt=fmt,
        protocol=None if fmt == "tfutil" else 2,
    )
    start = time.time()
    proc = _ok(
        run("pgan_tf.import_official", str(pkl), "--run_dir", str(tmp_path / "run"), timeout=1800)
    )
    seconds = time.time() - start
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    print(
        f"\n{fmt}: pickle {os.path.getsize(pkl) / 2**20:.0f} MiB, import {seconds:.1f}s "
        f"(incl. process start), peak RSS {peak_gb:.2f} GiB\n{proc.stdout}"
    )
    assert "kimg 12800, 1024x1024" in proc.stdout and "G 23,071,507 / D 23,077,137" in proc.stdout
    os.remove(pkl)
    # Exported without export_generator's bit-exact check: at 1024² with random N(0, 1) weights the
    # traced graph and eager Keras round a few pixels to neighbouring uint8 values (see below).
    proc = _ok(
        run(
            "tests/official_export_check.py",
            str(tmp_path / "run"),
            str(tmp_path / "export"),
            timeout=1800,
        )
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(result)
    assert result["shape"] == [1, 1024, 1024, 3] and result["dtype"] == "uint8"
    assert result["max_abs_diff"] <= 1 and result["differing_fraction"] < 1e-3
    with open(tmp_path / "run" / "imported.json") as f:
        assert json.load(f)["format"] == fmt


def test_evaluate_scores_the_imported_generator(tmp_path):
    """An imported run directory with --dataset_dir is scored by `pgan_tf.evaluate` like a trained
    one."""
    data, out = tmp_path / "data", tmp_path / "run"
    _ok(
        run(
            "data_prep/create_tfrecords.py",
            "create_synthetic",
            str(data),
            "--resolution",
            "32",
            "--num_images",
            "80",
        )
    )
    _ok(
        run(
            "pgan_tf.import_official",
            TINY32,
            "--run_dir",
            str(out),
            "--dataset_dir",
            str(data),
            *PHASES,
        )
    )
    proc = _ok(
        run(
            "pgan_tf.evaluate",
            f"--run_dir={out}",
            "--metrics=swd,ms_ssim",
            "--num_images=32",
            "--snapshots=latest",
        )
    )
    assert "network-snapshot-000000.keras" in proc.stdout and "reals-vs-reals" in proc.stdout
    rows = [json.loads(line) for line in open(out / "metrics.jsonl")]
    fakes = [r for r in rows if r.get("snapshot", "").startswith("network-snapshot")]
    # the keys name the count used (issue 20: the protocol's counts by default, --num_images here)
    assert fakes and np.isfinite(fakes[0]["SWDx1e3_avg-32"]) and 0 <= fakes[0]["MS-SSIM-32"] <= 1
