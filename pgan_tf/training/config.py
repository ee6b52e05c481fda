"""Training configuration: flags → one frozen `TrainConfig`, validated up front.

Each setting is declared once, as a config field with its default, flag, help and check
(`core.settings.setting`; the network's fields in `model.networks.NetworkConfig`, the schedule's
in `training.schedule.ScheduleConfig`); the parser is built from those fields. Every flag has the
paper's / original tool's default unless noted. The resolved config is written to
`<run_dir>/config.json` and is the only thing the training code reads.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from typing import TYPE_CHECKING

from pgan_tf.core import cli, settings
from pgan_tf.core.resolution import resolutions_up_to
from pgan_tf.core.settings import setting
from pgan_tf.metrics.registry import metric_names
from pgan_tf.model.layers import mbstd_group
from pgan_tf.model.networks import NetworkConfig
from pgan_tf.training.checkpoint import KEEP_ALL
from pgan_tf.training.losses import LOSSES, WGAN_EPSILON, WGAN_LAMBDA, WGAN_TARGET
from pgan_tf.training.schedule import DEFAULT_TICK_KIMG, ScheduleConfig

if TYPE_CHECKING:
    from pgan_tf.data.dataset import DatasetInfo
    from pgan_tf.training.precision import Choice

PRECISIONS = ("auto", "float32", "bfloat16", "float16")  # the flag; "auto" is resolved at start-up
DISTRIBUTIONS = ("auto", "mirrored", "multi_worker", "default")

# Named snapshot grids: the original's `setup_snapshot_image_grid` sizes,
# (screen w, h, min cols, min rows).
NAMED_GRIDS = {"1080p": (1920, 1080, 3, 2), "4k": (3840, 2160, 7, 4)}
MAX_GRID_SIDE = 32


class ConfigError(ValueError):
    """A flag value that cannot work; the message says which flag and why."""


def checkpoint_count(text) -> int:
    """--keep_checkpoints: a count of at least 1, or 'all' (`checkpoint.KEEP_ALL`)."""
    if str(text).strip().lower() == "all":
        return KEEP_ALL
    count = cli.integer(str(text))
    if count < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 or 'all', got {text}")
    return count


def grid_shape(spec: str | int, resolution: int) -> tuple[int, int]:
    """(columns, rows) of the sample grid. `spec` is '1080p' / '4k' (the original's: as many
    full-resolution images as fill that screen, 3×2 at 1024²), 'N' (N×N) or 'WxH'."""
    spec = str(spec).strip().lower()
    if spec in NAMED_GRIDS:
        width, height, min_cols, min_rows = NAMED_GRIDS[spec]
        clamp = lambda v, lo: int(min(max(v, lo), MAX_GRID_SIDE))  # noqa: E731
        return clamp(width // resolution, min_cols), clamp(height // resolution, min_rows)
    try:
        cols, rows = (spec.split("x") + [spec])[:2] if "x" in spec else (spec, spec)
        cols, rows = int(cols), int(rows)
    except ValueError:
        raise ConfigError(f"--grid_size: expected 1080p, 4k, N or WxH, got {spec!r}") from None
    if not (0 < cols <= MAX_GRID_SIDE and 0 < rows <= MAX_GRID_SIDE):
        raise ConfigError(
            f"--grid_size must be positive and at most {MAX_GRID_SIDE} per side, got {spec!r}"
        )
    return cols, rows


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """The training images and how they are read."""

    path: str = setting(
        name="dataset_dir",
        flag_default=None,
        check=lambda v: None if v else "is required",
        parse=os.path.abspath,
        help="TFRecord dataset directory (data_prep/create_tfrecords.py).",
    )
    resolution: int = setting(0, help="Final training resolution; 0 = the dataset's.")
    mirror: bool = setting(False, help="Random left-right mirroring of the reals (p = 0.5).")
    conditional: bool = setting(
        False, help="Label-conditional training (the dataset must have labels)."
    )
    create_synthetic: int = setting(
        0,
        help="If dataset_dir is absent, create the built-in synthetic dataset there "
        "with this many images.",
    )
    shuffle_buffer: int = setting(4096, help="Shuffle buffer (images).")


def _tick_table(text: str) -> tuple:
    """--tick_kimg: the table given, or the original's (`schedule.DEFAULT_TICK_KIMG`)."""
    table = settings.resolution_table(text, float, "tick_kimg") if text else DEFAULT_TICK_KIMG
    if any(v <= 0 for _, v in table):
        raise ConfigError("--tick_kimg values must be positive")
    return table


