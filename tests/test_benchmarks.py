"""The train-step benchmark's own helpers: its configurations, the peak-memory mark (no timing)."""

import importlib.util
import os

import numpy as np
import pytest

import pgan_tf  # noqa: F401  (makes the TensorFlow import quiet)

_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", "train_step.py"
)
_spec = importlib.util.spec_from_file_location("train_step_benchmark", _PATH)
ts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ts)


def test_config_from_a_flag_file_and_named_configs():
    repo = os.path.dirname(_PATH.rsplit(os.sep, 1)[0])
    paper = ts.load_config(os.path.join(repo, "celebahq.flags"))
    assert (paper.schedule.resolution, paper.network.fmap_base, paper.schedule.minibatch(1024)) == (
        1024,
        8192,
        3,
    )
    assert ts.load_config("paper-small").network.fmap_max == 128
    with pytest.raises(ValueError, match="neither one of"):
        ts.load_config("no-such-config")


def test_peak_rss_mark_resets():
    """The per-stage memory column: the high-water mark drops back after a reset (Linux)."""
    if not ts.reset_peak_rss():
        pytest.skip("no /proc/self/clear_refs on this system")
    big = np.ones(64 * 2**20 // 8)  # 64 MiB
    high = ts.peak_rss_bytes()
    del big
    ts.reset_peak_rss()
    assert ts.peak_rss_bytes() < high - 32 * 2**20
