"""The TF1 Inception graph behind published FIDs and Inception Scores: `classify_image_graph_def.pb`
from `inception-2015-12-05.tgz`, as TTUR's `fid.py` and the original's `metrics/` run it.

The file is a 2015 GraphDef: frozen weights, a JPEG decoder in front, batch-1 static shapes and
`BatchNormWithGlobalNormalization` ops that GraphDef version 9 removed. TF2 functions refuse those
ops, so the graph is imported into a `tf.Graph` of its own (which keeps the file's producer
version) and run by a compat.v1 Session. It is batched without touching its shapes: our
[N, H, W, 3] float placeholder replaces `ExpandDims:0`, the tensor both reference codes feed (they
patch the batch-1 shapes instead), so every shape after it is inferred for any N. Images go in as
0–255 floats through the graph's own resize and scaling. Outputs, as the references take them:
`pool_3` (FID's features) and pool_3 · the weights of `softmax/logits/MatMul` without the bias
(the logits of the original's `inception_score.py`).
"""

import os
import tarfile
import zlib

import numpy as np

from pgan_tf.core.errors import first_line

GRAPH_NAME = "classify_image_graph_def.pb"
ARCHIVE_NAME = "inception-2015-12-05.tgz"
INPUT_TENSOR = "ExpandDims:0"
FEATURES_TENSOR = "pool_3:0"
LOGITS_MATMUL = "softmax/logits/MatMul"
_REQUIRED_NODES = ("ExpandDims", "pool_3", LOGITS_MATMUL)
_ARCHIVE_SUFFIXES = (".tgz", ".tar.gz", ".tar")


class InceptionGraphError(ValueError):
    """A graph file that is damaged, of the wrong kind, or not the Inception graph (one line)."""


def graph_file_in(directory):
    """The graph (or its archive) inside a directory, or None."""
    for name in (GRAPH_NAME, ARCHIVE_NAME):
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def is_graph_path(path):
    """True for a .pb file, a .tgz/.tar.gz archive, or a directory holding either by its name."""
    if os.path.isdir(path):
        return graph_file_in(path) is not None
    return path.endswith(".pb") or path.endswith(_ARCHIVE_SUFFIXES)


def _read_archive(path):
    """The bytes of classify_image_graph_def.pb inside a tar archive (read in memory)."""
    try:
        with tarfile.open(path, "r:*") as archive:
            members = [m for m in archive.getmembers() if m.isfile()]
            for member in members:
                if os.path.basename(member.name) == GRAPH_NAME:
                    return archive.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        if isinstance(e, FileNotFoundError):
            raise
        first = first_line(e).rstrip(":")
        raise InceptionGraphError(f"{path}: not a readable .tgz archive ({first})") from None
    names = ", ".join(m.name for m in members[:5]) or "nothing"
    raise InceptionGraphError(f"{path}: the archive holds no {GRAPH_NAME} (it holds {names})")


def read_graph_def(path):
    """(GraphDef, the name of the file it came from) for a .pb, a .tgz or a directory."""
    import tensorflow as tf
    from google.protobuf.message import DecodeError

    if os.path.isdir(path):
        found = graph_file_in(path)
        if found is None:
            raise InceptionGraphError(f"{path}: holds neither {GRAPH_NAME} nor {ARCHIVE_NAME}")
        path = found
    if path.endswith(_ARCHIVE_SUFFIXES):
        data, where = _read_archive(path), f"{path}:{GRAPH_NAME}"
    else:
        with open(path, "rb") as f:
            data, where = f.read(), path
    graph_def = tf.compat.v1.GraphDef()  # the public name of TensorFlow's GraphDef proto
    try:
        graph_def.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as e:
        raise InceptionGraphError(
            f"{where}: not a TensorFlow GraphDef (damaged or truncated?): {e}"
        ) from None
    names = {node.name for node in graph_def.node}
    missing = [n for n in _REQUIRED_NODES if n not in names]
    if missing:
        raise InceptionGraphError(
            f"{where}: a GraphDef without {', '.join(missing)}: not the Inception graph "
            f"{GRAPH_NAME} ({len(names)} nodes)"
        )
    return graph_def, where


class InceptionGraph:
    """The Inception GraphDef in a session of its own: run(images) → (pool_3, logits)."""

    def __init__(self, path):
        import tensorflow as tf

        graph_def, self.where = read_graph_def(path)
        self.producer = graph_def.versions.producer
        self._graph = tf.Graph()
        with self._graph.as_default():
            self._images = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], "images")
            try:
                (pool,) = tf.compat.v1.import_graph_def(
                    graph_def,
                    input_map={INPUT_TENSOR: self._images},
                    return_elements=[FEATURES_TENSOR],
                    name="inception",
                )
                weights = self._graph.get_operation_by_name(f"inception/{LOGITS_MATMUL}").inputs[1]
                dim = pool.shape[-1]
                if dim is None or weights.shape[0] != dim:
                    raise ValueError(f"pool_3 has shape {pool.shape}, weights {weights.shape}")
            except (ValueError, TypeError, tf.errors.OpError) as e:
                raise InceptionGraphError(
                    f"{self.where}: cannot be imported: {first_line(e)}"
                ) from None
            self._features = tf.reshape(pool, [-1, dim])
            self._logits = tf.matmul(self._features, weights)
        self.feature_dim = int(dim)
        self.num_classes = int(weights.shape[1])
        self._session = tf.compat.v1.Session(graph=self._graph)

    def run(self, images):
        """(features [N, 2048] float32, logits [N, K] float32) of float NHWC RGB images in 0–255."""
        x = np.asarray(images, np.float32)
        if x.ndim != 4 or x.shape[-1] != 3:
            raise ValueError(f"expected RGB NHWC images, got shape {x.shape}")
        return self._session.run([self._features, self._logits], {self._images: x})

    def close(self):
        self._session.close()
