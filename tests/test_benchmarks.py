"""The benchmarks' own helpers: the train step's configurations and variants, the peak-memory mark,
the conv-gradient benchmark's checks (no timing is asserted)."""

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


def test_conv_gradients_benchmark_compares_equal_values(capsys):
    """benchmarks/conv_gradients.py checks both ways give the same values before it times them,
    prints one row per shape, and refuses a malformed shape."""
    bench = _load("conv_gradients_benchmark", os.path.join(_BENCHMARKS, "conv_gradients.py"))
    assert bench.main(["--shapes=2x8x3x4", "--repeats=1"]) == 0
    row = capsys.readouterr().out.splitlines()[-1].split()
    assert row[0] == "2x8x3x4" and row[3].endswith("x") and float(row[1]) > 0
    assert bench.main(["--shapes=2x8x3"]) == 2
    assert "NxSIZExC_INxC_OUT" in capsys.readouterr().err


def test_variant_names_mark_xla_and_tf_gradient_kernels():
    assert timing.variant_name("float32", False) == "float32"
    assert timing.variant_name("float32", True, False) == "float32+xla+tf_grads"
    assert ts.switch_settings("both", True) == [False, True]
    assert ts.switch_settings("config", False) == [False]
