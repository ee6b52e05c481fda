"""Tests of the shared metrics entry point: it must give the same numbers as each metric alone."""

import keras
import numpy as np
import pytest

from pgan_tf.metrics.fid import InceptionFeatures, fid
from pgan_tf.metrics.inception_score import inception_score
from pgan_tf.metrics.mode_coverage import mode_coverage
from pgan_tf.metrics.ms_ssim import ms_ssim
from pgan_tf.metrics.registry import compute_metrics, parse_metric_names
from pgan_tf.metrics.swd import swd

POOL = np.random.default_rng(0).integers(0, 256, (60, 16, 16, 3), np.uint8)


def _reals(n):
    return (POOL[i : min(i + 8, 30)] for i in range(0, 30, 8))


def _generate(n, seed):
    """Deterministic 'generator': picks n of the last 30 pool images from the seed."""
    idx = np.random.default_rng(seed).integers(30, 60, n)
    return POOL[idx]


def _fakes_used(num, seed, batch_size):
    """The fake images compute_metrics draws, rebuilt with its batch-seed rule."""
    out, done, i = [], 0, 0
    while done < num:
        n = min(batch_size, num - done)
        out.append(_generate(n, int(np.random.SeedSequence([seed, i]).generate_state(1)[0])))
        done, i = done + n, i + 1
    return np.concatenate(out)


def test_parse_metric_names():
    assert parse_metric_names("swd, ms_ssim") == ("swd", "ms_ssim")
    assert parse_metric_names(["fid", "is"]) == ("fid", "is")
    with pytest.raises(ValueError, match="unknown metric.*'sdw'.*choose from"):
        parse_metric_names("swd,sdw")
    with pytest.raises(ValueError, match="no metric"):
        parse_metric_names("")


def test_swd_and_ms_ssim_match_direct_calls_and_clamp_to_reals():
    calls = []
    out = compute_metrics(
        "swd,ms_ssim",
        _generate,
        _reals,
        num_images=40,
        seed=5,
        batch_size=7,
        progress=lambda *a: calls.append(a),
    )
    assert out["num_images"] == 30  # the real data holds only 30
    fakes = _fakes_used(30, 5, 7)
    want = swd(POOL[:30], fakes, seed=5)
    for k, v in want.items():
        assert out[k] == pytest.approx(v, rel=1e-6)
    assert out["MS-SSIM"] == pytest.approx(ms_ssim(fakes), rel=1e-6)
    assert calls[-1] == ("fakes", 30, 30) and calls[0][0] == "reals"


def test_fid_and_is_match_direct_calls(tmp_path):
    keras.utils.set_random_seed(0)
    inp = keras.Input((16, 16, 3))
    h = keras.layers.GlobalAveragePooling2D(name="avg_pool")(keras.layers.Conv2D(8, 3)(inp))
    net = keras.Model(inp, keras.layers.Dense(5, activation="softmax", name="predictions")(h))
    path = str(tmp_path / "net.keras")
    net.save(path)
    out = compute_metrics(
        ["fid", "is"], _generate, _reals, num_images=30, seed=1, inception_path=path, batch_size=16
    )
    fakes = _fakes_used(30, 1, 16)
    ext = InceptionFeatures(path)
    assert out["FID"] == pytest.approx(fid(POOL[:30], fakes, ext), rel=1e-6)
    assert out["IS_mean"] == pytest.approx(inception_score(fakes, ext)[0], rel=1e-6)
    with pytest.raises(ValueError, match="need Inception-v3 weights"):
        compute_metrics("is", _generate, _reals, num_images=4, seed=0)


def test_metrics_that_do_not_fit_the_resolution_are_left_out():
    from pgan_tf.metrics.registry import applicable_metrics

    usable, skipped = applicable_metrics(("swd", "ms_ssim", "fid"), 8)
    assert usable == ("fid",) and set(skipped) == {"swd", "ms_ssim"}
    assert applicable_metrics(("swd", "ms_ssim"), 16) == (("swd", "ms_ssim"), {})
    small = POOL[:, :8, :8]
    out = compute_metrics(
        "swd,ms_ssim", lambda n, s: small[:n], lambda n: [small[:n]], num_images=10, seed=0
    )
    assert out == {"num_images": 10}


def test_bad_generator_output_is_reported():
    with pytest.raises(ValueError, match="must return uint8"):
        compute_metrics(
            "ms_ssim", lambda n, s: POOL[:n].astype(np.float32), _reals, num_images=4, seed=0
        )


def test_mode_coverage_is_passed_through():
    out = compute_metrics("mode_coverage", _generate, _reals, num_images=20, seed=3)
    want = mode_coverage(_fakes_used(20, 3, 64))
    for k, v in want.items():
        assert out[k] == pytest.approx(float(v))


def test_protocol_counts_and_labels():
    from pgan_tf.metrics.registry import count_label, protocol_groups

    assert protocol_groups(("swd", "ms_ssim", "fid", "is")) == [
        (16384, ("swd",)),
        (20000, ("ms_ssim",)),
        (50000, ("fid", "is")),
    ]
    assert protocol_groups(("swd", "fid"), 5000) == [(5000, ("swd", "fid"))]
    assert [count_label(n) for n in (16384, 20000, 50000, 5000, 500)] == [
        "16k",
        "20k",
        "50k",
        "5k",
        "500",
    ]


def test_a_registered_metric_is_one_entry(monkeypatch):
    """Adding a metric is one decorated class: names, resolution checks, the reals it needs and
    the flag help follow from its entry."""
    from pgan_tf.metrics import registry

    monkeypatch.setattr(registry, "METRICS", dict(registry.METRICS))

    @registry.register_metric("mean_pixel", needs_reals=True)
    class MeanPixel:
        def __init__(self, seed, inception):
            self.sums = {"reals": [], "fakes": []}

        def add(self, which, batch, inception_out):
            self.sums[which].append(batch.astype(np.float64).mean(axis=(1, 2, 3)))

        def result(self):
            reals, fakes = (np.concatenate(self.sums[k]).mean() for k in ("reals", "fakes"))
            return {"mean_pixel_gap": float(fakes - reals)}

    assert "mean_pixel" in registry.metric_names()
    assert parse_metric_names("mean_pixel,swd") == ("mean_pixel", "swd")

    def generate_fn(n, seed):
        return np.full((n, 16, 16, 3), 100, np.uint8)

    def real_batches_fn(n):
        yield np.full((n, 16, 16, 3), 40, np.uint8)

    out = compute_metrics("mean_pixel", generate_fn, real_batches_fn, num_images=8, seed=0)
    assert out == {"mean_pixel_gap": 60.0, "num_images": 8}


def test_flag_help_lists_the_registered_metrics():
    from pgan_tf import evaluate
    from pgan_tf.metrics import registry
    from pgan_tf.training import config as config_lib

    names = ", ".join(registry.metric_names())
    assert names == "swd, ms_ssim, fid, is, mode_coverage"
    for parser in (config_lib.make_parser(), evaluate.make_parser()):
        assert names in " ".join(parser.format_help().split())
