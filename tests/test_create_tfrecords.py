"""The command line: subprocess runs for what only a real process shows (imports, exit codes,
stderr, running from the repo root or elsewhere), in-process `main()` for the rest."""

import glob
import os
import subprocess
import sys

import numpy as np
import PIL.Image
import pytest
from dataset_helpers import (
    assert_dataset_equals,
    leftovers,
    random_images,
    reference_levels,
    snapshot,
    tfds_order,
    write_celebahq_manual_dir,
    write_folder,
)

from pgan_tf import create_tfrecords

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "data_prep", "create_tfrecords.py")


def _run(args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_help_does_not_import_tensorflow():
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['create_tfrecords.py', 'create_from_images', '--help']\n"
        "try:\n"
        f"    runpy.run_path({SCRIPT!r}, run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('tensorflow imported:', 'tensorflow' in sys.modules)\n"
    )
    out = _run(["-c", code], ROOT)
    assert "--transform {none,center-crop}" in out.stdout and "--convert {rgb,gray}" in out.stdout
    assert "tensorflow imported: False" in out.stdout


def test_subprocess_success_from_repo_root_and_failure_from_elsewhere(tmp_path):
    images = random_images(5, 8, 3)
    write_folder(str(tmp_path / "imgs"), images)
    out = _run(
        [
            "data_prep/create_tfrecords.py",
            "create_from_images",
            str(tmp_path / "ds"),
            str(tmp_path / "imgs"),
        ],
        ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith(
        f"Added 5 images to {tmp_path / 'ds'}: 8x8, 3 channel(s), levels 4..8."
    )
    assert "5/5 images" in out.stderr and "img/s" in out.stderr  # progress: count and rate
    assert sorted(os.listdir(tmp_path / "ds")) == ["ds-r02.tfrecords", "ds-r03.tfrecords"]

    # A bad image, run by path from another directory: one line, exit 1, target untouched.
    PIL.Image.fromarray(random_images(1, 8, 4)[0]).save(tmp_path / "imgs" / "zz-alpha.png")
    before = snapshot(str(tmp_path / "ds"))
    out = _run(
        [SCRIPT, "create_from_images", "ds", "imgs", "--overwrite", "--quiet"], str(tmp_path)
    )
    assert out.returncode == 1
    bad = os.path.join("imgs", "zz-alpha.png")
    assert out.stderr == (
        f"error: {bad}: image has an alpha channel (RGBA); images must be RGB or grayscale; "
        "pass --convert rgb (or gray) to convert it explicitly\n"
    )
    assert out.stdout == ""
    assert snapshot(str(tmp_path / "ds")) == before and leftovers(str(tmp_path)) == []


def test_existing_target_needs_overwrite(tmp_path, capsys):
    target = str(tmp_path / "syn")
    argv = ["create_synthetic", target, "--num_images", "20", "--resolution", "8", "--quiet"]
    assert create_tfrecords.main(argv) == 0
    before = snapshot(target)
    capsys.readouterr()
    assert create_tfrecords.main(argv) == 1
    err = capsys.readouterr().err
    assert (
        err
        == f"error: {target}: already exists and is not empty (pass --overwrite to replace it)\n"
    )
    assert snapshot(target) == before
    assert create_tfrecords.main(argv + ["--seed", "1", "--overwrite"]) == 0
    assert snapshot(target) != before and leftovers(str(tmp_path)) == []


def test_same_input_gives_byte_identical_files(tmp_path):
    write_folder(str(tmp_path / "imgs"), random_images(7, 16, 3))
    for name in ("a", "b"):
        assert (
            create_tfrecords.main(
                [
                    "create_from_images",
                    str(tmp_path / name / "set"),
                    str(tmp_path / "imgs"),
                    "--quiet",
                ]
            )
            == 0
        )
    for fa in glob.glob(str(tmp_path / "a" / "set" / "*")):
        with (
            open(fa, "rb") as f1,
            open(fa.replace(os.sep + "a" + os.sep, os.sep + "b" + os.sep), "rb") as f2,
        ):
            assert f1.read() == f2.read()


def test_info_extract_compare(tmp_path, capsys):
    images = random_images(6, 8, 3, seed=2)
    write_folder(str(tmp_path / "imgs"), images)
    ds = str(tmp_path / "ds")
    assert (
        create_tfrecords.main(
            ["create_from_images", ds, str(tmp_path / "imgs"), "--shuffle", "0", "--quiet"]
        )
        == 0
    )
    assert (
        create_tfrecords.main(
            [
                "create_synthetic",
                str(tmp_path / "syn"),
                "--num_images",
                "24",
                "--resolution",
                "8",
                "--quiet",
            ]
        )
        == 0
    )
    capsys.readouterr()

    assert create_tfrecords.main(["info", ds]) == 0
    out = capsys.readouterr().out
    assert (
        "images      6" in out
        and "resolution  8x8 (levels 4, 8)" in out
        and "labels      none" in out
    )
    assert create_tfrecords.main(["display", str(tmp_path / "syn")]) == 0
    assert "labels      12 classes; images per class:" in capsys.readouterr().out

    assert create_tfrecords.main(["extract", ds, str(tmp_path / "png"), "--quiet"]) == 0
    pngs = sorted(os.listdir(tmp_path / "png"))
    assert pngs == [f"img{i:08d}.png" for i in range(6)]
    np.testing.assert_array_equal(
        np.stack([np.asarray(PIL.Image.open(tmp_path / "png" / p)) for p in pngs]), images
    )
    assert (
        create_tfrecords.main(["extract", ds, str(tmp_path / "png"), "--quiet"]) == 1
    )  # no --overwrite

    # Round trip: the extracted PNGs make the same dataset again.
    assert (
        create_tfrecords.main(
            [
                "create_from_images",
                str(tmp_path / "again"),
                str(tmp_path / "png"),
                "--shuffle",
                "0",
                "--quiet",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert create_tfrecords.main(["compare", ds, str(tmp_path / "again")]) == 0
    out = capsys.readouterr().out
    assert "8x8: identical images: 6 / 6" in out and "4x4: identical images: 6 / 6" in out
    assert "Datasets are identical." in out
    assert (
        create_tfrecords.main(
            ["create_from_images", str(tmp_path / "shuf"), str(tmp_path / "png"), "--quiet"]
        )
        == 0
    )
    capsys.readouterr()
    assert create_tfrecords.main(["compare", ds, str(tmp_path / "shuf")]) == 1
    assert "Datasets differ." in capsys.readouterr().out


def test_usage_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        create_tfrecords.main(["create_from_images", str(tmp_path / "ds")])
    assert e.value.code == 2
    assert "required: image_dir" in capsys.readouterr().err
    assert create_tfrecords.main(["info", str(tmp_path / "nothing")]) == 1
    assert capsys.readouterr().err == f"error: {tmp_path / 'nothing'}: no such dataset directory\n"
    assert (
        create_tfrecords.main(
            ["create_synthetic", str(tmp_path / "s"), "--resolution", "48", "--quiet"]
        )
        == 1
    )
    assert "--resolution: must be a power of two >= 4, got 48" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_synthetic_reference_pixels(tmp_path):
    from pgan_tf.data import synthetic

    assert (
        create_tfrecords.main(
            [
                "create_synthetic",
                str(tmp_path / "s"),
                "--num_images",
                "10",
                "--resolution",
                "16",
                "--shuffle",
                "0",
                "--seed",
                "5",
                "--quiet",
            ]
        )
        == 0
    )
    from dataset_helpers import read_level

    images, _ = synthetic.make_images(10, 16, seed=5)
    for res, want in reference_levels(images).items():
        np.testing.assert_array_equal(read_level(str(tmp_path / "s"), res), want)


def _readme_line(marker):
    with open(os.path.join(ROOT, "README.md")) as f:
        lines = [line.strip() for line in f if marker in line]
    assert len(lines) == 1, f"README.md: expected one line with {marker!r}, found {lines}"
    return lines[0]


def test_readme_celebahq_command_as_written_prepares_tfds_celeb_a_hq_offline(tmp_path):
    """The README's CelebA-HQ line, run by a shell in a fresh HOME holding only ~/celebahq/
    data1024x1024.tar (a handful of 1024² PNGs): TFDS's real builder prepares it with every HTTP(S)
    request sent to a closed port, then the dataset has every level 4..1024 of those images."""
    line = _readme_line("create_from_tfds datasets/celebahq celeb_a_hq/1024")
    assert line.startswith("python data_prep/create_tfrecords.py create_from_tfds "), line
    small = random_images(3, 64, 3, seed=10)
    images = small.repeat(16, axis=1).repeat(16, axis=2)  # 1024², quick to encode as PNG
    by_name = write_celebahq_manual_dir(str(tmp_path / "celebahq"), images, str(tmp_path / "pngs"))
    command = sys.executable + " " + SCRIPT + line[len("python data_prep/create_tfrecords.py") :]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TFDS_DATA_DIR")}
    env["HOME"] = str(tmp_path)
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env[var] = "http://127.0.0.1:9"
    env.pop("no_proxy", None)
    env.pop("NO_PROXY", None)
    out = subprocess.run(
        ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith(
        "Added 3 images to datasets/celebahq: 1024x1024, 3 channel(s), levels 4..1024."
    )
    want = tfds_order(str(tmp_path / "tensorflow_datasets"), "celeb_a_hq/1024", by_name)
    order = np.arange(3)
    np.random.RandomState(123).shuffle(order)
    assert_dataset_equals(str(tmp_path / "datasets" / "celebahq"), want[order])
