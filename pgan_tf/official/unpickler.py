"""Reads the original implementation's network pickles as data, never as code.

A pickle can name any importable callable and have it run while loading. `read_network_pickle`
uses an unpickler that resolves only the few names the two network formats need — the network
class (`tfutil.Network` of the TensorFlow version, `network.Network` of the Theano one), numpy
arrays, dtypes and scalars (numeric only) and `copyreg`'s object reconstructor — each to a stand-in
defined here, and refuses anything else before it is called. The network's state is kept as a
plain dict; its `build_module_src` (source the original would `exec`) is never looked at.
"""

import collections
import io
import pickle
from typing import NoReturn

import numpy as np


class OfficialPickleError(ValueError):
    """A file that is not a readable network pickle of the original, or that names code."""


class NetworkState:
    """Stand-in for the original's network class: keeps the `__setstate__` dict, runs nothing.

    `format` is "tfutil" for the TensorFlow version's `tfutil.Network` and "theano" for the
    Theano implementation's `network.Network` (the published pickles' original format).
    """

    format = None

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise OfficialPickleError(
                f"{type(self).__name__} state is a {type(state).__name__}, not a dict"
            )
        self.state = state


class TfutilNetworkState(NetworkState):
    format = "tfutil"


class TheanoNetworkState(NetworkState):
    format = "theano"


def _checked_dtype(*args):
    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise OfficialPickleError(
            "the pickle holds a numpy array of Python objects; networks hold numbers only"
        )
    return dtype


def _frombuffer(buf, dtype, shape, order):
    return np.frombuffer(buf, dtype=_checked_dtype(dtype)).reshape(shape, order=order).copy()


def _reconstruct(cls, shape, dtype):
    if cls is not np.ndarray:
        raise OfficialPickleError(f"array reconstruction of {cls!r}; only numpy.ndarray is allowed")
    return np.ndarray.__new__(np.ndarray, shape, _checked_dtype(dtype))


def _scalar(dtype, data=None):
    dtype = _checked_dtype(dtype)
    if isinstance(data, str):  # Python 2 pickles read with encoding="latin1"
        data = data.encode("latin1")
    if not isinstance(data, (bytes, bytearray)) or len(data) != dtype.itemsize:
        raise OfficialPickleError(f"malformed numpy scalar of dtype {dtype}")
    return np.frombuffer(bytes(data), dtype=dtype)[0]


def _latin1_bytes(text, encoding):
    """_codecs.encode as Python 3 pickles bytes under protocols 0-2: latin-1 text → bytes only."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise OfficialPickleError("_codecs.encode used for something other than bytes")
    return text.encode("latin1")


def _reconstructor(cls, base, state):
    """copyreg._reconstructor (protocol 0/1 pickles) for the network stand-ins only."""
    if (
        not (isinstance(cls, type) and issubclass(cls, NetworkState))
        or base is not object
        or state is not None
    ):
        raise OfficialPickleError(
            "copyreg._reconstructor used on something other than the network object"
        )
    return object.__new__(cls)


_NUMPY_MODULES = (
    "numpy.core.multiarray",
    "numpy._core.multiarray",
    "numpy.core.numeric",
    "numpy._core.numeric",
)
_ALLOWED = {
    ("tfutil", "Network"): TfutilNetworkState,
    ("network", "Network"): TheanoNetworkState,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _checked_dtype,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("copy_reg", "_reconstructor"): _reconstructor,
    ("builtins", "object"): object,
    ("__builtin__", "object"): object,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("_codecs", "encode"): _latin1_bytes,
}
for _module in _NUMPY_MODULES:
    _ALLOWED[(_module, "_reconstruct")] = _reconstruct
    _ALLOWED[(_module, "scalar")] = _scalar
    _ALLOWED[(_module, "_frombuffer")] = _frombuffer


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise OfficialPickleError(
                f"refused: the pickle names {module}.{name}, which is not part of a network pickle "
                f"(allowed: tfutil.Network, network.Network, numpy arrays); nothing was run"
            ) from None  # copyreg extension codes are resolved through find_class too

    def persistent_load(self, pid: object) -> NoReturn:
        raise OfficialPickleError(
            "refused: the pickle uses persistent ids, which network pickles never do"
        )


def loads(data: bytes) -> object:
    """Unpickles `data` with the restricted unpickler (Python 2 strings read as latin-1)."""
    try:
        return _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except OfficialPickleError:
        raise
    except Exception as e:  # a truncated or foreign file: say so in one line
        raise OfficialPickleError(
            f"not a readable network pickle ({type(e).__name__}: {e})"
        ) from None


def read_network_pickle(path: str) -> list[NetworkState]:
    """[NetworkState] of the pickle at `path`: (G, D, Gs) as the original's training saves them."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise OfficialPickleError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        obj = loads(data)
    except OfficialPickleError as e:
        raise OfficialPickleError(f"{path}: {e}") from None
    if not (
        isinstance(obj, (tuple, list))
        and len(obj) == 3
        and all(isinstance(n, NetworkState) for n in obj)
    ):
        raise OfficialPickleError(
            f"{path}: expected a tuple (G, D, Gs) of networks, found {_describe(obj)}"
        )
    for net in obj:
        if not hasattr(net, "state"):
            raise OfficialPickleError(f"{path}: a network object without state")
    return list(obj)


def _describe(obj):
    if isinstance(obj, (tuple, list)):
        return (
            f"a {type(obj).__name__} of {len(obj)} ({', '.join(type(o).__name__ for o in obj[:4])})"
        )
    return f"a {type(obj).__name__}"
