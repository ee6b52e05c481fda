"""TF Serving's REST predict contract on the real exported SavedModel (pgan_tf.serving.rest),
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
import tensorflow as tf
from cli_helpers import free_port
from export_helpers import TINY_COND, keras_uint8, tiny_generator
from PIL import Image

from pgan_tf.serving import export
from pgan_tf.serving import rest as serving_rest


def post(url, body):
    """(HTTP status, JSON response) of a POST with a JSON (or raw bytes) body."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
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
    servers = {
        name: serving_rest.make_server(os.path.join(base, name), name) for name in ("pgan", "cond")
    }
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers.values()]
    for t in threads:
        t.start()
    urls = {
        name: f"http://127.0.0.1:{s.server_address[1]}/v1/models/{name}"
        for name, s in servers.items()
    }
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
    assert (
        get(served["urls"]["pgan"] + "/versions/1")[1]["model_version_status"][0]["version"] == "1"
    )


def test_row_format_instances(served):
    url = served["urls"]["pgan"] + ":predict"
    expected = keras_uint8(served["g2"], Z).tolist()
    status, body = post(url, {"instances": Z.tolist()})
    assert status == 200 and list(body) == ["predictions"]
    assert body["predictions"] == expected  # one named output: a plain H x W x C list per instance
    status, body = post(
        url,
        {"signature_name": "serving_default", "instances": [{"latents": z} for z in Z.tolist()]},
    )
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
        pixels = np.stack(
            [np.array(Image.open(io.BytesIO(base64.b64decode(i["b64"])))) for i in items]
        )
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
    assert post(url, {"inputs": {"latents": Z.tolist(), "labels": Y.tolist()}}) == (
        200,
        {"outputs": expected},
    )
    status, body = post(url, {"instances": Z.tolist()})
    assert status == 400 and "each instance must be an object" in body["error"]
    status, body = post(url, {"inputs": {"latents": Z.tolist()}})
    assert (
        status == 400
        and "'inputs' must have exactly the inputs ['labels', 'latents']" in body["error"]
    )


@pytest.mark.parametrize(
    "path, body, status, message",
    [
        (
            ":predict",
            {"instances": [[0.0] * 15]},
            400,
            "input 'latents' has shape [1, 15], the signature expects [-1, 16]",
        ),
        (
            ":predict",
            {"signature_name": "nope", "instances": [[0.0] * 16]},
            400,
            '"nope" not found',
        ),
        (
            ":predict",
            {"instances": [[0.0] * 16], "inputs": [[0.0] * 16]},
            400,
            "exactly one of 'instances'",
        ),
        (":predict", {"instances": [["a"] * 16]}, 400, "not a valid float32 tensor"),
        (":predict", b"{not json", 400, "JSON Parse error"),
        (
            "/versions/9:predict",
            {"instances": [[0.0] * 16]},
            404,
            "Servable not found for request: Specific(pgan, 9)",
        ),
    ],
)
def test_errors(served, path, body, status, message):
    got_status, got = post(served["urls"]["pgan"] + path, body)
    assert got_status == status and list(got) == ["error"]
    assert message in got["error"]


def test_unknown_model(served):
    url = served["urls"]["pgan"].replace("/pgan", "/other")
    assert post(url + ":predict", {"instances": [[0.0] * 16]}) == (
        404,
        {"error": "Servable not found for request: Latest(other)"},
    )


def test_format_several_outputs():
    """Several named outputs: one object per instance (row) / one object of tensors (columnar)."""
    outputs = {
        "b_bytes": np.array([b"\x00\xff", b"hi"], dtype=object),
        "a": np.array([[1.5, 2.0], [3.0, 4.0]], dtype=np.float32),
        "c": np.array([b"x", b"y"], dtype=object),
    }
    row = serving_rest.format_predict_response(outputs, row_format=True)
    assert row == {
        "predictions": [
            {"a": [1.5, 2.0], "b_bytes": {"b64": "AP8="}, "c": "x"},
            {"a": [3.0, 4.0], "b_bytes": {"b64": "aGk="}, "c": "y"},
        ]
    }
    col = serving_rest.format_predict_response(outputs, row_format=False)
    assert col == {
        "outputs": {
            "a": [[1.5, 2.0], [3.0, 4.0]],
            "b_bytes": [{"b64": "AP8="}, {"b64": "aGk="}],
            "c": ["x", "y"],
        }
    }
    with pytest.raises(serving_rest.RestError, match="same batch dimension"):
        serving_rest.format_predict_response(
            {"a": np.zeros((2, 1)), "b": np.zeros((3, 1))}, row_format=True
        )


