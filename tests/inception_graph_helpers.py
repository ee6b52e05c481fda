"""A small stand-in for the TF1 Inception graph `classify_image_graph_def.pb` (which cannot be
downloaded here), rebuilt deterministically: the real file's interface and quirks with random
weights.

Like the real file it is a GraphDef of a 2015 producer (version 1 < 9), with the JPEG front end
(`DecodeJpeg/contents` → `DecodeJpeg` → `Cast` → `ExpandDims` → `ResizeBilinear` → `Sub` 128 →
`Mul` 1/128), convolutions followed by `BatchNormWithGlobalNormalization` (removed in GraphDef
version 9, written here as NodeDefs by hand because TF 2 refuses to create it) and `Relu`, an old
`Concat` (`mixed_10/join`), `pool_3` (an 8×8 AvgPool to [1, 1, 1, 2048]), `pool_3/_reshape` to the
static batch-1 shape [1, 2048], and `softmax/logits/MatMul` (2048 × 1008) + bias → `softmax`.
Smaller than the real one: it resizes to 37² (not 299²) and has four convolutions. The archive
has the member layout of `inception-2015-12-05.tgz` (its files at the top level).
"""

import hashlib
import io
import os
import tarfile

import numpy as np
from tensorflow.core.framework import attr_value_pb2, graph_pb2, tensor_pb2, types_pb2

GRAPH_NAME = "classify_image_graph_def.pb"
ARCHIVE_NAME = "inception-2015-12-05.tgz"
ARCHIVE_MEMBERS = (
    GRAPH_NAME,
    "cropped_panda.jpg",
    "imagenet_2012_challenge_label_map_proto.pbtxt",
    "imagenet_synset_to_human_label_map.txt",
    "LICENSE",
)
PRODUCER = 1
RESIZE = 37
_FLOAT = types_pb2.DT_FLOAT


def _tensor(value):
    arr = np.asarray(value)  # (ascontiguousarray would make a scalar 1-d)
    dtype = {np.float32: types_pb2.DT_FLOAT, np.int32: types_pb2.DT_INT32}[arr.dtype.type]
    proto = tensor_pb2.TensorProto(dtype=dtype, tensor_content=arr.tobytes())
    proto.tensor_shape.dim.extend([proto.tensor_shape.Dim(size=d) for d in arr.shape])
    return proto


def _ints(values):
    return attr_value_pb2.AttrValue(list=attr_value_pb2.AttrValue.ListValue(i=list(values)))


class _Builder:
    def __init__(self, seed):
        self.graph = graph_pb2.GraphDef()
        self.graph.versions.producer = PRODUCER
        self.rng = np.random.default_rng(seed)

    def node(self, name, op, inputs=(), **attrs):
        n = self.graph.node.add(name=name, op=op, input=list(inputs))
        for key, value in attrs.items():
            n.attr[key].CopyFrom(value)
        return name

    def const(self, name, value, dtype=np.float32):
        arr = np.asarray(value, dtype)
        t = _tensor(arr)
        return self.node(
            name,
            "Const",
            dtype=attr_value_pb2.AttrValue(type=t.dtype),
            value=attr_value_pb2.AttrValue(tensor=t),
        )

    def conv_bn_relu(self, name, x, cin, cout, k, stride):
        """Conv2D → BatchNormWithGlobalNormalization → Relu, named as in the real graph."""
        r = self.rng
        w = self.const(
            f"{name}/conv2d_params", r.normal(0, 1 / np.sqrt(k * k * cin), (k, k, cin, cout))
        )
        conv = self.node(
            f"{name}/Conv2D",
            "Conv2D",
            [x, w],
            T=attr_value_pb2.AttrValue(type=_FLOAT),
            strides=_ints([1, stride, stride, 1]),
            padding=attr_value_pb2.AttrValue(s=b"VALID"),
            use_cudnn_on_gpu=attr_value_pb2.AttrValue(b=True),
        )
        params = {
            "moving_mean": r.normal(0, 0.1, cout),
            "moving_variance": r.uniform(0.5, 2.0, cout),
            "beta": r.normal(0, 0.1, cout),
            "gamma": r.uniform(0.5, 1.5, cout),
        }
        inputs = [self.const(f"{name}/batchnorm/{p}", v) for p, v in params.items()]
        bn = self.node(
            f"{name}/batchnorm",
            "BatchNormWithGlobalNormalization",
            [conv, *inputs],
            T=attr_value_pb2.AttrValue(type=_FLOAT),
            variance_epsilon=attr_value_pb2.AttrValue(f=0.001),
            scale_after_normalization=attr_value_pb2.AttrValue(b=False),
        )
        return self.node(name, "Relu", [bn], T=attr_value_pb2.AttrValue(type=_FLOAT))


