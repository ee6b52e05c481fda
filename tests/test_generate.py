"""pgan_tf.generate: slerp, grids, and seeded, reproducible sampling from every model source."""

import os
import subprocess
import sys

import numpy as np
import pytest
from cli_helpers import run_main
from export_helpers import TINY_COND, keras_uint8, make_run_dir
from PIL import Image

from pgan_tf import generate
from pgan_tf.core import images
from pgan_tf.serving import export
from pgan_tf.training import rundir

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_slerp_endpoints_exact_and_norm_preserved():
    rng = np.random.RandomState(0)
    a = rng.randn(6, 16).astype(np.float32)
    b = rng.randn(6, 16).astype(np.float32)
    b *= np.linalg.norm(a, axis=1, keepdims=True) / np.linalg.norm(b, axis=1, keepdims=True)
    np.testing.assert_array_equal(generate.slerp(a, b, 0.0), a)
    np.testing.assert_array_equal(generate.slerp(a, b, 1.0), b)
    assert generate.slerp(a, b, 0.3).dtype == np.float32
    for t in (0.1, 0.25, 0.5, 0.9):
        np.testing.assert_allclose(
            np.linalg.norm(generate.slerp(a, b, t), axis=1), np.linalg.norm(a, axis=1), rtol=1e-5
        )
    lerp_mid = np.linalg.norm((a + b) / 2, axis=1)
    assert np.all(lerp_mid < np.linalg.norm(a, axis=1) * 0.95)  # linear interpolation would shrink


def test_slerp_angles_and_special_cases():
    e0, e1 = np.array([[2.0, 0.0]]), np.array([[0.0, 2.0]])
    t = np.array([0.0, 1 / 3, 0.5, 1.0])
    pts = generate.slerp(np.repeat(e0, 4, 0), np.repeat(e1, 4, 0), t)
    np.testing.assert_allclose(
        np.arctan2(pts[:, 1], pts[:, 0]), t * np.pi / 2, atol=1e-12
    )  # uniform angle
    np.testing.assert_allclose(np.linalg.norm(pts, axis=1), 2.0)
    same = generate.slerp(e0, 3 * e0, 0.5)  # parallel rows: linear interpolation
    np.testing.assert_allclose(same, [[4.0, 0.0]])


def test_interpolation_latents_loop():
    rng = np.random.RandomState(3)
    z = generate.interpolation_latents(rng, keyframes=3, steps=4, latent_size=8)
    keys = np.random.RandomState(3).randn(3, 8).astype(np.float32)
    assert z.shape == (12, 8) and z.dtype == np.float32
    np.testing.assert_array_equal(z[[0, 4, 8]], keys)  # every `steps` frames a keyframe, exactly


def test_image_grid_and_parse_grid():
    imgs = np.arange(5).reshape(5, 1, 1, 1).astype(np.uint8) + 1
    imgs = np.tile(imgs, (1, 2, 3, 1))
    grid = images.grid(imgs, cols=3, rows=2)
    assert grid.shape == (4, 9, 1)
    np.testing.assert_array_equal(grid[::2, ::3, 0], [[1, 2, 3], [4, 5, 0]])
    assert generate.parse_grid(None, 5) == (2, 3)
    assert generate.parse_grid(None, 16) == (4, 4)
    assert generate.parse_grid("3X5", 1) == (3, 5)
    for bad in ("3", "ax2", "0x4"):
        with pytest.raises(ValueError, match="--grid"):
            generate.parse_grid(bad, 4)


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """The same generator as a run dir, a .keras file, a SavedModel and a model base dir."""
    root = tmp_path_factory.mktemp("gen")
    rd = str(root / "run")
    g = make_run_dir(rd, kimgs=(8,))[8]
    result = export.export_generator(g, str(root / "exports"), "pgan", warmup=False)
    return {
        "g": g,
        "root": root,
        "run": rd,
        "keras": os.path.join(rd, rundir.snapshot_name(8)),
        "saved_model": result.path,
        "base": os.path.dirname(result.path),
    }


def _files(d):
    out = {}
    for root, _, files in os.walk(d):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                out[os.path.relpath(os.path.join(root, f), d)] = fh.read()
    return out


