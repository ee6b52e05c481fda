"""`--mixed_precision=auto`: bfloat16 only on hardware with it, the reason recorded, warnings."""

import pytest

from pgan_tf.training import config as config_lib
from pgan_tf.training import precision, rundir

AVX2_ONLY = frozenset("fpu sse2 avx avx2 fma".split())
AVX512_BF16 = AVX2_ONLY | {"avx512f", "avx512_bf16"}


def no_probe(dtype, device):
    raise AssertionError(f"no probe expected ({dtype} on {device})")


def fake_probe(seconds):
    """A probe that reports `seconds[dtype]` and records what it was asked."""
    calls = []

    def probe(dtype, device):
        calls.append((dtype, device))
        return seconds[dtype]

    probe.calls = calls
    return probe


def test_read_cpu_flags_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nmodel name\t: X\nflags\t\t: fpu avx2 avx512_bf16\n\n"
        "processor\t: 1\nflags\t: fpu\n"
    )
    assert precision.read_cpu_flags(str(info)) == {"fpu", "avx2", "avx512_bf16"}
    assert precision.read_cpu_flags(str(tmp_path / "absent")) is None
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd bf16\n")
    assert precision.read_cpu_flags(str(arm)) == {"fp", "asimd", "bf16"}


def test_auto_on_cpus_follows_the_flags():
    choice = precision.choose("auto", AVX2_ONLY, [], no_probe)
    assert choice.precision == "float32" and not choice.warning
    assert "no avx512_bf16 / amx_bf16" in choice.reason and "15x slower" in choice.reason
    choice = precision.choose("auto", AVX512_BF16, [], no_probe)
    assert choice == precision.Choice("bfloat16", "auto: the CPU has avx512_bf16, native bfloat16")
    assert precision.choose("auto", AVX2_ONLY | {"amx_bf16"}, [], no_probe).precision == "bfloat16"
    assert precision.choose("auto", None, [], no_probe).precision == "float32"


@pytest.mark.parametrize("flags_seen,expected", [(AVX2_ONLY, "float32"), (AVX512_BF16, "bfloat16")])
def test_resolve_reads_the_cpu_flag_source(monkeypatch, flags_seen, expected):
    monkeypatch.setattr(precision, "read_cpu_flags", lambda path="/proc/cpuinfo": flags_seen)
    monkeypatch.setattr(precision, "gpu_capabilities", lambda: [])
    assert precision.resolve("auto", no_probe).precision == expected


def test_auto_on_gpus():
    assert precision.choose("auto", AVX2_ONLY, [(8, 0), (8, 6)], no_probe).precision == "bfloat16"
    fast16 = fake_probe({"float16": 0.4, "float32": 1.0})
    choice = precision.choose(
        "auto", AVX512_BF16, [(7, 0)], fast16
    )  # the CPU's bf16 does not matter
    assert choice.precision == "float16" and "2.50x as fast as float32" in choice.reason
    assert fast16.calls == [("float16", "/GPU:0"), ("float32", "/GPU:0")]
    slow16 = precision.choose(
        "auto", AVX2_ONLY, [(8, 0), (6, 1)], fake_probe({"float16": 1.0, "float32": 1.05})
    )
    assert slow16.precision == "float32" and "compute capability 6.1" in slow16.reason
    unknown = precision.choose(
        "auto", AVX2_ONLY, [None], fake_probe({"float16": 1.0, "float32": 1.0})
    )
    assert unknown.precision == "float32" and "unknown compute capability" in unknown.reason


def test_explicit_bfloat16_without_support_warns_with_the_measured_cost():
    probe = fake_probe({"bfloat16": 15.0, "float32": 1.0})
    choice = precision.choose("bfloat16", AVX2_ONLY, [], probe)
    assert choice.precision == "bfloat16"
    assert (
        "took 15.0x its float32 time here" in choice.warning
        and "--mixed_precision=auto picks float32" in choice.warning
    )
    assert "emulated: 15.0x" in choice.reason
    assert precision.choose("bfloat16", AVX512_BF16, [], no_probe) == precision.Choice(
        "bfloat16", "requested"
    )
    assert precision.choose("float32", AVX2_ONLY, [], no_probe) == precision.Choice(
        "float32", "requested"
    )


def test_the_real_probe_times_a_conv():
    seconds = precision.conv_seconds("float32", "/CPU:0", size=8, channels=8, batch=2, repeats=2)
    assert 0.0 < seconds < 10.0


def test_the_config_holds_the_resolved_precision():
    config = config_lib.config_from_flags(config_lib.parse_flags(["--dataset_dir=/data/x"]))
    assert config.mixed_precision == "auto"
    with pytest.raises(config_lib.ConfigError, match="must be resolved at start-up"):
        _ = config.dtype_policy
    resolved = config_lib.with_precision(config, precision.choose("auto", AVX2_ONLY, [], no_probe))
    assert resolved.mixed_precision == "float32" and resolved.dtype_policy is None
    assert '"precision_note": "auto: the CPU has no avx512_bf16' in rundir.config_json(resolved)
    assert config_lib.train_config_from_dict(resolved.to_dict()) == resolved