def build_graph_def(seed=0, producer=PRODUCER, jpeg_input="Const"):
    """The stand-in GraphDef (same arguments → same bytes).

    `DecodeJpeg/contents` is a scalar string Const by default: the original's inception_score.py
    reads the rank of every tensor in the graph and fails on an unknown one, which a scalar
    Placeholder of a producer <= 21 graph has, so the real file's cannot be one. "Placeholder"
    builds that variant (our loader takes both).
    """
    b = _Builder(seed)
    b.graph.versions.producer = producer
    t = attr_value_pb2.AttrValue(type=_FLOAT)
    string = attr_value_pb2.AttrValue(type=types_pb2.DT_STRING)
    if jpeg_input == "Placeholder":
        b.node("DecodeJpeg/contents", "Placeholder", dtype=string)
    else:
        contents = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, string_val=[b""])
        b.node(
            "DecodeJpeg/contents",
            "Const",
            dtype=string,
            value=attr_value_pb2.AttrValue(tensor=contents),
        )
    b.node(
        "DecodeJpeg", "DecodeJpeg", ["DecodeJpeg/contents"], channels=attr_value_pb2.AttrValue(i=3)
    )
    b.node(
        "Cast",
        "Cast",
        ["DecodeJpeg"],
        SrcT=attr_value_pb2.AttrValue(type=types_pb2.DT_UINT8),
        DstT=t,
    )
    b.node("ExpandDims", "ExpandDims", ["Cast", b.const("ExpandDims/dim", 0, np.int32)], T=t)
    size = b.const("ResizeBilinear/size", [RESIZE, RESIZE], np.int32)
    b.node(
        "ResizeBilinear",
        "ResizeBilinear",
        ["ExpandDims", size],
        T=t,
        align_corners=attr_value_pb2.AttrValue(b=False),
    )
    b.node("Sub", "Sub", ["ResizeBilinear", b.const("Sub/y", 128.0)], T=t)
    b.node("Mul", "Mul", ["Sub", b.const("Mul/y", 1 / 128)], T=t)
    b.conv_bn_relu("conv", "Mul", 3, 8, 3, 2)  # 37² → 18²
    b.conv_bn_relu("conv_1", "conv", 8, 16, 3, 2)  # → 8²
    towers = [b.conv_bn_relu(f"mixed_10/tower_{i}", "conv_1", 16, 1024, 1, 1) for i in (0, 1)]
    b.node(
        "mixed_10/join",
        "Concat",
        [b.const("mixed_10/join/concat_dim", 3, np.int32), *towers],
        T=t,
        N=attr_value_pb2.AttrValue(i=2),
    )
    b.node(
        "pool_3",
        "AvgPool",
        ["mixed_10/join"],
        T=t,
        ksize=_ints([1, 8, 8, 1]),
        strides=_ints([1, 1, 1, 1]),
        padding=attr_value_pb2.AttrValue(s=b"VALID"),
    )
    b.node(
        "pool_3/_reshape",
        "Reshape",
        ["pool_3", b.const("pool_3/_reshape/shape", [1, 2048], np.int32)],
        T=t,
    )
    weights = b.const("softmax/weights", b.rng.normal(0, 0.3, (2048, 1008)))
    b.node("softmax/logits/MatMul", "MatMul", ["pool_3/_reshape", weights], T=t)
    b.node(
        "softmax/logits",
        "BiasAdd",
        ["softmax/logits/MatMul", b.const("softmax/biases", b.rng.normal(0, 1, 1008))],
        T=t,
    )
    b.node("softmax", "Softmax", ["softmax/logits"], T=t)
    return b.graph


def graph_bytes(seed=0, **kwargs):
    return build_graph_def(seed, **kwargs).SerializeToString(deterministic=True)


def write_graph(directory, data=None):
    """<directory>/classify_image_graph_def.pb; returns its path."""
    path = os.path.join(directory, GRAPH_NAME)
    with open(path, "wb") as f:
        f.write(graph_bytes() if data is None else data)
    return path


def write_archive(path, data=None):
    """A .tgz with the members of inception-2015-12-05.tgz, the graph first; returns path."""
    with tarfile.open(path, "w:gz") as archive:
        for name in ARCHIVE_MEMBERS:
            content = (
                (graph_bytes() if data is None else data) if name == GRAPH_NAME else name.encode()
            )
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(content), 1449273600  # 2015-12-05
            archive.addfile(info, io.BytesIO(content))
    return path


def reference_images():
    """(A, B): two uint8 sets of 45 RGB 24×24 images — A smooth colour blobs, B the same
    darkened and noised — deterministic."""
    rng = np.random.default_rng(2015)
    yy, xx = np.mgrid[0:24, 0:24] / 23.0
    centres = rng.uniform(0, 1, (45, 2, 1, 1))
    radius = rng.uniform(0.15, 0.5, (45, 1, 1))
    blob = np.exp(-((xx - centres[:, 0]) ** 2 + (yy - centres[:, 1]) ** 2) / radius**2)
    colour = rng.uniform(0, 255, (45, 1, 1, 3))
    a = blob[..., None] * colour + (1 - blob[..., None]) * rng.uniform(0, 255, (45, 1, 1, 3))
    b = 0.6 * a + rng.normal(0, 25, a.shape) + 20
    return tuple(np.clip(np.rint(x), 0, 255).astype(np.uint8) for x in (a, b))


def sha256(data):
    return hashlib.sha256(
        data if isinstance(data, bytes) else np.ascontiguousarray(data).tobytes()
    ).hexdigest()
