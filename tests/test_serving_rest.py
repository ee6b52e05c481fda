"""TF Serving's REST predict contract on the real exported SavedModel (pgan_tf.serving_rest),
and the same requests against the real `tensorflow_model_server` when it is installed."""
import base64
import io
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

from pgan_tf import export, serving_rest
from test_export import TINY_COND, keras_uint8, tiny_generator


def post(url, body):
    """(HTTP status, JSON response) of a POST with a JSON (or raw bytes) body."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Exports (unconditional v1, v2 with other weights; conditional v1) served on 127.0.0.1."""
    base = str(tmp_path_factory.mktemp("serving"))
    g1, g2, gc = tiny_generator(seed=1), tiny_generator(seed=2), tiny_generator(TINY_COND, seed=3)
    export.export_generator(g1, base, "pgan")
    export.export_generator(g2, base, "pgan")
    export.export_generator(gc, base, "cond")
    servers = {name: serving_rest.make_server(os.path.join(base, name), name) for name in ("pgan", "cond")}
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers.values()]
    for t in threads:
        t.start()
    urls = {name: f"http://127.0.0.1:{s.server_address[1]}/v1/models/{name}" for name, s in servers.items()}
    yield {"base": base, "urls": urls, "g1": g1, "g2": g2, "gc": gc}
    for s in servers.values():
        s.shutdown()
        s.server_close()


Z = np.random.RandomState(7).randn(3, 16).astype(np.float32)
Y = np.eye(3, dtype=np.float32)[[0, 2, 1]]


def test_status(served):
    status, body = get(served["urls"]["pgan"])
    assert status == 200
    assert [v["version"] for v in body["model_version_status"]] == ["2", "1"]
    assert {v["state"] for v in body["model_version_status"]} == {"AVAILABLE"}
    assert get(served["urls"]["pgan"] + "/versions/1")[1]["model_version_status"][0]["version"] == "1"


def test_row_format_instances(served):
    url = served["urls"]["pgan"] + ":predict"
    expected = keras_uint8(served["g2"], Z).tolist()
    status, body = post(url, {"instances": Z.tolist()})
    assert status == 200 and list(body) == ["predictions"]
    assert body["predictions"] == expected  # one named output: a plain H x W x C list per instance
    status, body = post(url, {"signature_name": "serving_default", "instances": [{"latents": z} for z in Z.tolist()]})
    assert status == 200 and body["predictions"] == expected


def test_columnar_format_inputs(served):
    url = served["urls"]["pgan"] + ":predict"
    expected = keras_uint8(served["g2"], Z).tolist()
    assert post(url, {"inputs": Z.tolist()}) == (200, {"outputs": expected})
    assert post(url, {"inputs": {"latents": Z.tolist()}}) == (200, {"outputs": expected})


def test_png_bytes_output_is_base64(served):
    url = served["urls"]["pgan"] + ":predict"
    expected = keras_uint8(served["g2"], Z)
    for key, result_key in (("instances", "predictions"), ("inputs", "outputs")):
        status, body = post(url, {"signature_name": "generate_png", key: Z.tolist()})
        assert status == 200
        items = body[result_key]
        assert len(items) == 3 and all(list(item) == ["b64"] for item in items)
        pixels = np.stack([np.array(Image.open(io.BytesIO(base64.b64decode(i["b64"])))) for i in items])
        np.testing.assert_array_equal(pixels, expected)


def test_versions(served):
    url = served["urls"]["pgan"]
    old = post(url + "/versions/1:predict", {"instances": Z.tolist()})[1]["predictions"]
    new = post(url + "/versions/2:predict", {"instances": Z.tolist()})[1]["predictions"]
    assert old == keras_uint8(served["g1"], Z).tolist()
    assert new == keras_uint8(served["g2"], Z).tolist()
    assert old != new


