"""A small emulation of TensorFlow Serving's REST predict API on top of a real SavedModel.

TF Serving (`tensorflow_model_server`) cannot be installed from PyPI, so this module reproduces
the parts of its REST contract our exports rely on, to test them and to try an export locally:
`POST /v1/models/<name>[/versions/<v>]:predict` with the row ("instances" → "predictions") or
columnar ("inputs" → "outputs") format, `{"b64": ...}` for binary strings (outputs whose name ends
in `_bytes`), `GET /v1/models/<name>[/versions/<v>]` for status, `GET .../metadata` for the
signatures (TF Serving's GetModelMetadataResponse as JSON), and `{"error": ...}` on failure.

Requests are bounded: a body over `max_body_bytes` is refused unread (413), a batch over
`max_batch_size` instances is refused before the model runs (400), a client that stalls is cut
off after `request_timeout` seconds, and no request, however malformed, stops the server (an
unexpected failure is a 500 with its reason). It listens on 127.0.0.1 unless told otherwise.

    python -m pgan_tf.serving_rest --model_base_path exports/pgan --model_name pgan --port 8501
"""

import base64
import http.server
import json
import os
import re
import threading

import numpy as np
import tensorflow as tf

from pgan_tf.core import tf_compat
from pgan_tf.core.errors import first_line
from pgan_tf.model import sampling

_PATH_RE = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?(?:(?P<verb>:predict)|(?P<metadata>/metadata))?$"
)
DEFAULT_SIGNATURE = "serving_default"
DEFAULT_MAX_BATCH_SIZE = 256
DEFAULT_MAX_BODY_BYTES = 64 << 20
DEFAULT_REQUEST_TIMEOUT = 30.0


class RestError(Exception):
    """A request the server answers with an HTTP error status and {"error": message}."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def signature_specs(signature_fn):
    """({input name: TensorSpec}, {output name: TensorSpec}) of a loaded signature function."""
    return dict(signature_fn.structured_input_signature[1]), dict(signature_fn.structured_outputs)


def chunk_size(output_specs):
    """Instances per model call: sized by memory from the largest image output (a 1024² generator
    runs one or two at a time however many a request holds); unbounded without image outputs."""
    sizes = [
        sampling.output_batch_size(*spec.shape[1:])
        for spec in output_specs.values()
        if spec.shape.rank == 4 and None not in spec.shape[1:]
    ]
    return min(sizes) if sizes else None


def run_in_chunks(fn, inputs, chunk):
    """{output: np.ndarray} of `fn(**inputs)`, run `chunk` instances at a time when inputs are
    batched."""
    batch = {len(v) for v in inputs.values() if np.ndim(v)}
    if chunk is None or len(batch) != 1 or batch.pop() <= chunk:
        return {k: v.numpy() for k, v in fn(**inputs).items()}
    n = len(next(iter(inputs.values())))
    parts = [fn(**{k: v[i : i + chunk] for k, v in inputs.items()}) for i in range(0, n, chunk)]
    return {k: np.concatenate([p[k].numpy() for p in parts]) for k in parts[0]}


def _decode_value(value):
    """JSON value → Python value with {"b64": s} objects turned into bytes (recursively)."""
    if isinstance(value, dict):
        if set(value) == {"b64"}:
            return base64.b64decode(value["b64"])
        raise RestError(400, f"unexpected JSON object in a tensor value: {sorted(value)}")
    if isinstance(value, list):
        return [_decode_value(v) for v in value]
    return value


def json_to_tensor(name, value, spec):
    """A JSON tensor value → np.ndarray of the spec's dtype, shape checked against the spec."""
    dtype = spec.dtype.as_numpy_dtype
    try:
        array = np.array(
            _decode_value(value), dtype=object if spec.dtype.name == "string" else dtype
        )
    except (TypeError, ValueError) as e:
        raise RestError(
            400, f"input '{name}' is not a valid {spec.dtype.name} tensor: {e}"
        ) from None
    expected = spec.shape.as_list()
    if array.ndim != len(expected) or any(
        e is not None and e != a for e, a in zip(expected, array.shape)
    ):
        want = [-1 if e is None else e for e in expected]
        raise RestError(
            400, f"input '{name}' has shape {list(array.shape)}, the signature expects {want}"
        )
    return array


def tensor_to_json(name, array):
    """np.ndarray → nested JSON lists; strings base64-wrapped when the name ends in `_bytes`."""
    array = np.asarray(array)
    if array.dtype.kind in "SO":

        def encode(b):
            return (
                {"b64": base64.b64encode(b).decode("ascii")}
                if name.endswith("_bytes")
                else b.decode("utf-8")
            )

        return (
            np.vectorize(encode, otypes=[object])(array).tolist() if array.size else array.tolist()
        )
    return array.tolist()