@pytest.mark.skipif(
    shutil.which("tensorflow_model_server") is None,
    reason="tensorflow_model_server is not on PATH (TF Serving is not on PyPI/Debian; "
    "it cannot be installed on this machine)",
)
def test_real_tensorflow_model_server(served):
    """The real server answers the same requests exactly like the emulation."""
    port = free_port()
    proc = subprocess.Popen(
        [
            "tensorflow_model_server",
            f"--rest_api_port={port}",
            "--port=0",
            "--model_name=pgan",
            f"--model_base_path={os.path.join(served['base'], 'pgan')}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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
        for body in (
            {"instances": Z.tolist()},
            {"inputs": {"latents": Z.tolist()}},
            {"signature_name": "generate_png", "instances": Z.tolist()},
        ):
            assert post(real + ":predict", body) == post(emulated + ":predict", body)
        assert (
            post(real + ":predict", {"instances": Z.tolist()})[1]["predictions"]
            == keras_uint8(served["g2"], Z).tolist()
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# ---- limits, metadata, abuse and load ---------------------------------------------------------


@pytest.fixture(scope="module")
def limited(served):
    """The unconditional model again, behind small limits (4 instances, 4000-byte bodies, 2 s
    stalls)."""
    server = serving_rest.make_server(
        os.path.join(served["base"], "pgan"),
        "pgan",
        max_batch_size=4,
        max_body_bytes=4000,
        request_timeout=2.0,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {
        "url": f"http://127.0.0.1:{server.server_address[1]}/v1/models/pgan",
        "port": server.server_address[1],
        "g2": served["g2"],
    }
    server.shutdown()
    server.server_close()


def raw_request(port, data, read_timeout=10.0):
    """Sends raw bytes to the server on 127.0.0.1, closes the sending side, and returns what it
    answers (b'' if it closes without answering)."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def test_batch_over_the_limit_is_refused_before_running(served, limited):
    # the case: 20,000 latents accepted whole; the default limit refuses them
    status, body = post(
        served["urls"]["pgan"] + ":predict", {"instances": np.zeros((20000, 16)).tolist()}
    )
    assert status == 400
    assert body["error"].startswith(
        f"batch of 20000 instances is over this server's limit of "
        f"{serving_rest.DEFAULT_MAX_BATCH_SIZE} per request (--max_batch_size)"
    )
    z = np.round(Z, 3)
    assert (
        post(limited["url"] + ":predict", {"instances": np.concatenate([z, z[:1]]).tolist()})[0]
        == 200
    )  # 4 is fine
    for body in (
        {"instances": np.concatenate([z, z]).tolist()},
        {"inputs": {"latents": np.concatenate([z, z]).tolist()}},
    ):
        status, got = post(limited["url"] + ":predict", body)
        assert (
            status == 400
            and "batch of 6 instances is over this server's limit of 4" in got["error"]
        )


def test_body_over_the_limit_is_413_unread(limited):
    big = {"instances": np.zeros((3, 16)).tolist(), "pad": "x" * 5000}
    status, body = post(limited["url"] + ":predict", big)
    assert status == 413
    assert body == {
        "error": f"request body of {len(json.dumps(big).encode())} bytes is over "
        "this server's limit of "
        f"4000 bytes (--max_body_bytes)"
    }
    # a huge announced body is refused at once, without waiting for (or reading) any of it
    answer = raw_request(
        limited["port"],
        b"POST /v1/models/pgan:predict HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: 1000000000000\r\n\r\n",
    )
    assert (
        answer.startswith(b"HTTP/1.0 413") and b"over this server's limit of 4000 bytes" in answer
    )


@pytest.mark.parametrize(
    "request_bytes, status, message",
    [
        (
            b"POST /v1/models/pgan:predict HTTP/1.1\r\nHost: x\r\n\r\n",
            b"411",
            b"Content-Length header is required",
        ),
        (
            b"POST /v1/models/pgan:predict HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
            b"400",
            b"invalid Content-Length",
        ),
        (
            b"POST /v1/models/pgan:predict HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
            b"400",
            b"invalid Content-Length",
        ),
        (
            b"POST /v1/models/pgan:predict HTTP/1.1\r\nContent-Length: 4\r\n\r\n\xff\xfe\x00\x01",
            b"400",
            b"JSON Parse error",
        ),
        (
            b"POST /v1/models/pgan:predict HTTP/1.1\r\nContent-Length: 10\r\n\r\n[1,",
            b"400",
            b"ended after 3 of 10 bytes",
        ),
        (b"GET /v1/models/pgan/metadata/extra HTTP/1.1\r\n\r\n", b"404", b"Malformed request"),
    ],
)
def test_malformed_requests_get_an_answer_and_the_server_lives(
    limited, request_bytes, status, message
):
    answer = raw_request(limited["port"], request_bytes, read_timeout=10.0)
    assert answer.split(b" ")[1] == status and message in answer
    assert get(limited["url"])[0] == 200  # still serving


def test_a_stalled_client_is_cut_off_and_others_are_served(limited):
    with socket.create_connection(("127.0.0.1", limited["port"]), timeout=30) as stalled:
        stalled.sendall(
            b"POST /v1/models/pgan:predict HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"
        )  # then nothing
        assert post(limited["url"] + ":predict", {"instances": Z[:1].tolist()})[0] == 200
        start = time.monotonic()
        assert stalled.recv(65536) == b""  # closed by the server after its 2 s request timeout
        assert time.monotonic() - start < 20


def test_metadata_like_tf_serving(served):
    status, body = get(served["urls"]["pgan"] + "/metadata")
    assert status == 200 and sorted(body) == ["metadata", "model_spec"]
    assert body["model_spec"] == {"name": "pgan", "signature_name": "", "version": "2"}
    signatures = body["metadata"]["signature_def"]["signature_def"]
    default = signatures["serving_default"]
    assert default["method_name"] == "tensorflow/serving/predict"
    latents = default["inputs"]["latents"]
    assert latents["dtype"] == "DT_FLOAT" and latents["name"].startswith("serving_default_latents")
    assert latents["tensor_shape"] == {
        "dim": [{"size": "-1", "name": ""}, {"size": "16", "name": ""}],
        "unknown_rank": False,
    }
    images = default["outputs"]["images"]
    assert images["dtype"] == "DT_UINT8"
    assert [d["size"] for d in images["tensor_shape"]["dim"]] == ["-1", "8", "8", "3"]
    assert "generate_png" in signatures
    assert get(served["urls"]["pgan"] + "/versions/1/metadata")[1]["model_spec"]["version"] == "1"
    cond = get(served["urls"]["cond"] + "/metadata")[1]["metadata"]["signature_def"][
        "signature_def"
    ]
    assert sorted(cond["serving_default"]["inputs"]) == ["labels", "latents"]
    assert get(served["urls"]["pgan"] + "/versions/9/metadata") == (
        404,
        {"error": "Servable not found for request: Specific(pgan, 9)"},
    )


def test_concurrent_clients_all_answered_correctly(served):
    """8 threads × 50 requests, each with its own latents; every answer is that request's images
    (as the same SavedModel computes them alone: float rounding may differ with the batch size)."""
    import tensorflow as tf

    url = served["urls"]["pgan"] + ":predict"
    rng = np.random.RandomState(11)
    latents = rng.randn(8, 50, 2, 16).astype(np.float32)
    fn = tf.saved_model.load(os.path.join(served["base"], "pgan", "2")).signatures[
        "serving_default"
    ]
    expected = np.stack(
        [
            [fn(latents=tf.constant(z))["images"].numpy() for z in per_thread]
            for per_thread in latents
        ]
    )
    failures = []

    def client(t):
        for i in range(50):
            status, body = post(url, {"instances": latents[t, i].tolist()})
            if status != 200 or body["predictions"] != expected[t, i].tolist():
                failures.append((t, i, status))

    threads = [threading.Thread(target=client, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    assert failures == []


def test_large_requests_run_in_memory_sized_chunks():
    """A request's instances go through the model a memory-sized chunk at a time (1 at 1024²),
    and the answer is the same as one call."""
    specs = {
        "images": tf.TensorSpec([None, 1024, 1024, 3], tf.uint8),
        "images_bytes": tf.TensorSpec([None], tf.string),
    }
    assert serving_rest.chunk_size(specs) == 1
    assert serving_rest.chunk_size({"scores": tf.TensorSpec([None, 1], tf.float32)}) is None
    calls = []

    def fn(latents):
        calls.append(int(latents.shape[0]))
        return {
            "images": tf.cast(latents[:, :2] * 10, tf.uint8),
            "images_bytes": tf.strings.as_string(latents[:, 0]),
        }

    z = tf.constant(np.arange(14, dtype=np.float32).reshape(7, 2))
    chunked = serving_rest.run_in_chunks(fn, {"latents": z}, 3)
    whole = serving_rest.run_in_chunks(fn, {"latents": z}, None)
    assert calls == [3, 3, 1, 7]
    for k in whole:
        np.testing.assert_array_equal(chunked[k], whole[k])