def test_conditional_model(served):
    url = served["urls"]["cond"] + ":predict"
    expected = keras_uint8(served["gc"], Z, Y).tolist()
    rows = [{"latents": z, "labels": y} for z, y in zip(Z.tolist(), Y.tolist())]
    assert post(url, {"instances": rows}) == (200, {"predictions": expected})
    assert post(url, {"inputs": {"latents": Z.tolist(), "labels": Y.tolist()}}) == (200, {"outputs": expected})
    status, body = post(url, {"instances": Z.tolist()})
    assert status == 400 and "each instance must be an object" in body["error"]
    status, body = post(url, {"inputs": {"latents": Z.tolist()}})
    assert status == 400 and "'inputs' must have exactly the inputs ['labels', 'latents']" in body["error"]


@pytest.mark.parametrize("path, body, status, message", [
    (":predict", {"instances": [[0.0] * 15]}, 400, "input 'latents' has shape [1, 15], the signature expects [-1, 16]"),
    (":predict", {"signature_name": "nope", "instances": [[0.0] * 16]}, 400, "\"nope\" not found"),
    (":predict", {"instances": [[0.0] * 16], "inputs": [[0.0] * 16]}, 400, "exactly one of 'instances'"),
    (":predict", {"instances": [["a"] * 16]}, 400, "not a valid float32 tensor"),
    (":predict", b"{not json", 400, "JSON Parse error"),
    ("/versions/9:predict", {"instances": [[0.0] * 16]}, 404, "Servable not found for request: Specific(pgan, 9)"),
])
def test_errors(served, path, body, status, message):
    got_status, got = post(served["urls"]["pgan"] + path, body)
    assert got_status == status and list(got) == ["error"]
    assert message in got["error"]


def test_unknown_model(served):
    url = served["urls"]["pgan"].replace("/pgan", "/other")
    assert post(url + ":predict", {"instances": [[0.0] * 16]}) == (
        404, {"error": "Servable not found for request: Latest(other)"}
    )


def test_format_several_outputs():
    """Several named outputs: one object per instance (row) / one object of tensors (columnar)."""
    outputs = {"b_bytes": np.array([b"\x00\xff", b"hi"], dtype=object),
               "a": np.array([[1.5, 2.0], [3.0, 4.0]], dtype=np.float32),
               "c": np.array([b"x", b"y"], dtype=object)}
    row = serving_rest.format_predict_response(outputs, row_format=True)
    assert row == {"predictions": [
        {"a": [1.5, 2.0], "b_bytes": {"b64": "AP8="}, "c": "x"},
        {"a": [3.0, 4.0], "b_bytes": {"b64": "aGk="}, "c": "y"},
    ]}
    col = serving_rest.format_predict_response(outputs, row_format=False)
    assert col == {"outputs": {"a": [[1.5, 2.0], [3.0, 4.0]],
                               "b_bytes": [{"b64": "AP8="}, {"b64": "aGk="}], "c": ["x", "y"]}}
    with pytest.raises(serving_rest.RestError, match="same batch dimension"):
        serving_rest.format_predict_response({"a": np.zeros((2, 1)), "b": np.zeros((3, 1))}, row_format=True)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(shutil.which("tensorflow_model_server") is None,
                    reason="tensorflow_model_server is not on PATH (TF Serving is not on PyPI/Debian; "
                           "it cannot be installed on this machine)")
def test_real_tensorflow_model_server(served):
    """The real server answers the same requests exactly like the emulation."""
    port = _free_port()
    proc = subprocess.Popen(
        ["tensorflow_model_server", f"--rest_api_port={port}", "--port=0", "--model_name=pgan",
         f"--model_base_path={os.path.join(served['base'], 'pgan')}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    real = f"http://127.0.0.1:{port}/v1/models/pgan"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if get(real)[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.5)
        else:
            pytest.fail("tensorflow_model_server did not become ready in 120 s")
        emulated = served["urls"]["pgan"]
        for body in ({"instances": Z.tolist()}, {"inputs": {"latents": Z.tolist()}},
                     {"signature_name": "generate_png", "instances": Z.tolist()}):
            assert post(real + ":predict", body) == post(emulated + ":predict", body)
        assert post(real + ":predict", {"instances": Z.tolist()})[1]["predictions"] == keras_uint8(served["g2"], Z).tolist()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
