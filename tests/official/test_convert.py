"""Networks of the original implementation's pickles, against the original's own outputs."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from pgan_tf.official import convert
from pgan_tf.official.convert import load_official_networks, load_official_pickle
from pgan_tf.official.legacy import he_std
from pgan_tf.official.unpickler import OfficialPickleError
from tests import official_writer

DATA = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "official"
)
TINY32 = os.path.join(DATA, "tiny32.pkl")


@pytest.fixture(scope="module")
def expected():
    return dict(np.load(os.path.join(DATA, "tiny32-expected.npz")))


def _nhwc(x):
    return np.transpose(x, (0, 2, 3, 1))


@pytest.mark.parametrize("lod", [0.0, 0.5])
def test_tiny32_reproduces_the_originals_outputs(expected, lod):
    G, D, Gs, config = load_official_pickle(TINY32, lod=lod)
    assert (config.latent_size, config.fmap_base, config.fmap_max, config.mbstd_group_size) == (
        32,
        128,
        32,
        4,
    )
    assert not config.fused_scale and Gs.output_shape == (None, 32, 32, 3)
    images = Gs(expected["latents"]).numpy()
    assert np.abs(images - _nhwc(expected[f"Gs_lod{lod:g}_nchw"])).max() <= 1e-4
    assert (
        np.abs(G(expected["latents"]).numpy() - images).max() > 1e-2
    )  # G holds its own weights, not Gs's
    scores = D(_nhwc(expected["images_nchw"])).numpy()
    ref = expected[f"D_scores_lod{lod:g}"]
    assert np.abs(scores - ref).max() <= 1e-3 * np.abs(ref).max()


def test_the_reference_catches_a_wrong_dense_layout(expected, monkeypatch):
    """Skipping the (C, H, W) → (H, W, C) permutation of the 4×4 dense layers is far outside
    tolerance."""
    originals = (convert._g_sources, convert._d_sources)

    def unpermuted(sources):
        def fn(resolution, nf):
            return {k: [(var, None) for var, _ in v] for k, v in sources(resolution, nf).items()}

        return fn

    monkeypatch.setattr(convert, "_g_sources", unpermuted(originals[0]))
    monkeypatch.setattr(convert, "_d_sources", unpermuted(originals[1]))
    _, D, Gs, _ = load_official_pickle(TINY32)
    assert np.abs(Gs(expected["latents"]).numpy() - _nhwc(expected["Gs_lod0_nchw"])).max() > 1e-2
    ref = expected["D_scores_lod0"]
    assert np.abs(D(_nhwc(expected["images_nchw"])).numpy() - ref).max() > 1e-2 * np.abs(ref).max()


def _pair(tmp_path, use_wscale=True, resolution=16, seed=0):
    """(v2 pickle, Theano-era pickle) of the same random networks."""
    rng = np.random.RandomState(seed)
    kw = {"resolution": resolution, "fmap_base": 64, "fmap_max": 16, "num_channels": 3}
    g_vars = official_writer.g_variables(rng, latent_size=16, **kw)
    d_vars = official_writer.d_variables(rng, mbstd_group_size=16, **kw)
    gs_vars = official_writer.g_variables(rng, latent_size=16, **kw)
    g_kw = dict(kw, latent_size=16, use_wscale=use_wscale, fused_scale=False)
    d_kw = dict(kw, use_wscale=use_wscale, mbstd_group_size=16, fused_scale=False)
    v2 = tmp_path / "v2.pkl"
    official_writer.write_pickle(
        v2,
        [
            official_writer.v2_state("G", "G_paper", g_kw, g_vars),
            official_writer.v2_state("D", "D_paper", d_kw, d_vars),
            official_writer.v2_state("Gs", "G_paper", g_kw, gs_vars),
        ],
    )
    spec_g = dict(
        kw,
        latent_size=16,
        use_wscale=use_wscale,
        normalize_latents=True,
        use_pixelnorm=True,
        use_leakyrelu=True,
        use_batchnorm=False,
        tanh_at_end=None,
        label_size=0,
    )
    spec_d = dict(
        kw,
        use_wscale=use_wscale,
        mbstat_func="Tstdeps",
        mbstat_avg="all",
        mbdisc_kernels=None,
        use_gdrop=True,
        use_layernorm=False,
        label_size=0,
    )
    theano = tmp_path / "theano.pkl"
    official_writer.write_pickle(
        theano,
        [
            official_writer.theano_state("G_paper", spec_g, g_vars, rng, use_wscale),
            official_writer.theano_state("D_progressive_8", spec_d, d_vars, rng, use_wscale),
            official_writer.theano_state("G_paper", spec_g, gs_vars, rng, use_wscale),
        ],
        fmt="theano",
        protocol=2,
    )
    return str(v2), str(theano)


@pytest.mark.parametrize("use_wscale", [True, False])
def test_a_theano_era_state_imports_to_the_same_networks(tmp_path, use_wscale):
    v2, theano = _pair(tmp_path, use_wscale)
    a, b = load_official_networks(v2), load_official_networks(theano)
    assert (a.format, b.format) == ("tfutil", "theano")
    assert (
        a.config == b.config
        and b.config.mbstd_group_size == 16
        and b.config.use_wscale == use_wscale
    )
    for name in ("G", "D", "Gs"):
        ma, mb = getattr(a, name), getattr(b, name)
        assert [layer.name for layer in ma.layers] == [layer.name for layer in mb.layers]
        for wa, wb in zip(ma.get_weights(), mb.get_weights()):
            np.testing.assert_allclose(wb, wa, rtol=1e-5, atol=1e-6)
    z = np.random.RandomState(1).standard_normal((4, 16)).astype(np.float32)
    np.testing.assert_allclose(b.Gs(z).numpy(), a.Gs(z).numpy(), rtol=1e-4, atol=1e-4)


def test_fused_scale_layers_compute_the_originals_fused_ops(tmp_path):
    """G's Conv0_up (transposed conv of the padded, summed kernel) and D's Conv1_down (strided conv
    of the padded, averaged kernel, then bias and leaky ReLU), computed here from the pickle's
    variables."""
    rng = np.random.RandomState(3)
    kw = {"resolution": 8, "fmap_base": 32, "fmap_max": 8, "num_channels": 3, "fused_scale": True}
    g_vars = official_writer.g_variables(rng, latent_size=8, **kw)
    d_vars = official_writer.d_variables(rng, mbstd_group_size=4, **kw)
    path = tmp_path / "fused.pkl"
    official_writer.write_pickle(
        path,
        [
            official_writer.v2_state("G", "G_paper", dict(kw, latent_size=8), g_vars),
            official_writer.v2_state("D", "D_paper", dict(kw, mbstd_group_size=4), d_vars),
            official_writer.v2_state("Gs", "G_paper", dict(kw, latent_size=8), g_vars),
        ],
    )
    nets = load_official_networks(str(path))
    assert nets.config.fused_scale
    x = rng.standard_normal((2, 4, 4, 8)).astype(np.float32)

    def padded_sum(w):
        p = np.pad(w, [[1, 1], [1, 1], [0, 0], [0, 0]])
        return p[1:, 1:] + p[:-1, 1:] + p[1:, :-1] + p[:-1, :-1]

    gv = dict(g_vars)
    w = gv["8x8/Conv0_up/weight"] * he_std(np.sqrt(2), (3, 3, 8, 8))  # fan_in = k·k·C_in
    ref = (
        tf.nn.conv2d_transpose(x, padded_sum(w), [2, 8, 8, 8], strides=2, padding="SAME")
        + gv["8x8/Conv0_up/bias"]
    )
    ours = nets.G.get_layer("g_8x8_conv0")(np.repeat(np.repeat(x, 2, 1), 2, 2))
    np.testing.assert_allclose(ours, ref, atol=1e-4)

    dv = dict(d_vars)
    y = rng.standard_normal((2, 8, 8, 8)).astype(np.float32)
    w = dv["8x8/Conv1_down/weight"] * he_std(np.sqrt(2), (3, 3, 8, 8))
    ref = tf.nn.leaky_relu(
        tf.nn.conv2d(y, padded_sum(w) * 0.25, 2, "SAME") + dv["8x8/Conv1_down/bias"], 0.2
    )
    block = keras.Model(
        nets.D.get_layer("d_8x8_conv1").input, nets.D.get_layer("d_8x8_conv1_lrelu").output
    )
    np.testing.assert_allclose(block(y), ref, atol=1e-4)


def test_static_kwargs_take_the_original_builders_defaults(tmp_path):
    """latent_size None = nf(0); fused_scale absent = True (so plain Conv1 variables are a clear
    error)."""
    rng = np.random.RandomState(0)
    kw = {"resolution": 8, "fmap_base": 32, "fmap_max": 8, "num_channels": 3}
    g = official_writer.v2_state(
        "G",
        "G_paper",
        dict(kw, latent_size=None, fused_scale=False),
        official_writer.g_variables(rng, latent_size=8, **kw),
    )
    d = official_writer.v2_state(
        "D", "D_paper", dict(kw, fused_scale=False), official_writer.d_variables(rng, **kw)
    )
    path = tmp_path / "a.pkl"
    official_writer.write_pickle(path, [g, d, g])
    cfg = load_official_networks(str(path)).config
    assert cfg.latent_size == 8 and cfg.mbstd_group_size == 4 and not cfg.fused_scale
    d2 = dict(d, static_kwargs=kw)
    official_writer.write_pickle(path, [g, d2, g])
    with pytest.raises(OfficialPickleError, match="fused_scale"):
        load_official_networks(str(path))


def test_bad_networks_are_clear_errors(tmp_path):
    rng = np.random.RandomState(0)
    kw = {"resolution": 8, "fmap_base": 32, "fmap_max": 8, "num_channels": 3, "fused_scale": False}
    g_vars, d_vars = (
        official_writer.g_variables(rng, latent_size=8, **kw),
        official_writer.d_variables(rng, **kw),
    )
    g = official_writer.v2_state("G", "G_paper", dict(kw, latent_size=8), g_vars)
    d = official_writer.v2_state("D", "D_paper", kw, d_vars)
    path = tmp_path / "bad.pkl"
    cases = [
        ([dict(g, build_func_name="G_mnist_mode_recovery"), d, g], "unsupported network builder"),
        ([g, dict(d, static_kwargs=dict(kw, fmap_max=16)), g], "G and D disagree on fmap_max"),
        ([dict(g, variables=g_vars[:-2]), d, g], "ToRGB_lod0/weight .* missing"),
        (
            [
                dict(g, variables=[(n, v.T if n == "4x4/Dense/weight" else v) for n, v in g_vars]),
                d,
                g,
            ],
            "has shape",
        ),
        (
            [dict(g, variables=g_vars + [("8x8/Extra/weight", np.zeros(3, np.float32))]), d, g],
            "unknown pickle variables",
        ),
        ([dict(g, version=3), d, g], "state version 3"),
    ]
    for states, message in cases:
        official_writer.write_pickle(path, states)
        with pytest.raises(OfficialPickleError, match=message):
            load_official_networks(str(path))
    official_writer.write_pickle(path, [g, d, g])
    with pytest.raises(OfficialPickleError, match=r"lod must be in \[0, 1\]"):
        load_official_networks(str(path), lod=1.5)
    nets = load_official_networks(str(path), lod=1.0)
    assert nets.Gs.output_shape == (None, 4, 4, 3) and nets.stage_resolution == 4
