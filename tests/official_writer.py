"""Test-only writer of the original implementation's network pickles, in both of its formats.

`tfutil.Network` (state version 2: `static_kwargs`, `build_func_name`, `variables`) and the
Theano-era `network.Network` (`build_func_spec`, `param_values`, `toplevel_params`), made from
placeholder classes under those module names so the files have the structure the original writes.
Weights are random; the Theano-era state is made from version-2 variables by inverting the
conversion facts (see pgan_tf/official/legacy.py), with a random wscale per layer.
"""

import contextlib
import pickle
import sys
import types

import numpy as np

from pgan_tf.official.legacy import LINEAR, RELU, he_std


class _StateHolder:
    def __init__(self, state):
        self._state = state

    def __getstate__(self):
        return self._state


@contextlib.contextmanager
def _placeholder_module(module, name="Network"):
    """Makes `module.Network` importable while pickling, so pickle records that global."""
    cls = type(name, (_StateHolder,), {"__module__": module, "__qualname__": name})
    mod = types.ModuleType(module)
    setattr(mod, name, cls)
    saved = sys.modules.get(module)
    sys.modules[module] = mod
    try:
        yield cls
    finally:
        if saved is None:
            del sys.modules[module]
        else:
            sys.modules[module] = saved


def write_pickle(path, states, fmt="tfutil", protocol=None):
    """Pickles (G, D, Gs) with the given state dicts as the original's network class of `fmt`."""
    module = {"tfutil": "tfutil", "theano": "network"}[fmt]
    protocol = pickle.HIGHEST_PROTOCOL if protocol is None else protocol
    with _placeholder_module(module) as cls, open(path, "wb") as f:
        pickle.dump(tuple(cls(s) for s in states), f, protocol=protocol)


def nf_fn(fmap_base, fmap_max, fmap_decay=1.0):
    return lambda stage: min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)