def _grid_spec(spec) -> str | None:
    grid_shape(spec, 4)  # raises ConfigError naming the flag
    return None


@dataclasses.dataclass(frozen=True)
class LogConfig:
    """What the run writes, and how often (in ticks: the original's cadence)."""

    result_dir: str = setting("results", help="Where run directories are created.")
    desc: str = setting("", help="Run description appended to the run directory name.")
    tick_kimg: tuple = setting(
        DEFAULT_TICK_KIMG,
        flag_default="",
        parse=_tick_table,
        help="Per-resolution kimg per tick, e.g. '4:160,8:140'; empty = the original's table.",
    )
    image_snapshot_ticks: int = setting(
        1, check=settings.positive, help="Write a fakes grid every N ticks."
    )
    network_snapshot_ticks: int = setting(
        10, check=settings.positive, help="Write a checkpoint and generator snapshot every N ticks."
    )
    grid_size: str = setting(
        "1080p",
        type=str,
        check=_grid_spec,
        parse=lambda v: str(v).strip().lower(),
        help="Sample grid: 1080p or 4k (the original's: full-resolution images filling "
        "that screen, 3x2 at 1024^2), N (NxN) or WxH.",
    )
    metrics: tuple = setting(
        (),
        is_list=True,
        parse=tuple,
        help=f"Metrics computed during training: {', '.join(metric_names())}.",
    )
    metrics_ticks: int = setting(10, check=settings.positive, help="Compute metrics every N ticks.")
    metrics_images: int = setting(
        1024, check=settings.positive, help="Images per metric evaluation during training."
    )
    inception_path: str = setting(
        "",
        help="Inception-v3 for fid / is: classify_image_graph_def.pb (the standard graph), a "
        "directory holding it, inception-2015-12-05.tgz, or Keras weights; never downloaded.",
    )
    progress_seconds: float = 15.0  # a progress line inside a tick at most this often
    keep_checkpoints: int = setting(  # KEEP_ALL (0): every checkpoint stays
        3,
        type=checkpoint_count,
        help="Checkpoints kept on disk (older ones are deleted once a new one is complete), or "
        "'all': one per --network_snapshot_ticks, each resumable (--resume=RUN/checkpoints/"
        "ckpt-<images>), as the original keeps a network pickle per snapshot.",
    )


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything a run reads: the networks, schedule, data and log settings, the loss and the
    optimizer, precision, distribution and run control."""

    network: NetworkConfig
    schedule: ScheduleConfig
    data: DataConfig
    log: LogConfig = LogConfig()
    loss: str = setting(
        "wgan_gp",
        choices=LOSSES,
        help="wgan_gp: WGAN-GP + drift (the paper's). lsgan_mao: plain least-squares "
        "GAN (Mao et al.), NOT the paper's appendix-B LSGAN setup (no noise "
        "layers in D).",
    )
    gp_lambda: float = setting(
        WGAN_LAMBDA, check=settings.non_negative, help="WGAN-GP weight λ (original wgan_lambda)."
    )
    gp_target: float = setting(
        WGAN_TARGET,
        check=settings.positive,
        help="WGAN-GP gradient-norm target (original wgan_target; the paper's CIFAR-10 "
        "runs use 750, §6.4.2).",
    )
    drift_epsilon: float = setting(
        WGAN_EPSILON,
        check=settings.non_negative,
        help="Drift penalty weight ε_drift on D(real)² (original wgan_epsilon).",
    )
    g_ema_decay: float = setting(
        0.999,
        check=lambda v: None if 0.0 <= v < 1.0 else f"must be in [0, 1), got {v}",
        help="Generator EMA decay per step; 0 = no G smoothing (the original's -nosmoothing).",
    )
    reset_optimizer: bool = setting(
        True,
        help="Fresh Adam state when a new stage starts (the original's reset_opt_for_new_lod); "
        "--noreset_optimizer carries the moments of kept weights over (the original's -noreset).",
    )
    adam_beta1: float = 0.0
    adam_beta2: float = 0.99
    adam_epsilon: float = 1e-8
    mixed_precision: str = setting(  # concrete in a run: "auto" is resolved by `with_precision`
        "float32",
        flag_default="auto",
        choices=PRECISIONS,
        help="Compute dtype (variables stay float32). auto: bfloat16 where the "
        "hardware has it (CPU avx512_bf16 / amx_bf16, GPU compute capability >= "
        "8.0), float16 on an older GPU if a start-up probe finds it faster, else "
        "float32.",
    )
    jit_compile: bool = setting(
        False,
        help="Compile each stage's D+G step with XLA (tf.function jit_compile): it fuses the "
        "many small element-wise ops around the convolutions. At the quickstart's widths on an "
        "AVX2 CPU the step runs 1.04-1.24x faster than with --conv_gradients (1.2-1.6x than "
        "without), but stage switches take ~3x longer to compile, and the numbers differ "
        "slightly (BUILD_NOTES).",
    )
    precision_note: str = ""  # why this precision (pgan_tf.training.precision.Choice.reason)
    distribute: str = setting(
        "auto",
        choices=DISTRIBUTIONS,
        help="auto: MultiWorkerMirrored when TF_CONFIG names a cluster, else Mirrored "
        "over local GPUs (or the CPU).",
    )
    num_cpu_devices: int = setting(
        0, help="Split the CPU into N logical devices, one replica each (testing)."
    )
    steps_per_call: int = setting(
        8, check=settings.positive, help="Training steps run per compiled call."
    )
    seed: int = setting(1000, help="Random seed (latents, data order, initialization).")
    deterministic: bool = setting(
        False, help="Enable TensorFlow op determinism (bit-exact resume on CPU)."
    )
    resume: str = setting(
        "",
        help="Resume from a run directory or checkpoint path; 'latest' = newest run in result_dir.",
    )
    worker_timeout: float = setting(
        300.0,
        check=settings.positive,
        help="Multi-worker: seconds before a dead or unreachable worker stops the others.",
    )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def dtype_policy(self) -> str | None:
        if self.mixed_precision == "auto":
            raise ConfigError(
                "mixed_precision 'auto' must be resolved at start-up (config.with_precision)"
            )
        return {"float32": None, "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}[
            self.mixed_precision
        ]


def with_precision(config: TrainConfig, choice: Choice) -> TrainConfig:
    """The config with the start-up's precision `choice` (a `pgan_tf.training.precision.Choice`)
    in it."""
    return dataclasses.replace(
        config, mixed_precision=choice.precision, precision_note=choice.reason
    )


def add_flags(p: cli.ArgumentParser) -> None:
    """Adds the training flags to `p`: each config field's `setting` (name, default, help) and the
    command's --dry_run."""
    settings.add_flags(p, DataConfig, NetworkConfig, ScheduleConfig, TrainConfig, LogConfig)
    p.add_bool(
        "--dry_run",
        default=False,
        help="Print the resolved config and stage schedule, then exit (works before the "
        "dataset exists).",
    )


