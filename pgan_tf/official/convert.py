"""The original implementation's network pickles → this project's Keras networks.

`load_official_pickle` reads (G, D, Gs) from either format the original reads (its own
`tfutil.Network` version 2, or the Theano-era `network.Network` converted as its `legacy.py` does),
derives the `NetworkConfig` from the pickle's `static_kwargs` with the original builders' defaults,
builds the networks with `networks.build_generator / build_discriminator` and fills every weight.

Layout facts (original `networks.py`): kernels are HWIO in both; the original is NCHW, so its 4×4
dense layers reshape / flatten in (C, H, W) order where ours use (H, W, C) — the G dense kernel's
columns and the D Dense0 kernel's rows are permuted. Its level of detail `lod` counts down to 0 at
full resolution; here a network at lod L works at resolution / 2**floor(L), fading in with
α = 1 − frac(L). A fused G `Conv0_up` kernel [k, k, out, in] (a transposed conv after padding)
equals upsample + conv with the kernel transposed to [k, k, in, out] and flipped spatially.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from pgan_tf.core.resolution import res_log2, split_lod
from pgan_tf.model import networks
from pgan_tf.model.layers import WeightedSum
from pgan_tf.official.legacy import theano_to_v2
from pgan_tf.official.unpickler import NetworkState, OfficialPickleError, read_network_pickle

if TYPE_CHECKING:
    import keras

# The original builders' defaults for keys a pickle's static_kwargs may leave out
# (G_paper / D_paper).
_G_DEFAULTS = {
    "num_channels": 1,
    "resolution": 32,
    "label_size": 0,
    "fmap_base": 8192,
    "fmap_decay": 1.0,
    "fmap_max": 512,
    "latent_size": None,
    "normalize_latents": True,
    "use_wscale": True,
    "use_pixelnorm": True,
    "pixelnorm_epsilon": 1e-8,
    "use_leakyrelu": True,
    "fused_scale": True,
}
_D_DEFAULTS = {
    "num_channels": 1,
    "resolution": 32,
    "label_size": 0,
    "fmap_base": 8192,
    "fmap_decay": 1.0,
    "fmap_max": 512,
    "use_wscale": True,
    "mbstd_group_size": 4,
    "fused_scale": True,
}
_SHARED = (
    "num_channels",
    "resolution",
    "label_size",
    "fmap_base",
    "fmap_decay",
    "fmap_max",
    "use_wscale",
)


@dataclasses.dataclass(frozen=True)
class OfficialNetworks:
    """What a pickle holds, as this project's networks: G, D, Gs at `lod`, and where they came
    from."""

    G: object
    D: object
    Gs: object
    config: networks.NetworkConfig
    resolution: int  # the pickle's full resolution
    lod: float  # the lod the networks were built at
    pickle_lod: float  # the lod stored in the pickle (where its training was)
    format: str  # "tfutil" or "theano"

    @property
    def stage_resolution(self) -> int:
        return split_lod(self.resolution, self.lod)[0]

    @property
    def fade_in(self) -> bool:
        return split_lod(self.resolution, self.lod)[1]

    @property
    def alpha(self) -> float:
        return split_lod(self.resolution, self.lod)[2]


def v2_state(net: NetworkState) -> dict:
    """The version-2 state of an unpickled network (Theano-era states converted)."""
    state = net.state
    if net.format == "theano" or "version" not in state:
        return theano_to_v2(state)
    if state.get("version") != 2:
        raise OfficialPickleError(
            f"unsupported tfutil.Network state version {state.get('version')!r} (expected 2)"
        )
    for key in ("static_kwargs", "build_func_name", "variables"):
        if key not in state:
            raise OfficialPickleError(f"tfutil.Network state without {key!r}")
    return state


def _variables(state, who):
    out = {}
    try:
        items = list(state["variables"])
        for name, value in items:
            if not isinstance(name, str):
                raise TypeError
            out[name] = np.asarray(value)
    except (TypeError, ValueError):
        raise OfficialPickleError(
            f"{who}: 'variables' is not a list of (name, array) pairs"
        ) from None
    for name, value in out.items():
        if value.dtype.kind not in "fiu":
            raise OfficialPickleError(f"{who}: variable {name} has non-numeric dtype {value.dtype}")
    return out


def network_config(g_state: dict, d_state: dict) -> tuple[networks.NetworkConfig, int]:
    """`NetworkConfig` from G's and D's static_kwargs (missing keys: the original builders'
    defaults)."""
    for state, func in ((g_state, "G_paper"), (d_state, "D_paper")):
        if state["build_func_name"] != func:
            raise OfficialPickleError(
                f"unsupported network builder {state['build_func_name']!r} (expected {func})"
            )
    g = {**_G_DEFAULTS, **dict(g_state["static_kwargs"])}
    d = {**_D_DEFAULTS, **dict(d_state["static_kwargs"])}
    for key in _SHARED:
        if g[key] != d[key]:
            raise OfficialPickleError(f"G and D disagree on {key}: {g[key]!r} vs {d[key]!r}")
    if float(g["pixelnorm_epsilon"]) != 1e-8:
        raise OfficialPickleError(
            f"pixelnorm_epsilon {g['pixelnorm_epsilon']} is not supported (only 1e-8)"
        )
    resolution = int(g["resolution"])
    res_log2(resolution)
    fmap_base, fmap_decay, fmap_max = (
        int(g["fmap_base"]),
        float(g["fmap_decay"]),
        int(g["fmap_max"]),
    )
    latent = g["latent_size"]
    if latent is None:  # the original's default: nf(0)
        latent = min(int(fmap_base / 2.0**0), fmap_max)
    config = networks.NetworkConfig(
        fmap_base=fmap_base,
        fmap_decay=fmap_decay,
        fmap_max=fmap_max,
        latent_size=int(latent),
        num_channels=int(g["num_channels"]),
        label_size=int(g["label_size"]),
        mbstd_group_size=int(d["mbstd_group_size"]),
        normalize_latents=bool(g["normalize_latents"]),
        use_wscale=bool(g["use_wscale"]),
        use_pixelnorm=bool(g["use_pixelnorm"]),
        use_leakyrelu=bool(g["use_leakyrelu"]),
        fused_scale=bool(d["fused_scale"]),
    )
    return config, resolution


def _tag(res):
    return f"{res}x{res}"


def _g_sources(resolution, nf):
    """{our layer name: [(pickle variable, conversion)] for its weights in order} of G_paper."""
    r = res_log2(resolution)
    nf4 = nf(1)

    def dense(w):  # columns (C, H, W) → (H, W, C)
        return w.reshape(w.shape[0], nf4, 4, 4).transpose(0, 2, 3, 1).reshape(w.shape[0], -1)

    out = {
        "g_4x4_dense": [("4x4/Dense/weight", dense)],
        "g_4x4_dense_bias": [("4x4/Dense/bias", None)],
        "g_4x4_conv": [("4x4/Conv/weight", None), ("4x4/Conv/bias", None)],
    }
    for k in range(3, r + 1):
        t = _tag(2**k)
        out[f"g_{t}_conv0"] = [(f"{t}/Conv0/weight", None), (f"{t}/Conv0/bias", None)]
        out[f"g_{t}_conv1"] = [(f"{t}/Conv1/weight", None), (f"{t}/Conv1/bias", None)]
    for k in range(2, r + 1):
        lod = r - k
        out[f"g_torgb_{_tag(2**k)}"] = [
            (f"ToRGB_lod{lod}/weight", None),
            (f"ToRGB_lod{lod}/bias", None),
        ]
    return out


def _d_sources(resolution, nf):
    r = res_log2(resolution)
    nf4 = nf(1)

    def dense0(w):  # rows (C, H, W) → (H, W, C)
        return w.reshape(nf4, 4, 4, w.shape[1]).transpose(1, 2, 0, 3).reshape(-1, w.shape[1])

    out = {
        "d_4x4_conv": [("4x4/Conv/weight", None), ("4x4/Conv/bias", None)],
        "d_4x4_dense0": [("4x4/Dense0/weight", dense0), ("4x4/Dense0/bias", None)],
        "d_4x4_dense1": [("4x4/Dense1/weight", None), ("4x4/Dense1/bias", None)],
    }
    for k in range(2, r + 1):
        lod = r - k
        out[f"d_fromrgb_{_tag(2**k)}"] = [
            (f"FromRGB_lod{lod}/weight", None),
            (f"FromRGB_lod{lod}/bias", None),
        ]
    for k in range(3, r + 1):
        t = _tag(2**k)
        out[f"d_{t}_conv0"] = [(f"{t}/Conv0/weight", None), (f"{t}/Conv0/bias", None)]
        out[f"d_{t}_conv1"] = [(f"{t}/Conv1/weight", None), (f"{t}/Conv1/bias", None)]
    return out


def _unfuse(variables):
    """Fused G `Conv0_up` / D `Conv1_down` variables under the plain names (kernels as ours use
    them)."""
    out = {}
    for name, value in variables.items():
        if "/Conv0_up/" in name:
            name = name.replace("/Conv0_up/", "/Conv0/")
            if name.endswith(
                "/weight"
            ):  # [k, k, out, in] of a transposed conv → [k, k, in, out], flipped
                value = np.ascontiguousarray(value.transpose(0, 1, 3, 2)[::-1, ::-1])
        elif (
            "/Conv1_down/" in name
        ):  # same kernel; the pooling-before-activation is config.fused_scale
            name = name.replace("/Conv1_down/", "/Conv1/")
        out[name] = value
    return out


def fill_weights(
    model: keras.Model,
    variables: dict[str, np.ndarray],
    sources: dict[str, list[tuple[str, Callable[[np.ndarray], np.ndarray] | None]]],
    who: str,
) -> set[str]:
    """Sets every weight of `model` from the pickle's `variables`; returns the variable names used.

    Any missing variable or shape mismatch is an error naming both sides: nothing is left at init.
    """
    used = set()
    for layer in model.layers:
        if not layer.weights or isinstance(layer, WeightedSum):
            continue
        if layer.name not in sources:
            raise OfficialPickleError(f"{who}: no pickle variable maps to layer {layer.name}")
        values = []
        for (var, convert), weight in zip(sources[layer.name], layer.weights):
            if var not in variables:
                raise OfficialPickleError(
                    f"{who}: variable {var} (for layer {layer.name}) is missing from the pickle"
                )
            value = variables[var].astype(np.float32)
            if tuple(value.shape) != tuple(weight.shape):  # every conversion keeps the shape
                raise OfficialPickleError(
                    f"{who}: variable {var} has shape {variables[var].shape}, layer {layer.name} "
                    f"needs {tuple(weight.shape)}"
                )
            values.append(convert(value) if convert else value)
            used.add(var)
        if len(values) != len(layer.weights):
            raise OfficialPickleError(
                f"{who}: layer {layer.name} has {len(layer.weights)} weights, mapped {len(values)}"
            )
        layer.set_weights(values)
    return used


def _check_known(variables, sources, who):
    """A variable no layer of the full network would read means a layout this importer does not
    know."""
    known = {var for weights in sources.values() for var, _ in weights} | {"lod"}
    extra = sorted(set(variables) - known)
    if extra:
        raise OfficialPickleError(f"{who}: unknown pickle variables {', '.join(extra[:6])}")


def load_official_pickle(
    path: str, lod: float = 0.0
) -> tuple[keras.Model, keras.Model, keras.Model, networks.NetworkConfig]:
    """(G, D, Gs, config) of an original network pickle, built at `lod` (0 = stable at full
    resolution).

    See `load_official_networks` for the details kept alongside (format, the pickle's own lod).
    """
    nets = load_official_networks(path, lod)
    return nets.G, nets.D, nets.Gs, nets.config


def load_official_networks(path: str, lod: float = 0.0) -> OfficialNetworks:
    """`OfficialNetworks` of the pickle at `path`, built at `lod`."""
    g_net, d_net, gs_net = read_network_pickle(path)
    states = [v2_state(n) for n in (g_net, d_net, gs_net)]
    config, resolution = network_config(states[0], states[1])
    gs_config, _ = network_config(states[2], states[1])
    if gs_config != config:
        raise OfficialPickleError(f"{path}: G and Gs were built with different settings")
    r = res_log2(resolution)
    lod = float(lod)
    if not 0.0 <= lod <= r - 2:
        raise OfficialPickleError(
            f"lod must be in [0, {r - 2}] for a {resolution}x{resolution} network, got {lod:g}"
        )
    stage_res, fade, alpha = split_lod(resolution, lod)
    raw = [_variables(s, n) for s, n in zip(states, ("G", "D", "Gs"))]
    d_fused = any("/Conv1_down/" in name for name in raw[1])
    if resolution >= 8 and d_fused != config.fused_scale:
        raise OfficialPickleError(
            f"{path}: D's static_kwargs say fused_scale={config.fused_scale}, its variables not"
        )
    variables = [_unfuse(v) for v in raw]
    built = {}
    for (name, state_vars), build, sources in (
        (("G", variables[0]), networks.build_generator, _g_sources),
        (("D", variables[1]), networks.build_discriminator, _d_sources),
        (("Gs", variables[2]), networks.build_generator, _g_sources),
    ):
        mapping = sources(resolution, config.nf)
        _check_known(state_vars, mapping, f"{path} {name}")
        model = build(config, stage_res, fade)
        fill_weights(model, state_vars, mapping, f"{path} {name}")
        if fade:
            networks.set_alpha(model, alpha)
        built[name] = model
    pickle_lod = float(np.asarray(variables[2].get("lod", 0.0)))
    return OfficialNetworks(
        G=built["G"],
        D=built["D"],
        Gs=built["Gs"],
        config=config,
        resolution=resolution,
        lod=lod,
        pickle_lod=pickle_lod,
        format=gs_net.format,
    )