def parse_predict_body(body, input_specs):
    """Request JSON → ({input name: np.ndarray}, row_format) for a signature's inputs."""
    if not isinstance(body, dict):
        raise RestError(400, "request body must be a JSON object")
    if ("instances" in body) == ("inputs" in body):
        raise RestError(
            400,
            "request must have exactly one of 'instances' (row format) or 'inputs' (columnar "
            "format)",
        )
    names = sorted(input_specs)
    if "instances" in body:
        instances = body["instances"]
        if not isinstance(instances, list) or not instances:
            raise RestError(400, "'instances' must be a non-empty list")
        if all(isinstance(i, dict) and set(i) != {"b64"} for i in instances):
            for i in instances:
                if sorted(i) != names:
                    raise RestError(
                        400, f"each instance must have exactly the inputs {names}, got {sorted(i)}"
                    )
            columns = {n: [i[n] for i in instances] for n in names}
        elif len(names) == 1:
            columns = {names[0]: instances}
        else:
            raise RestError(
                400, f"the signature has several inputs {names}: each instance must be an object"
            )
        return {n: json_to_tensor(n, v, input_specs[n]) for n, v in columns.items()}, True
    inputs = body["inputs"]
    if isinstance(inputs, dict) and set(inputs) != {"b64"}:
        if sorted(inputs) != names:
            raise RestError(
                400, f"'inputs' must have exactly the inputs {names}, got {sorted(inputs)}"
            )
        columns = inputs
    elif len(names) == 1:
        columns = {names[0]: inputs}
    else:
        raise RestError(
            400, f"the signature has several inputs {names}: 'inputs' must be an object"
        )
    return {n: json_to_tensor(n, v, input_specs[n]) for n, v in columns.items()}, False


def format_predict_response(outputs, row_format):
    """Signature outputs → response JSON: {"predictions": ...} (row) or {"outputs": ...} (columnar).

    A single output is given without its name; several outputs become one object per instance
    (row) or one object of named tensors (columnar).
    """
    names = sorted(outputs)
    if not row_format:
        if len(names) == 1:
            return {"outputs": tensor_to_json(names[0], outputs[names[0]])}
        return {"outputs": {n: tensor_to_json(n, outputs[n]) for n in names}}
    batch = {np.asarray(outputs[n]).shape[0] if np.ndim(outputs[n]) else None for n in names}
    if len(batch) != 1 or None in batch:
        raise RestError(
            400, "row format needs every output to have the same batch dimension; use 'inputs'"
        )
    rows = {n: tensor_to_json(n, outputs[n]) for n in names}
    if len(names) == 1:
        return {"predictions": rows[names[0]]}
    return {"predictions": [dict(zip(names, vals)) for vals in zip(*(rows[n] for n in names))]}


def predict(loaded, body, max_batch_size=None):
    """Runs one REST predict request body (a dict) against a loaded SavedModel; returns the
    response dict or raises RestError (a batch over `max_batch_size` instances is a 400)."""
    name = (
        body.get("signature_name", DEFAULT_SIGNATURE)
        if isinstance(body, dict)
        else DEFAULT_SIGNATURE
    )
    if name not in loaded.signatures:
        raise RestError(400, f'serving signature name: "{name}" not found in signature def')
    fn = loaded.signatures[name]
    input_specs, output_specs = signature_specs(fn)
    inputs, row_format = parse_predict_body(body, input_specs)
    if row_format and len({len(v) for v in inputs.values()}) != 1:
        raise RestError(400, "all inputs of the row format must have the same batch size")
    batch = max((len(v) if np.ndim(v) else 1 for v in inputs.values()), default=0)
    if max_batch_size is not None and batch > max_batch_size:
        raise RestError(
            400,
            f"batch of {batch} instances is over this server's limit of {max_batch_size} per "
            "request (--max_batch_size); split it into several requests",
        )
    try:
        tensors = {k: tf.constant(v, dtype=input_specs[k].dtype) for k, v in inputs.items()}
        outputs = run_in_chunks(fn, tensors, chunk_size(output_specs))
    except (tf.errors.OpError, ValueError, TypeError) as e:
        raise RestError(400, first_line(e)) from None
    return format_predict_response(outputs, row_format)


class ModelRepository:
    """The integer versions of one model under its base path, loaded on first use."""

    def __init__(self, model_base_path, model_name):
        self.base = os.path.abspath(model_base_path)
        self.name = model_name
        self._loaded = {}
        self._lock = threading.Lock()

    def versions(self):
        if not os.path.isdir(self.base):
            return []
        return sorted(
            int(d)
            for d in os.listdir(self.base)
            if d.isdigit() and os.path.isfile(os.path.join(self.base, d, "saved_model.pb"))
        )

    def resolve(self, name, version):
        """The version number a request means (latest when None), or a 404 RestError."""
        versions = self.versions()
        if (
            name != self.name
            or not versions
            or (version is not None and int(version) not in versions)
        ):
            what = f"Latest({name})" if version is None else f"Specific({name}, {version})"
            raise RestError(404, f"Servable not found for request: {what}")
        return versions[-1] if version is None else int(version)

    def get(self, version):
        with self._lock:
            if version not in self._loaded:
                self._loaded[version] = tf.saved_model.load(os.path.join(self.base, str(version)))
            return self._loaded[version]

    def signature_defs(self, version):
        with self._lock:
            key = ("signature_defs", version)
            if key not in self._loaded:
                self._loaded[key] = signature_def_map(os.path.join(self.base, str(version)))
            return self._loaded[key]


