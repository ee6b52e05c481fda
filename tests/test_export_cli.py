"""export/export_saved_model.py: the run-dir → SavedModel CLI, its output and its errors."""

import importlib.util
import json
import os
import re
import subprocess
import sys

import cli_helpers
import keras
import numpy as np
import pytest
import tensorflow as tf
from export_helpers import TINY_COND, keras_uint8, make_run_dir, tree

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO, "export", "export_saved_model.py")


def _load_cli():
    spec = importlib.util.spec_from_file_location("export_saved_model", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cli = _load_cli()


def run_main(capsys, *argv):
    """(exit code, stdout, stderr) of the CLI's main() run in this process."""
    return cli_helpers.run_main(cli.main, capsys, argv)


def assert_one_line_error(err, pattern):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert re.search(pattern, lines[0]), lines[0]


def _curl_bodies(stdout):
    return [json.loads(m) for m in re.findall(r"curl -s -X POST \S+ -d '(.*)'", stdout)]


def test_cli_subprocess_exports_latest_snapshot(tmp_path):
    """As users run it, from the repo root: exports the newest snapshot, prints the command
    lines."""
    rd = str(tmp_path / "run")
    gens = make_run_dir(rd, kimgs=(4, 12))
    bad = subprocess.run(
        [sys.executable, SCRIPT, "--run_dir", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip() == f"error: run directory not found: {tmp_path / 'missing'}"

    proc = subprocess.run(
        [sys.executable, SCRIPT, "--run_dir", rd], capture_output=True, text=True, cwd=REPO
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    model_dir = os.path.join(rd, "export", "pgan")
    assert "network-snapshot-000012.keras (kimg 12)" in out
    assert (
        "tensorflow_model_server --rest_api_port=8501 --model_name=pgan "
        f"--model_base_path={model_dir}\n" in out
    )
    assert "serving_default(latents: float32 [-1, 16]) -> {images: uint8 [-1, 8, 8, 3]}" in out
    assert "generate_png(latents: float32 [-1, 16]) -> {images_bytes: string [-1]}" in out
    assert (
        "warmup: " + os.path.join(model_dir, "1", "assets.extra", "tf_serving_warmup_requests")
        in out
    )
    row, col = _curl_bodies(out)
    assert np.array(row["instances"]).shape == (1, 16)
    assert col["signature_name"] == "generate_png" and np.array(col["inputs"]["latents"]).shape == (
        1,
        16,
    )

    z = np.array(row["instances"], dtype=np.float32)
    loaded = tf.saved_model.load(os.path.join(model_dir, "1"))
    got = loaded.signatures["serving_default"](latents=tf.constant(z))["images"].numpy()
    np.testing.assert_array_equal(got, keras_uint8(gens[12], z))
    back = keras.saving.load_model(os.path.join(rd, "export", "pgan-1.keras"), compile=False)
    np.testing.assert_array_equal(back(z).numpy(), gens[12](z).numpy())


def test_cli_chosen_snapshot_version_and_paths(tmp_path, capsys):
    rd = str(tmp_path / "run")
    gens = make_run_dir(rd, kimgs=(4, 12))
    base = str(tmp_path / "exports")
    code, out, err = run_main(
        capsys,
        "--run_dir",
        rd,
        "--snapshot",
        "4",
        "--export_base",
        base,
        "--model_name",
        "faces",
        "--version",
        "3",
        "--no_warmup",
        "--keras_path",
        str(tmp_path / "k" / "g.keras"),
    )
    assert code == 0, err
    assert "warmup: warmup skipped: disabled" in out
    assert sorted(os.listdir(os.path.join(base, "faces"))) == ["3"]
    assert not os.path.exists(os.path.join(base, "faces", "3", "assets.extra"))
    z = np.random.RandomState(0).randn(2, 16).astype(np.float32)
    sm = tf.saved_model.load(os.path.join(base, "faces", "3")).signatures["serving_default"]
    np.testing.assert_array_equal(
        sm(latents=tf.constant(z))["images"].numpy(), keras_uint8(gens[4], z)
    )
    assert os.path.isfile(tmp_path / "k" / "g.keras")

    snap = os.path.join(rd, "network-snapshot-000012.keras")
    code, out, err = run_main(
        capsys,
        "--run_dir",
        rd,
        "--snapshot",
        snap,
        "--export_base",
        base,
        "--model_name",
        "faces",
        "--no_keras",
    )
    assert code == 0, err
    assert f"exported version 4 to {os.path.join(base, 'faces', '4')}" in out
    assert sorted(os.listdir(base)) == ["faces"]

    code, out, err = run_main(
        capsys,
        "--run_dir",
        rd,
        "--export_base",
        base,
        "--model_name",
        "faces",
        "--version",
        "3",
        "--overwrite",
        "--no_keras",
    )
    assert code == 0, err
    sm = tf.saved_model.load(os.path.join(base, "faces", "3")).signatures["serving_default"]
    np.testing.assert_array_equal(
        sm(latents=tf.constant(z))["images"].numpy(), keras_uint8(gens[12], z)
    )
    assert sorted(os.listdir(os.path.join(base, "faces"))) == ["3", "4"]


def test_cli_conditional_prints_labels_example(tmp_path, capsys):
    rd = str(tmp_path / "run")
    make_run_dir(rd, config=TINY_COND)
    code, out, err = run_main(capsys, "--run_dir", rd, "--no_keras")
    assert code == 0, err
    assert "serving_default(latents: float32 [-1, 16], labels: float32 [-1, 3])" in out
    row, col = _curl_bodies(out)
    assert list(row["instances"][0]) == ["latents", "labels"]
    assert row["instances"][0]["labels"] == [1.0, 0.0, 0.0]
    assert sorted(col["inputs"]) == ["labels", "latents"]


@pytest.mark.parametrize(
    "case",
    [
        "not_a_run_dir",
        "no_snapshot",
        "missing_kimg",
        "missing_path",
        "existing_version",
        "existing_keras",
        "bad_keras_path",
        "bad_flag",
    ],
)
def test_cli_bad_inputs_fail_cleanly(tmp_path, capsys, case):
    """Each bad input: exit 2, one `error:` line, nothing written, existing versions untouched."""
    rd = str(tmp_path / "run")
    if case == "not_a_run_dir":
        os.makedirs(rd)
        args, pattern = ["--run_dir", rd], r"not a run directory \(no config.json\)"
    elif case == "no_snapshot":
        make_run_dir(rd, kimgs=())
        args, pattern = ["--run_dir", rd], r"no network-snapshot-\*\.keras in"
    elif case == "missing_kimg":
        make_run_dir(rd, kimgs=(4, 12))
        args, pattern = (
            ["--run_dir", rd, "--snapshot", "8"],
            r"no snapshot at kimg 8 .*\(available: 4, 12\)",
        )
    elif case == "missing_path":
        make_run_dir(rd)
        args, pattern = (
            ["--run_dir", rd, "--snapshot", "/nope/g.keras"],
            "snapshot not found: /nope/g.keras",
        )
    elif case == "existing_version":
        make_run_dir(rd)
        assert run_main(capsys, "--run_dir", rd)[0] == 0
        args, pattern = (
            ["--run_dir", rd, "--version", "1"],
            "version 1 already exists .*--overwrite",
        )
    elif case == "existing_keras":
        make_run_dir(rd)
        open(os.path.join(tmp_path, "g.keras"), "w").close()
        args, pattern = (
            ["--run_dir", rd, "--keras_path", str(tmp_path / "g.keras")],
            "g.keras already exists",
        )
    elif case == "bad_keras_path":
        make_run_dir(rd)
        args, pattern = (
            ["--run_dir", rd, "--keras_path", str(tmp_path / "g.h5")],
            "must end in .keras",
        )
    else:
        make_run_dir(rd)
        args, pattern = (
            ["--run_dir", rd, "--version", "two"],
            "argument --version: invalid int value",
        )
    before = tree(str(tmp_path))
    code, out, err = run_main(capsys, *args)
    assert code == 2
    assert_one_line_error(err, pattern)
    assert tree(str(tmp_path)) == before


def test_cli_tflite_writes_both_variants_and_reports_them(tmp_path, capsys):
    rd = str(tmp_path / "run")
    make_run_dir(rd)
    code, out, err = run_main(capsys, "--run_dir", rd, "--no_warmup", "--tflite")
    assert code == 0, err
    export_dir = os.path.join(rd, "export")
    assert sorted(os.listdir(export_dir)) == [
        "pgan",
        "pgan-1-fp16.tflite",
        "pgan-1.keras",
        "pgan-1.tflite",
    ]
    for name, variant in (("pgan-1.tflite", "float32"), ("pgan-1-fp16.tflite", "float16")):
        size = os.path.getsize(os.path.join(export_dir, name))
        assert f"tflite {variant}: {os.path.join(export_dir, name)} ({size:,} bytes)" in out
    assert out.count("ms per image (1 thread") == 2