def make_parser() -> cli.ArgumentParser:
    """The parser of `python -m pgan_tf.train`."""
    p = cli.ArgumentParser(
        prog="python -m pgan_tf.train",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_flags(p)
    return p


def parse_flags(argv: list[str]) -> argparse.Namespace:
    """The training flags of `argv` (without the program name); usage errors exit 2."""
    return make_parser().parse_args(argv)


def config_from_flags(f: argparse.Namespace) -> TrainConfig:
    """Builds the frozen config from the parsed flags (`parse_flags`); errors name the flag."""
    try:
        data = DataConfig(**settings.read(DataConfig, f))
        network = NetworkConfig(**settings.read(NetworkConfig, f))
        schedule = ScheduleConfig(
            resolution=max(f.resolution, f.initial_resolution, 4),
            **settings.read(ScheduleConfig, f),
        )
        log = LogConfig(**settings.read(LogConfig, f))
        values = settings.read(TrainConfig, f)
    except ConfigError:
        raise
    except ValueError as e:  # SettingError and the configs' own checks
        raise ConfigError(str(e)) from None
    if not f.growing and f.initial_resolution not in (4, f.resolution):
        raise ConfigError(
            "--nogrowing trains at the final resolution only: leave --initial_resolution unset"
        )
    return TrainConfig(network=network, schedule=schedule, data=data, log=log, **values)


def resolve_with_dataset(
    config: TrainConfig, info: DatasetInfo, num_replicas: int, labels_known: bool = True
) -> TrainConfig:
    """Fills what the dataset decides (resolution, channels, labels) and checks it fits.

    `info` is a `pgan_tf.data.dataset.DatasetInfo`; `labels_known=False` (a dry run before the
    dataset exists) skips the label check. Returns the final frozen config.
    """
    res = config.data.resolution or info.max_resolution
    if res > info.max_resolution:
        raise ConfigError(
            f"--resolution {res} is above the dataset's {info.max_resolution} ({info.path})"
        )
    if res not in info.resolutions:
        raise ConfigError(
            f"--resolution {res} is not in the dataset (it has {list(info.resolutions)})"
        )
    if config.schedule.growing and config.schedule.initial_resolution > res:
        raise ConfigError(
            f"--initial_resolution {config.schedule.initial_resolution} is above --resolution {res}"
        )
    if config.data.conditional and info.label_size == 0 and labels_known:
        raise ConfigError(f"--conditional needs labels, but {info.path} has no -rxx.labels file")
    network = dataclasses.replace(
        config.network,
        num_channels=info.num_channels,
        label_size=info.label_size if config.data.conditional else 0,
    )
    schedule = dataclasses.replace(config.schedule, resolution=res)
    for stage_res in resolutions_up_to(res):
        if stage_res < schedule.start_resolution:
            continue
        batch = schedule.minibatch(stage_res)
        if batch % num_replicas:
            raise ConfigError(
                f"minibatch {batch} at {stage_res}x{stage_res} is not divisible by the "
                f"{num_replicas} replicas (set --minibatch_dict / --minibatch_base, or use a flag "
                f"file made for {num_replicas} GPUs)"
            )
        per_replica = batch // num_replicas
        group = mbstd_group(network.mbstd_group_size, per_replica)
        if per_replica % group:
            raise ConfigError(
                f"per-replica minibatch {per_replica} at {stage_res}x{stage_res} is not divisible "
                f"by --mbstd_group_size {network.mbstd_group_size} (a group size of at least the "
                "minibatch, e.g. 16 as in the paper's preset, uses the whole minibatch)"
            )
    return dataclasses.replace(
        config,
        network=network,
        schedule=schedule,
        data=dataclasses.replace(config.data, resolution=res),
    )


def train_config_from_dict(d: dict) -> TrainConfig:
    """Inverse of `TrainConfig.to_dict`, for the dicts of earlier versions too (a run's
    config.json is read by `pgan_tf.training.rundir.read_config`)."""
    d = dict(d)
    d["network"] = NetworkConfig.from_dict(d["network"])
    sched = dict(d["schedule"])
    for key in ("minibatch_dict", "lr_dict"):
        sched[key] = tuple(tuple(p) for p in sched.get(key, ()))
    d["schedule"] = ScheduleConfig(**sched)
    d["data"] = DataConfig(**d["data"])
    if d.get("loss") == "lsgan":  # runs written before the option was named for what it is
        d["loss"] = "lsgan_mao"
    log = dict(d["log"])
    log["grid_size"] = str(log.get("grid_size", LogConfig.grid_size))
    log["tick_kimg"] = tuple(tuple(p) for p in log["tick_kimg"])
    log["metrics"] = tuple(log["metrics"])
    d["log"] = LogConfig(**log)
    return TrainConfig(**d)