def signature_def_map(export_dir):
    """The `serve` MetaGraph's signatures of a SavedModel as JSON, field for field as TF Serving
    prints a SignatureDefMap (proto field names, default values included, int64 as strings)."""
    from google.protobuf import json_format

    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as f:
        saved = tf_compat.saved_model_proto(f.read())
    graph = next(
        (m for m in saved.meta_graphs if "serve" in m.meta_info_def.tags), saved.meta_graphs[0]
    )
    signatures = {}
    for name in sorted(graph.signature_def):
        try:
            d = json_format.MessageToDict(
                graph.signature_def[name],
                preserving_proto_field_name=True,
                always_print_fields_with_no_presence=True,
            )
        except TypeError:  # protobuf < 5 names the option differently
            d = json_format.MessageToDict(
                graph.signature_def[name],
                preserving_proto_field_name=True,
                including_default_value_fields=True,
            )
        signatures[name] = d
    return {"signature_def": signatures}


def _metadata(repo, name, version):
    """TF Serving's GetModelMetadataResponse as JSON: the model spec and its signature defs."""
    number = repo.resolve(name, version)
    return {
        "model_spec": {"name": name, "signature_name": "", "version": str(number)},
        "metadata": {"signature_def": repo.signature_defs(number)},
    }


def _status(repo, name, version):
    """The model status response: every available version, or the one asked for."""
    versions = [repo.resolve(name, version)] if version is not None else repo.versions()
    ok = {"error_code": "OK", "error_message": ""}
    return {
        "model_version_status": [
            {"version": str(v), "state": "AVAILABLE", "status": ok}
            for v in sorted(versions, reverse=True)
        ]
    }


class RestHandler(http.server.BaseHTTPRequestHandler):
    """Answers the REST routes for the class's `repo` within its limits; `make_handler` makes the
    subclass that a server is given, one per repository and set of limits."""

    repo = None  # the ModelRepository served
    max_batch_size = DEFAULT_MAX_BATCH_SIZE
    max_body_bytes = DEFAULT_MAX_BODY_BYTES
    timeout = DEFAULT_REQUEST_TIMEOUT  # socket timeout: a client that stalls mid-request is cut off

    def _reply(self, status, payload):
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method):
        m = _PATH_RE.match(self.path)
        if not m or (method == "POST") != bool(m.group("verb")):
            raise RestError(404, f"Malformed request: {method} {self.path}")
        version = self.repo.resolve(m.group("name"), m.group("version"))
        if method == "GET":
            if m.group("metadata"):
                return _metadata(self.repo, m.group("name"), m.group("version"))
            return _status(self.repo, m.group("name"), m.group("version"))
        body = self._read_body()
        try:
            body = json.loads(body or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise RestError(400, f"JSON Parse error: {e}") from None
        return predict(self.repo.get(version), body, self.max_batch_size)

    def _read_body(self):
        """The request body, refused unread when it is over the limit (the connection closes)."""
        text = self.headers.get("Content-Length")
        if text is None:
            self.close_connection = True
            raise RestError(411, "a Content-Length header is required")
        try:
            length = int(text)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise RestError(400, f"invalid Content-Length: {text!r}")
        if length > self.max_body_bytes:
            self.close_connection = True
            raise RestError(
                413,
                f"request body of {length} bytes is over this server's limit of "
                f"{self.max_body_bytes} bytes (--max_body_bytes)",
            )
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            raise RestError(400, f"request body ended after {len(body)} of {length} bytes")
        return body

    def _serve(self, method):
        try:
            self._reply(200, self._route(method))
        except RestError as e:
            self._reply(e.status, {"error": e.message})
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client went away or stalled: nobody to answer
        except Exception as e:  # noqa: BLE001 - one bad request must never stop the server
            self.close_connection = True
            self._reply(500, {"error": f"internal error: {first_line(e, with_type=True)}"})

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def log_message(self, format, *args):
        return


def make_handler(
    repo,
    max_batch_size=DEFAULT_MAX_BATCH_SIZE,
    max_body_bytes=DEFAULT_MAX_BODY_BYTES,
    request_timeout=DEFAULT_REQUEST_TIMEOUT,
):
    """A BaseHTTPRequestHandler class answering the REST routes for `repo`, within the limits."""
    limits = {
        "repo": repo,
        "max_batch_size": max_batch_size,
        "max_body_bytes": max_body_bytes,
        "timeout": request_timeout,
    }
    return type("Handler", (RestHandler,), limits)


def make_server(
    model_base_path,
    model_name,
    host="127.0.0.1",
    port=0,
    *,
    max_batch_size=DEFAULT_MAX_BATCH_SIZE,
    max_body_bytes=DEFAULT_MAX_BODY_BYTES,
    request_timeout=DEFAULT_REQUEST_TIMEOUT,
):
    """A ThreadingHTTPServer serving the model (port 0 picks a free port: see server_address)."""
    handler = make_handler(
        ModelRepository(model_base_path, model_name),
        max_batch_size,
        max_body_bytes,
        request_timeout,
    )
    server = http.server.ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