def test_generate_from_saved_model(sources, tmp_path, capsys):
    out = str(tmp_path / "a")
    assert (
        generate.main(
            [
                "--model",
                sources["saved_model"],
                "--out",
                out,
                "--num_images",
                "5",
                "--grid",
                "2x4",
                "--seed",
                "11",
                "--interpolate",
                "3",
                "--keyframes",
                "3",
            ]
        )
        == 0
    )
    assert "wrote 7 files" in capsys.readouterr().out
    files = _files(out)
    assert sorted(files) == ["grid.png"] + [f"image-{i:04d}.png" for i in range(5)] + [
        "interpolation.gif"
    ]
    z = np.random.RandomState(11).randn(8, 16).astype(np.float32)
    expected = keras_uint8(sources["g"], z)
    for i in range(5):
        np.testing.assert_array_equal(
            np.array(Image.open(os.path.join(out, f"image-{i:04d}.png"))), expected[i]
        )
    np.testing.assert_array_equal(
        np.array(Image.open(os.path.join(out, "grid.png"))), images.grid(expected, cols=4, rows=2)
    )
    gif = Image.open(os.path.join(out, "interpolation.gif"))
    assert (gif.n_frames, gif.size) == (9, (8, 8))


def test_same_seed_byte_identical_and_all_sources_agree(sources, tmp_path, capsys):
    args = ["--num", "4", "--seed", "5", "--interpolate", "2", "--keyframes", "2"]
    runs = {}
    for key in ("saved_model", "base", "run", "keras"):
        out = str(tmp_path / key)
        assert generate.main(["--model", sources[key], "--out", out] + args) == 0
        runs[key] = _files(out)
    assert (
        generate.main(["--model", sources["saved_model"], "--out", str(tmp_path / "again")] + args)
        == 0
    )
    assert _files(str(tmp_path / "again")) == runs["saved_model"]
    for key in ("base", "run", "keras"):
        assert runs[key] == runs["saved_model"], key
    assert (
        generate.main(
            [
                "--model",
                sources["saved_model"],
                "--out",
                str(tmp_path / "other"),
                "--num",
                "4",
                "--seed",
                "6",
            ]
        )
        == 0
    )
    other = _files(str(tmp_path / "other"))
    assert other["image-0000.png"] != runs["saved_model"]["image-0000.png"]
    out = capsys.readouterr().out
    assert "run " + sources["run"] + ", snapshot kimg 8" in out


def test_png_frames_hit_the_keyframes(sources, tmp_path):
    out = str(tmp_path / "frames")
    assert (
        generate.main(
            [
                "--model",
                sources["saved_model"],
                "--out",
                out,
                "--num",
                "0",
                "--grid",
                "1x1",
                "--interpolate",
                "4",
                "--keyframes",
                "3",
                "--no-gif",
                "--seed",
                "2",
            ]
        )
        == 0
    )
    frames = sorted(os.listdir(os.path.join(out, "interpolation")))
    assert frames == [f"frame-{i:04d}.png" for i in range(12)]
    keys = np.random.RandomState([2, 1]).randn(3, 16).astype(np.float32)
    expected = keras_uint8(sources["g"], keys)
    for k in range(3):
        got = np.array(Image.open(os.path.join(out, "interpolation", f"frame-{4 * k:04d}.png")))
        np.testing.assert_array_equal(got, expected[k])


def test_conditional_labels(tmp_path, capsys):
    rd = str(tmp_path / "run")
    g = make_run_dir(rd, config=TINY_COND)[12]
    res = export.export_generator(g, str(tmp_path / "exp"), "cond", warmup=False)
    out = str(tmp_path / "out")
    assert (
        generate.main(
            ["--model", res.path, "--out", out, "--num", "3", "--labels", "2,0", "--seed", "1"]
        )
        == 0
    )
    rng = np.random.RandomState(1)
    z = rng.randn(4, 16).astype(np.float32)  # grid 2x2 for 3 images: 4 latents
    y = np.eye(3, dtype=np.float32)[[2, 0, 2, 0]]
    expected = keras_uint8(g, z, y)
    for i in range(3):
        np.testing.assert_array_equal(
            np.array(Image.open(os.path.join(out, f"image-{i:04d}.png"))), expected[i]
        )
    for bad, _msg in (("7", r"classes must be in \[0, 3\)"), ("x", "--labels must be")):
        assert generate.main(["--model", res.path, "--out", out, "--labels", bad]) == 2
        assert capsys.readouterr().err.strip().startswith("error: --labels")


