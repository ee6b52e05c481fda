"""Which compute precision a run uses: `--mixed_precision=auto` resolved once at start-up.

bfloat16 only where the hardware has bfloat16 arithmetic (CPU flags avx512_bf16 / amx_bf16, GPUs
of compute capability >= 8.0): elsewhere TensorFlow emulates it, and on an AVX2-only CPU the train
step measured 15x slower than float32 (34 s vs 2.2 s per step, 32², 128 feature maps, issue 12).
Older GPUs get float16 with loss scaling when a start-up probe measures it faster than float32,
else float32. The choice and the reason for it go into the run's config (and so its log and
config.json); `choose` is pure, the hardware sources are passed in.
"""

import dataclasses
import time

NATIVE_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
BF16_GPU_CAPABILITY = (8, 0)
EMULATED_BF16_COST = (
    "the train step measured 15x slower than float32 on an AVX2-only CPU (34 s vs 2.2 s per step)"
)
FLOAT16_MIN_SPEEDUP = 1.1  # float16 must beat float32 by this much in the probe to be chosen


@dataclasses.dataclass(frozen=True)
class Choice:
    """The concrete precision, why, and a warning to show once (empty when there is none)."""

    precision: str
    reason: str
    warning: str = ""


def read_cpu_flags(path="/proc/cpuinfo"):
    """The CPU feature flags the kernel reports (Linux), or None where they cannot be read."""
    try:
        with open(path) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return frozenset(value.split())
    except OSError:
        return None
    return None


def gpu_capabilities():
    """Compute capability (major, minor) of every visible GPU; None for a GPU that does not say."""
    import tensorflow as tf

    out = []
    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        out.append(tuple(capability) if capability else None)
    return out


def conv_seconds(dtype, device, size=32, channels=128, batch=8, repeats=3):
    """Best of `repeats` timed calls of a 3x3 conv (batch x size² x channels -> channels) in `dtype`
    on `device`, after one warm-up call: the start-up probe."""
    import tensorflow as tf

    with tf.device(device):
        x = tf.cast(tf.random.normal([batch, size, size, channels]), dtype)
        k = tf.cast(tf.random.normal([3, 3, channels, channels]), dtype)
        conv = tf.function(
            lambda x, k: tf.reduce_sum(tf.cast(tf.nn.conv2d(x, k, 1, "SAME"), tf.float32))
        )
        conv(x, k).numpy()
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            conv(x, k).numpy()
            best = min(best, time.perf_counter() - t)
    return best


def _slowdown(probe, dtype, device):
    """Time of `dtype` / time of float32 in the probe."""
    return probe(dtype, device) / probe("float32", device)


def choose(requested, cpu_flags, gpus, probe=conv_seconds):
    """Resolves `requested` ("auto", "float32", "bfloat16", "float16") to a `Choice`.

    `cpu_flags`: set of CPU flags or None (unknown); `gpus`: compute capabilities of the GPUs the
    run trains on (empty: the CPU); `probe(dtype, device)`: seconds of a small conv, run only to
    decide float16 on an older GPU or to put a number on an explicit bfloat16 without support.
    """
    if gpus:
        known = [c for c in gpus if c is not None]
        capability = min(known) if len(known) == len(gpus) else None
        where = (
            f"GPU compute capability {'.'.join(map(str, capability))}"
            if capability
            else "a GPU of unknown compute capability"
        )
        native = capability is not None and capability >= BF16_GPU_CAPABILITY
        device = "/GPU:0"
    else:
        flags = sorted(set(cpu_flags or ()) & set(NATIVE_BF16_CPU_FLAGS))
        native = bool(flags)
        where = (
            f"the CPU has {', '.join(flags)}"
            if native
            else "the CPU's flags are unknown"
            if cpu_flags is None
            else f"the CPU has no {' / '.join(NATIVE_BF16_CPU_FLAGS)}"
        )
        device = "/CPU:0"
    if requested == "auto":
        if native:
            return Choice("bfloat16", f"auto: {where}, native bfloat16")
        if not gpus:
            return Choice(
                "float32", f"auto: {where}, so bfloat16 would be emulated ({EMULATED_BF16_COST})"
            )
        speedup = 1.0 / _slowdown(probe, "float16", device)
        if speedup >= FLOAT16_MIN_SPEEDUP:
            return Choice(
                "float16",
                f"auto: {where} has no native bfloat16; float16 with loss scaling ran a "
                f"3x3 conv {speedup:.2f}x as fast as float32 in a start-up probe",
            )
        return Choice(
            "float32",
            f"auto: {where} has no native bfloat16, and float16 ran a 3x3 conv only "
            f"{speedup:.2f}x as fast as float32 in a start-up probe",
        )
    if requested == "bfloat16" and not native:
        slowdown = _slowdown(probe, "bfloat16", device)
        warning = (
            f"--mixed_precision=bfloat16 without native bfloat16 ({where}): a 3x3 conv took "
            f"{slowdown:.1f}x its float32 time here in a start-up probe, and {EMULATED_BF16_COST}; "
            "--mixed_precision=auto picks float32"
        )
        return Choice(
            "bfloat16",
            f"requested; {where}, emulated: {slowdown:.1f}x the float32 time of a 3x3 conv",
            warning,
        )
    return Choice(requested, "requested")


def resolve(requested, probe=conv_seconds):
    """`choose` on this machine's hardware (call after the devices are set up)."""
    return choose(requested, read_cpu_flags(), gpu_capabilities(), probe)
