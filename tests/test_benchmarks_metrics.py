"""The metrics benchmark's references and its AVX2 emulation (no timing)."""

import importlib.util
import os

import numpy as np
import pytest

import pgan_tf  # noqa: F401  (makes the TensorFlow import quiet)
from pgan_tf.metrics.ms_ssim import ms_ssim_pairs

_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", "metrics.py"
)
_spec = importlib.util.spec_from_file_location("metrics_benchmark", _PATH)
bm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bm)


def test_numpy_ms_ssim_reference_equals_ours():
    """The ratio compares equal values: the benchmark's NumPy MS-SSIM is our metric's."""
    a = bm._batch(0, 6, 32, "reals")
    b = bm._batch(0, 6, 32, "fakes")
    b[3:] = a[3:] // 2 + 60  # related pairs too: scores away from 0
    np.testing.assert_allclose(bm._np_ms_ssim(a, b), ms_ssim_pairs(a, b).numpy(), atol=1e-6)


@pytest.mark.slow  # ~25 s: numba compiles its kernels afresh in the subprocess
def test_emulate_avx2_holds_the_libraries_to_avx2(capfd):
    """The subprocess starts with AVX2_ENV set (before any import): NumPy dispatches to no
    AVX-512 target, numba compiles for Haswell without zmm registers, OpenBLAS uses its
    Haswell kernels."""
    code = bm.main(
        ["--emulate_avx2", "--num_images=2", "--ref_images=0", "--sizes=16", "--ms_ssim_size=0"]
    )
    out = capfd.readouterr().out
    assert code == 0, out
    report = next(line for line in out.splitlines() if line.startswith("NumPy dispatch"))
    assert "AVX512" not in report and "X86_V4" not in report, report
    assert "numba CPU haswell (no zmm registers)" in report, report
    assert "OpenBLAS Haswell" in report, report
    assert "oneDNN max ISA AVX2" in report, report
