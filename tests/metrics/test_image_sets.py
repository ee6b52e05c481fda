"""Scoring two image sets without a run: folders in sorted name order, dataset directories, and
`evaluate --images --reference [--json]` end to end, on tiny sets and
the stand-in Inception graph."""

import json
import subprocess
import sys

import numpy as np
import pytest
from cli_helpers import run_main
from inception_graph_helpers import reference_images, write_graph
from PIL import Image

from pgan_tf.metrics.fid import InceptionFeatures, fid
from pgan_tf.metrics.image_sets import ImageSet, ImageSetError, evaluate_sets
from pgan_tf.metrics.inception_score import inception_score_from_probs
from pgan_tf.metrics.ms_ssim import ms_ssim
from pgan_tf.metrics.swd import swd


def _write_folder(folder, images, names=None, suffix=".png"):
    folder.mkdir()
    for i, image in enumerate(images):
        name = names[i] if names else f"{i:04d}{suffix}"
        Image.fromarray(image).save(folder / name)
    return str(folder)


def test_folder_is_read_in_sorted_name_order(tmp_path):
    a, _ = reference_images()
    names = ["b.png", "a.png", "c.PNG"]
    folder = _write_folder(tmp_path / "x", a[:3], names)
    (tmp_path / "x" / "notes.txt").write_text("not an image")
    got = np.concatenate(list(ImageSet(folder).batches(2)))
    np.testing.assert_array_equal(got, a[[1, 0, 2]])


def test_bad_folders_are_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageSetError, match="holds no .png"):
        ImageSet(str(tmp_path / "empty"))
    folder = _write_folder(tmp_path / "mixed", reference_images()[0][:2])
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "mixed" / "9999.png")
    with pytest.raises(ImageSetError, match="9999.png: shape"):
        list(ImageSet(folder).batches(8))


def test_dataset_directory_is_a_set(tmp_path):
    from pgan_tf.data.dataset_tool import create_synthetic

    create_synthetic(str(tmp_path / "d"), num_images=6, resolution=16, seed=0, progress=False)
    s = ImageSet(str(tmp_path / "d"))
    assert (len(s), s.resolution) == (6, 16)
    assert np.concatenate(list(s.batches(4))).shape == (6, 16, 16, 3)


def test_sets_equal_direct_metric_calls(tmp_path):
    a, b = reference_images()
    a32 = np.repeat(np.repeat(a[:32], 2, 1), 2, 2)[:, :32, :32]  # 48² → 32², SWD needs 16·2^k
    b32 = np.repeat(np.repeat(b[:32], 2, 1), 2, 2)[:, :32, :32]
    fa, fb = _write_folder(tmp_path / "a", a32), _write_folder(tmp_path / "b", b32, suffix=".jpg")
    b_read = np.concatenate(list(ImageSet(fb).batches(64)))
    graph = write_graph(str(tmp_path))
    values = evaluate_sets(
        fa, fb, "fid,is,swd,ms_ssim", inception_path=graph, seed=3, batch_size=10, log=lambda *a: 0
    )
    inception = InceptionFeatures(graph)
    assert values["num_images"] == 32
    assert values["FID"] == pytest.approx(fid(b_read, a32, inception), rel=1e-6)
    mean, std = inception_score_from_probs(inception(a32)[1])
    assert (values["IS_mean"], values["IS_std"]) == pytest.approx((mean, std), rel=1e-6)
    assert values["MS-SSIM"] == pytest.approx(ms_ssim(a32), rel=1e-6)
    direct = swd(b_read, a32, seed=3)
    assert values["SWDx1e3_avg"] == pytest.approx(direct["SWDx1e3_avg"], rel=1e-6)


def test_evaluate_command_json_is_one_object_on_stdout(tmp_path, capsys):
    from pgan_tf import evaluate

    a, b = reference_images()
    fa, fb = _write_folder(tmp_path / "a", a[:12]), _write_folder(tmp_path / "b", b[:12])
    graph = write_graph(str(tmp_path))
    sets = [f"--images={fa}", f"--reference={fb}"]
    cmd = [sys.executable, "-m", "pgan_tf.evaluate", *sets]
    done = subprocess.run(
        [*cmd, "--metrics=fid,is", f"--inception_path={graph}", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    values = json.loads(done.stdout)
    assert set(values) == {"fid", "is_mean", "is_std", "num_images"}
    inception = InceptionFeatures(graph)
    assert values["fid"] == pytest.approx(fid(b[:12], a[:12], inception), rel=1e-6)
    bad = tmp_path / "bad.pb"
    bad.write_bytes(b"\x0a\x03abc" * 3)
    code, out, err = run_main(
        evaluate.main, capsys, [*sets, "--metrics=fid", f"--inception_path={bad}", "--json"]
    )
    assert code == 1 and out == ""
    error = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and str(bad) in error[0]


def test_drawn_reals_repeat_in_file_order_and_mirror_half(tmp_path):
    """As the original's evaluation: a 6-image dataset asked for 14 gives images 0..5, 0..5, 0, 1;
    with mirroring each image is the record or its left-right flip."""
    from pgan_tf.data.dataset_tool import create_synthetic
    from pgan_tf.metrics.image_sets import drawn_reals

    path = str(tmp_path / "d")
    create_synthetic(path, num_images=6, resolution=16, seed=0, progress=False)
    records = np.concatenate(list(ImageSet(path).batches(6)))
    got = np.concatenate(list(drawn_reals(path, 16, 4, 14)))
    np.testing.assert_array_equal(got[:14], records[np.arange(14) % 6])
    mirrored = np.concatenate(list(drawn_reals(path, 16, 4, 60, mirror=True, seed=1)))[:60]
    plain = records[np.arange(60) % 6]
    flipped = np.array([not np.array_equal(m, p) for m, p in zip(mirrored, plain)])
    np.testing.assert_array_equal(mirrored[flipped], plain[flipped][:, :, ::-1])
    assert 15 < flipped.sum() < 45
