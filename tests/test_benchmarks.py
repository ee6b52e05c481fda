"""The train-step benchmark's own helpers: its configurations, the peak-memory mark (no timing)."""

import importlib.util
import mmap
import os

import numpy as np
import pytest

import pgan_tf  # noqa: F401  (makes the TensorFlow import quiet)

_BENCHMARKS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"
)
_PATH = os.path.join(_BENCHMARKS, "train_step.py")


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ts = _load("train_step_benchmark", _PATH)
timing = _load("step_timing_benchmark", os.path.join(_BENCHMARKS, "step_timing.py"))


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
    if not timing.reset_peak_rss():
        pytest.skip("no /proc/self/clear_refs on this system")
    # 64 MiB mapped and touched by hand: closing it unmaps it whatever malloc would keep (a
    # long-lived pytest-xdist worker's allocator may hold on to a freed NumPy array)
    big = mmap.mmap(-1, 64 * 2**20)
    np.frombuffer(big, np.uint8)[:] = 1
    high = timing.peak_rss_bytes()
    big.close()
    timing.reset_peak_rss()
    assert timing.peak_rss_bytes() < high - 32 * 2**20