def test_bad_inputs_one_line_errors(sources, tmp_path, capsys):
    cases = [
        (
            ["--model", str(tmp_path / "missing"), "--out", str(tmp_path / "o")],
            "error: model not found",
        ),
        (
            ["--model", str(tmp_path), "--out", str(tmp_path / "o")],
            "error: not a SavedModel, model base directory",
        ),
        (
            ["--model", sources["saved_model"], "--out", str(tmp_path / "o"), "--labels", "1"],
            "error: --labels given, but the model is unconditional",
        ),
        (
            ["--model", sources["saved_model"], "--out", str(tmp_path / "o"), "--grid", "2by2"],
            "error: --grid must",
        ),
        (
            ["--model", sources["saved_model"], "--out", str(tmp_path / "o"), "--keyframes", "1"],
            "error: --num_images, --num_grids and",
        ),
        (
            ["--model", sources["saved_model"], "--out", str(tmp_path / "o"), "--shrink", "0"],
            "error: --num_images, --num_grids and",
        ),
        (
            ["--model", sources["saved_model"], "--out", str(tmp_path / "o"), "--shrink", "3"],
            "error: --shrink 3 does not divide the 8x8 images",
        ),
        (["--model", sources["saved_model"]], "error: nothing to write: give --out, --video"),
        (
            ["--model", sources["saved_model"], "--video", str(tmp_path / "o.gif")],
            "error: --video must name an .mp4 file",
        ),
        (
            ["--model", sources["saved_model"], "--training_video", str(tmp_path / "o.mp4")],
            "error: not a run directory (no config.json)",
        ),
        (["--out", str(tmp_path / "o")], "error: the following arguments are required: --model"),
        (
            ["--model", sources["saved_model"], "--out", str(tmp_path / "o"), "--gif=maybe"],
            "error: argument --gif: expected true/false/1/0, got 'maybe'",
        ),
    ]
    for argv, start in cases:
        code, _, err = run_main(generate.main, capsys, argv)
        err = err.strip().splitlines()
        assert code == 2 and len(err) == 1 and err[0].startswith(start), (argv, err)
    assert not os.path.exists(tmp_path / "o")


def test_module_entry_point(sources, tmp_path):
    out = str(tmp_path / "cli")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pgan_tf.generate",
            f"--model={sources['base']}",
            f"--out={out}",
            "--num=2",
            "--seed=5",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert sorted(os.listdir(out)) == ["grid.png", "image-0000.png", "image-0001.png"]


def test_video_and_grids_from_the_command(sources, tmp_path, capsys):
    from pgan_tf.media import mp4, walk

    video = str(tmp_path / "v.mp4")
    out = str(tmp_path / "grids")
    argv = ["--model", sources["run"], "--video", video, "--duration_sec=1", "--fps=10"]
    argv += ["--grid=1x2", "--out", out, "--num_images=0", "--num_grids=3", "--shrink=2"]
    assert generate.main(argv) == 0
    printed = capsys.readouterr().out
    assert f"wrote {video}, 10 frames at 10 fps" in printed and "wrote 3 files" in printed
    meta, frames = mp4.read_mp4(video)
    frames = list(frames)
    assert meta["size"] == (8, 4) and len(frames) == 10  # 1x2 grid of 8x8 shrunk to 4x4
    z = walk.random_walk_latents(np.random.RandomState(1000), 10, 2, 16, 10.0)  # default seed
    first = images.grid(keras_uint8(sources["g"], z[0]), 2, 1)
    first = first.reshape(4, 2, 8, 2, 3).mean(axis=(1, 3))  # --shrink=2
    (y, c), (ey, ec) = mp4.yuv420_view(frames[:1]), mp4.yuv420_view(first[None])
    assert np.abs(y - ey).mean() < 3 and np.abs(c - ec).mean() < 6  # 4:2:0 keeps no more
    assert sorted(os.listdir(out)) == ["grid-0000.png", "grid-0001.png", "grid-0002.png"]
    z = np.random.RandomState(0).randn(6, 16).astype(np.float32)  # images' default seed 0
    cells = keras_uint8(sources["g"], z[4:6])
    cells = np.rint(cells.reshape(2, 4, 2, 4, 2, 3).astype(np.float32).mean(axis=(2, 4)))
    got = np.array(Image.open(os.path.join(out, "grid-0002.png")))
    np.testing.assert_array_equal(got, images.grid(cells.astype(np.uint8), 2, 1))