def g_variables(
    rng,
    resolution,
    latent_size,
    fmap_base,
    fmap_max,
    num_channels=3,
    label_size=0,
    fused_scale=False,
    lod=0.0,
):
    """Version-2 G_paper variables in creation order, N(0, 1) (biases too)."""
    nf, r = nf_fn(fmap_base, fmap_max), int(np.log2(resolution))

    def w(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    out = [
        ("lod", np.float32(lod)),
        ("4x4/Dense/weight", w(latent_size + label_size, nf(1) * 16)),
        ("4x4/Dense/bias", w(nf(1))),
        ("4x4/Conv/weight", w(3, 3, nf(1), nf(1))),
        ("4x4/Conv/bias", w(nf(1))),
        (f"ToRGB_lod{r - 2}/weight", w(1, 1, nf(1), num_channels)),
        (f"ToRGB_lod{r - 2}/bias", w(num_channels)),
    ]
    for k in range(3, r + 1):
        t = f"{2**k}x{2**k}"
        if fused_scale:
            out += [
                (f"{t}/Conv0_up/weight", w(3, 3, nf(k - 1), nf(k - 2))),
                (f"{t}/Conv0_up/bias", w(nf(k - 1))),
            ]
        else:
            out += [
                (f"{t}/Conv0/weight", w(3, 3, nf(k - 2), nf(k - 1))),
                (f"{t}/Conv0/bias", w(nf(k - 1))),
            ]
        out += [
            (f"{t}/Conv1/weight", w(3, 3, nf(k - 1), nf(k - 1))),
            (f"{t}/Conv1/bias", w(nf(k - 1))),
            (f"ToRGB_lod{r - k}/weight", w(1, 1, nf(k - 1), num_channels)),
            (f"ToRGB_lod{r - k}/bias", w(num_channels)),
        ]
    return out


def d_variables(
    rng,
    resolution,
    fmap_base,
    fmap_max,
    num_channels=3,
    label_size=0,
    mbstd_group_size=4,
    fused_scale=False,
    lod=0.0,
):
    """Version-2 D_paper variables in creation order, N(0, 1)."""
    nf, r = nf_fn(fmap_base, fmap_max), int(np.log2(resolution))

    def w(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    out = [
        ("lod", np.float32(lod)),
        ("FromRGB_lod0/weight", w(1, 1, num_channels, nf(r - 1))),
        ("FromRGB_lod0/bias", w(nf(r - 1))),
    ]
    for k in range(r, 2, -1):
        t = f"{2**k}x{2**k}"
        conv1 = "Conv1_down" if fused_scale else "Conv1"
        out += [
            (f"{t}/Conv0/weight", w(3, 3, nf(k - 1), nf(k - 1))),
            (f"{t}/Conv0/bias", w(nf(k - 1))),
            (f"{t}/{conv1}/weight", w(3, 3, nf(k - 1), nf(k - 2))),
            (f"{t}/{conv1}/bias", w(nf(k - 2))),
            (f"FromRGB_lod{r - k + 1}/weight", w(1, 1, num_channels, nf(k - 2))),
            (f"FromRGB_lod{r - k + 1}/bias", w(nf(k - 2))),
        ]
    extra = 1 if mbstd_group_size > 1 else 0
    out += [
        ("4x4/Conv/weight", w(3, 3, nf(1) + extra, nf(1))),
        ("4x4/Conv/bias", w(nf(1))),
        ("4x4/Dense0/weight", w(nf(1) * 16, nf(0))),
        ("4x4/Dense0/bias", w(nf(0))),
        ("4x4/Dense1/weight", w(nf(0), 1 + label_size)),
        ("4x4/Dense1/bias", w(1 + label_size)),
    ]
    return out


def v2_state(name, func, static_kwargs, variables):
    return {
        "version": 2,
        "name": name,
        "static_kwargs": dict(static_kwargs),
        "build_func_name": func,
        "build_module_src": "# placeholder: the original's module source is never read",
        "variables": variables,
    }


# Inverse of the Theano → TF conversion of each kind of weight.
def _conv_back(w):
    return np.ascontiguousarray(w[::-1, ::-1].transpose(3, 2, 0, 1))


def _nin_back(w):
    return w[0, 0]


def _g_dense_back(w):
    return np.ascontiguousarray(w.reshape(w.shape[0], -1, 4, 4).transpose(1, 0, 2, 3))


def _d_dense0_back(w):
    return np.ascontiguousarray(w.T.reshape(w.shape[1], -1, 4, 4)[:, :, ::-1, ::-1])


def theano_state(func, spec, variables, rng, use_wscale=True):
    """The Theano-era state whose conversion gives the version-2 `variables` (non-fused, no
    labels)."""
    v = dict(variables)
    r = int(np.log2(spec["resolution"]))
    if func.startswith("G"):
        layers = [("4x4/Dense", RELU / 4, _g_dense_back), ("4x4/Conv", RELU, _conv_back)]
        for k in range(3, r + 1):
            layers += [
                (f"{2**k}x{2**k}/Conv0", RELU, _conv_back),
                (f"{2**k}x{2**k}/Conv1", RELU, _conv_back),
            ]
        layers += [(f"ToRGB_lod{lod}", LINEAR, _nin_back) for lod in range(r - 1)]
    else:
        layers = [("FromRGB_lod0", RELU, _nin_back)]
        for k in range(r, 2, -1):
            layers += [
                (f"{2**k}x{2**k}/Conv0", RELU, _conv_back),
                (f"{2**k}x{2**k}/Conv1", RELU, _conv_back),
                (f"FromRGB_lod{r - k + 1}", RELU, _nin_back),
            ]
        layers += [
            ("4x4/Conv", RELU, _conv_back),
            ("4x4/Dense0", RELU, _d_dense0_back),
            ("4x4/Dense1", LINEAR, lambda w: w),
        ]
    params = []
    for name, gain, back in layers:
        w = v[f"{name}/weight"]
        if use_wscale:
            scale = np.float32(rng.uniform(0.5, 2.0))
            params += [
                back(w * np.float32(he_std(gain, w.shape)) / scale).astype(np.float32),
                np.array(scale),
            ]
        else:
            params.append(back(w))
        params.append(v[f"{name}/bias"])
    return {
        "build_func_spec": {"func": func, **spec},
        "build_module_src": "# placeholder",
        "param_values": params,
        "toplevel_params": {"cur_lod": np.float32(v.get("lod", 0.0))},
    }
