"""The TF1 Inception graph path of FID and IS, against the reference codes.

`fixtures/inception/reference_fid_is.json` was made in a scratch directory by running TTUR's
`fid.py` (`create_inception_graph`, `calculate_activation_statistics` with batch_size=50,
`calculate_frechet_distance`) and the original's `metrics/frechet_inception_distance.py` and
`metrics/inception_score.py` (`get_activations`, np.mean/np.cov, `calculate_frechet_distance`;
`_init_inception`, `get_inception_score`) under `tensorflow.compat.v1` on TF 2.21, on the stand-in
graph of `inception_graph_helpers.py` and its `reference_images()` (A vs B for FID, IS of each).
Three edits made their shape patching work on TF 2.21 and nothing else: TTUR's
`o.__dict__['_shape_val'] = s` as `o._shape_val = s`, the original's `except ValueError` also
catching AttributeError, and its `tf.squeeze(pool3)` as `tf.squeeze(pool3, [1, 2])` (the C shape
inference of TF 2 still sees batch 1 there; at run time both squeeze the same axes for N > 1).
"""

import json
import os

import numpy as np
import pytest
from inception_graph_helpers import (
    ARCHIVE_NAME,
    GRAPH_NAME,
    PRODUCER,
    build_graph_def,
    graph_bytes,
    reference_images,
    sha256,
    write_archive,
    write_graph,
)

from pgan_tf.metrics import inception_graph
from pgan_tf.metrics.fid import InceptionFeatures, fid
from pgan_tf.metrics.inception_score import inception_score_from_probs

FIXTURE = os.path.join(
    os.path.dirname(__file__), "..", "fixtures", "inception", "reference_fid_is.json"
)


@pytest.fixture(scope="module")
def reference():
    with open(FIXTURE) as f:
        ref = json.load(f)
    a, b = reference_images()
    assert ref["graph_sha256"] == sha256(graph_bytes()), "the stand-in graph changed"
    assert (ref["images_a_sha256"], ref["images_b_sha256"]) == (sha256(a), sha256(b))
    return ref


def _path(form, tmp_path):
    if form == "pb":
        return write_graph(str(tmp_path))
    if form == "dir":
        write_graph(str(tmp_path))
        return str(tmp_path)
    return write_archive(str(tmp_path / ARCHIVE_NAME))


def test_stand_in_has_the_real_graphs_quirks():
    g = build_graph_def()
    ops = {n.name: n.op for n in g.node}
    assert g.versions.producer == PRODUCER < 9
    assert "BatchNormWithGlobalNormalization" in ops.values()
    assert (ops["ExpandDims"], ops["ResizeBilinear"], ops["pool_3"]) == (
        "ExpandDims",
        "ResizeBilinear",
        "AvgPool",
    )
    assert ops["softmax/logits/MatMul"] == "MatMul"


@pytest.mark.parametrize("form", ["pb", "dir", "tgz"])
def test_fid_and_is_equal_the_reference_codes(form, tmp_path, reference):
    a, b = reference_images()
    inception = InceptionFeatures(_path(form, tmp_path))
    value = fid(b, a, inception)
    assert value == pytest.approx(reference["fid_ttur"], rel=1e-3)
    assert value == pytest.approx(reference["fid_original"], rel=1e-3)
    for name, images in (("a", a), ("b", b)):
        mean, std = inception_score_from_probs(inception(images)[1], splits=10)
        assert mean == pytest.approx(reference[f"is_mean_{name}"], rel=1e-3)
        assert std == pytest.approx(reference[f"is_std_{name}"], rel=1e-3)


def test_batches_equal_single_images(tmp_path):
    graph = inception_graph.InceptionGraph(write_graph(str(tmp_path)))
    a, _ = reference_images()
    feats, logits = graph.run(a[:5].astype(np.float32))
    one = np.concatenate([graph.run(a[i : i + 1].astype(np.float32))[0] for i in range(5)])
    assert feats.shape == (5, 2048) and logits.shape == (5, 1008)
    np.testing.assert_allclose(feats, one, rtol=1e-5, atol=1e-6)


def _damaged(kind, tmp_path):
    data = graph_bytes()
    if kind == "truncated pb":
        path = tmp_path / GRAPH_NAME
        path.write_bytes(data[: len(data) // 3])
    elif kind == "not a graph":
        path = tmp_path / "other.pb"
        path.write_bytes(b"\x08\x01" + b"hello" * 10)
    elif kind == "wrong graph":
        g = build_graph_def()
        del g.node[:5]
        path = tmp_path / GRAPH_NAME
        path.write_bytes(g.SerializeToString())
    elif kind == "broken tgz":
        path = tmp_path / ARCHIVE_NAME
        path.write_bytes(b"\x1f\x8b" + os.urandom(64))
    else:
        path = tmp_path / ARCHIVE_NAME
        write_archive(str(path))
        path.write_bytes(path.read_bytes()[:200])
    return str(path)


@pytest.mark.parametrize(
    "kind", ["truncated pb", "not a graph", "wrong graph", "broken tgz", "cut tgz"]
)
def test_damaged_graph_is_one_line_naming_the_file(kind, tmp_path):
    path = _damaged(kind, tmp_path)
    with pytest.raises(inception_graph.InceptionGraphError) as e:
        InceptionFeatures(path)
    message = str(e.value)
    assert "\n" not in message and message.startswith(path), message


def test_directory_without_the_graph_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="classify_image_graph_def.pb"):
        InceptionFeatures(str(tmp_path))
