"""Theano-era network state → the TensorFlow version's state (version 2), as the original
converts it.

The Theano implementation pickled `network.Network` with `build_func_spec` (builder name + kwargs),
`param_values` (Lasagne's flat parameter list) and `toplevel_params` (`cur_lod`). The original's
`legacy.py` turns that into `tfutil.Network` variables; the facts it relies on, restated:
- Parameters come layer by layer, each as (W, wscale scale, bias) — no scale without wscale — in
  the order of `_G_LAYERS` / `_D_LAYERS` below.
- Lasagne convolutions are true convolutions with W [out, in, kh, kw]: the TF kernel is W
  transposed to [kh, kw, in, out] and flipped in both spatial axes. 1×1 (NIN) layers hold
  W [in, out].
- The generator's 4×4 "full" convolution of the 1×1 latents is its dense layer: W [out, in, 4, 4]
  → [in, out·16] in (C, H, W) order, no flip. The discriminator's valid 4×4 conv is its Dense0:
  flipped, flattened per output, transposed to [in·16 (C, H, W), out].
- wscale: Theano ran conv(x, W)·scale; the TF version stores W·scale / he_std(gain, fan_in) and
  multiplies by he_std at run time (gain √2, √2/4 for G's dense, 1 for the linear outputs).
- Minibatch stddev over the whole minibatch ('all') becomes group size 16; `fused_scale` is off.
"""

import numpy as np

from pgan_tf.core.resolution import res_log2
from pgan_tf.official.unpickler import OfficialPickleError

BUILDERS = {
    "G_paper": "G_paper",
    "G_progressive_8": "G_paper",
    "D_paper": "D_paper",
    "D_progressive_8": "D_paper",
}
THEANO_MBSTD_GROUP_SIZE = 16
RELU, LINEAR = np.sqrt(2.0), 1.0

# spec key: the only value the conversion supports (None = key absent or None)
_REQUIRED_SPEC = {
    "label_size": 0,
    "use_batchnorm": False,
    "tanh_at_end": None,
    "mbstat_func": "Tstdeps",
    "mbstat_avg": "all",
    "mbdisc_kernels": None,
    "use_layernorm": False,
}
_SPEC_DEFAULTS = {
    "label_size": 0,
    "use_batchnorm": False,
    "mbstat_func": "Tstdeps",
    "mbstat_avg": "all",
    "use_layernorm": False,
}


def he_std(gain: float, shape: tuple[int, ...]) -> float:
    """The TF version's runtime weight multiplier for a stored weight of `shape` (fan_in = all but
    last)."""
    return gain / np.sqrt(np.prod(shape[:-1]))


def _conv(w):
    return np.ascontiguousarray(w.transpose(2, 3, 1, 0)[::-1, ::-1])


def _nin(w):
    return w[np.newaxis, np.newaxis]


def _g_dense(w):
    return w.transpose(1, 0, 2, 3).reshape(w.shape[1], -1)


def _d_dense0(w):
    return np.ascontiguousarray(w[:, :, ::-1, ::-1].reshape(w.shape[0], -1).T)


def _identity(w):
    return w


def _g_layers(resolution_log2):
    """[(variable name, gain, W conversion)] of G in Lasagne's parameter order."""
    layers = [("4x4/Dense", RELU / 4, _g_dense), ("4x4/Conv", RELU, _conv)]
    for res in range(3, resolution_log2 + 1):
        layers += [
            (f"{2**res}x{2**res}/Conv0", RELU, _conv),
            (f"{2**res}x{2**res}/Conv1", RELU, _conv),
        ]
    return layers + [(f"ToRGB_lod{lod}", LINEAR, _nin) for lod in range(resolution_log2 - 1)]


def _d_layers(resolution_log2):
    layers = [("FromRGB_lod0", RELU, _nin)]
    for res in range(resolution_log2, 2, -1):
        layers += [
            (f"{2**res}x{2**res}/Conv0", RELU, _conv),
            (f"{2**res}x{2**res}/Conv1", RELU, _conv),
            (f"FromRGB_lod{resolution_log2 - res + 1}", RELU, _nin),
        ]
    return layers + [
        ("4x4/Conv", RELU, _conv),
        ("4x4/Dense0", RELU, _d_dense0),
        ("4x4/Dense1", LINEAR, _identity),
    ]


def theano_to_v2(state: dict) -> dict:
    """The version-2 state (`static_kwargs`, `build_func_name`, `variables`) of a Theano-era
    state."""
    try:
        spec = dict(state["build_func_spec"])
        params = list(state["param_values"])
    except (KeyError, TypeError):
        raise OfficialPickleError(
            "Theano-era network without build_func_spec / param_values"
        ) from None
    func = spec.pop("func", None)
    if func not in BUILDERS:
        raise OfficialPickleError(
            f"unsupported Theano-era network builder {func!r} (supported: {', '.join(BUILDERS)})"
        )
    for key, wanted in _REQUIRED_SPEC.items():
        value = spec.pop(key, _SPEC_DEFAULTS.get(key))
        if value != wanted:
            raise OfficialPickleError(
                f"Theano-era {func} uses {key}={value!r}, which the TensorFlow networks lack"
            )
    spec.pop("use_gdrop", None)  # noise in D during training only; no parameters
    spec["fused_scale"] = False
    spec["mbstd_group_size"] = THEANO_MBSTD_GROUP_SIZE
    resolution = int(spec.get("resolution", 32))
    use_wscale = bool(spec.get("use_wscale", True))
    try:
        r = res_log2(resolution)
    except ValueError as e:
        raise OfficialPickleError(f"Theano-era {func}: {e}") from None
    layers = _g_layers(r) if func.startswith("G") else _d_layers(r)
    per_layer = 3 if use_wscale else 2
    if len(params) != per_layer * len(layers):
        raise OfficialPickleError(
            f"Theano-era {func} at {resolution}x{resolution} should hold {per_layer * len(layers)} "
            f"parameters ({len(layers)} layers), found {len(params)}"
        )
    variables = []
    it = iter(params)
    for name, gain, convert in layers:
        w = convert(np.asarray(next(it), dtype=np.float32))
        if use_wscale:
            w = w * (np.float32(next(it)) / np.float32(he_std(gain, w.shape)))
        variables += [
            (f"{name}/weight", w.astype(np.float32)),
            (f"{name}/bias", np.asarray(next(it), np.float32)),
        ]
    lod = np.float32((state.get("toplevel_params") or {}).get("cur_lod", 0.0))
    variables.append(("lod", lod))
    return {
        "version": 2,
        "name": func,
        "build_func_name": BUILDERS[func],
        "static_kwargs": spec,
        "variables": variables,
    }
