"""Training configuration: flags → one frozen `TrainConfig`, validated up front.

Every flag has the paper's / original tool's default unless noted. The resolved config is
written to `<run_dir>/config.json` and is the only thing the training code reads.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from pgan_tf.core import cli
from pgan_tf.core.resolution import resolutions_up_to
from pgan_tf.model.layers import mbstd_group
from pgan_tf.model.networks import NetworkConfig
from pgan_tf.training.checkpoint import KEEP_ALL
from pgan_tf.training.losses import LOSSES
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
    path: str
    resolution: int = 0  # 0: the dataset's full resolution
    mirror: bool = False
    conditional: bool = False
    create_synthetic: int = (
        0  # >0: create a synthetic dataset of this many images if `path` is absent
    )
    shuffle_buffer: int = 4096


@dataclasses.dataclass(frozen=True)
class LogConfig:
    result_dir: str = "results"
    desc: str = ""
    tick_kimg: tuple = DEFAULT_TICK_KIMG
    image_snapshot_ticks: int = 1
    network_snapshot_ticks: int = 10
    grid_size: str = "1080p"  # see `grid_shape`
    metrics: tuple = ()
    metrics_ticks: int = 10
    metrics_images: int = 1024
    inception_path: str = ""
    progress_seconds: float = 15.0
    keep_checkpoints: int = 3  # KEEP_ALL (0): every checkpoint stays (`checkpoint_count`)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    network: NetworkConfig
    schedule: ScheduleConfig
    data: DataConfig
    log: LogConfig = LogConfig()
    loss: str = "wgan_gp"
    gp_lambda: float = 10.0  # WGAN-GP weight λ (original `wgan_lambda`)
    gp_target: float = (
        1.0  # gradient-norm target (original `wgan_target`; 750 for CIFAR-10, §6.4.2)
    )
    drift_epsilon: float = 0.001  # ε_drift (original `wgan_epsilon`)
    g_ema_decay: float = 0.999  # 0: no G smoothing (the original's -nosmoothing)
    reset_optimizer: bool = (
        True  # fresh Adam state at every new stage (original reset_opt_for_new_lod)
    )
    adam_beta1: float = 0.0
    adam_beta2: float = 0.99
    adam_epsilon: float = 1e-8
    mixed_precision: str = "float32"  # concrete: the flag's "auto" is resolved by `with_precision`
    precision_note: str = ""  # why this precision (pgan_tf.training.precision.Choice.reason)
    distribute: str = "auto"
    num_cpu_devices: int = 0  # >1: split the CPU into this many logical devices (tests, benchmarks)
    steps_per_call: int = 8
    seed: int = 1000
    deterministic: bool = False
    resume: str = ""
    worker_timeout: float = 300.0

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
    """Adds the training flags to `p`: names, defaults and help are the command's interface."""
    p.add_argument(
        "--dataset_dir",
        default=None,
        help="TFRecord dataset directory (data_prep/create_tfrecords.py).",
    )
    p.add_argument(
        "--resolution",
        type=cli.integer,
        default=0,
        help="Final training resolution; 0 = the dataset's.",
    )
    p.add_bool(
        "--mirror", default=False, help="Random left-right mirroring of the reals (p = 0.5)."
    )
    p.add_bool(
        "--conditional",
        default=False,
        help="Label-conditional training (the dataset must have labels).",
    )
    p.add_argument(
        "--create_synthetic",
        type=cli.integer,
        default=0,
        help="If dataset_dir is absent, create the built-in synthetic dataset there "
        "with this many images.",
    )
    p.add_argument(
        "--shuffle_buffer", type=cli.integer, default=4096, help="Shuffle buffer (images)."
    )
    p.add_argument(
        "--fmap_base",
        type=cli.integer,
        default=8192,
        help="Feature-map base: nf(stage) = min(fmap_base / 2**(stage*fmap_decay), fmap_max).",
    )
    p.add_argument("--fmap_decay", type=float, default=1.0, help="Feature-map decay per stage.")
    p.add_argument(
        "--fmap_max", type=cli.integer, default=512, help="Maximum feature maps per layer."
    )
    p.add_argument("--latent_size", type=cli.integer, default=512, help="Latent vector size.")
    p.add_argument(
        "--mbstd_group_size",
        type=cli.integer,
        default=4,
        help="Minibatch-stddev group size, clamped to the per-replica minibatch as in "
        "the original (16 = whole minibatch at the paper's sizes); 0/1 disables "
        "the layer.",
    )
    p.add_bool(
        "--use_wscale",
        default=True,
        help="Equalized learning rate (paper §4.1); --nouse_wscale is the original's -nowscale.",
    )
    p.add_bool(
        "--use_pixelnorm",
        default=True,
        help="Pixelwise feature normalization in G (paper §4.2); --nouse_pixelnorm is the "
        "original's -nopixelnorm.",
    )
    p.add_bool(
        "--use_leakyrelu",
        default=True,
        help="Leaky ReLU in G; --nouse_leakyrelu (ReLU) is the original's -noleakyrelu.",
    )
    p.add_bool(
        "--fused_scale",
        default=False,
        help="D pools before the activation of each block's second conv, as the original's "
        "fused_scale (networks it trained by default; set by pgan_tf.import_official).",
    )
    p.add_argument(
        "--total_kimg", type=float, default=15000.0, help="Images shown in total, in thousands."
    )
    p.add_argument(
        "--lod_training_kimg",
        type=float,
        default=600.0,
        help="Stabilization images per phase, in thousands (paper 800, original default 600).",
    )
    p.add_argument(
        "--lod_transition_kimg",
        type=float,
        default=600.0,
        help="Fade-in images per phase, in thousands (paper 800, original default 600).",
    )
    p.add_argument(
        "--initial_resolution",
        type=cli.integer,
        default=4,
        help="Resolution the schedule starts at, with fresh networks (the original's "
        "lod_initial_resolution; e.g. 1024 runs the last stage directly, like its "
        "BENCHMARK0 mode).",
    )
    p.add_bool(
        "--growing",
        default=True,
        help="Progressive growing; --nogrowing trains at the final resolution from the "
        "start (the original's -nogrowing).",
    )
    p.add_argument(
        "--minibatch_base",
        type=cli.integer,
        default=16,
        help="Global minibatch where minibatch_dict says nothing.",
    )
    p.add_argument(
        "--minibatch_dict",
        default="",
        help="Per-resolution global minibatch, e.g. '256:14,512:6,1024:3'.",
    )
    p.add_argument(
        "--lr_base",
        type=float,
        default=0.001,
        help="Adam learning rate where lr_dict says nothing.",
    )
    p.add_argument(
        "--lr_dict", default="", help="Per-resolution learning rate, e.g. '1024:0.0015'."
    )
    p.add_argument(
        "--loss",
        choices=LOSSES,
        default="wgan_gp",
        help="wgan_gp: WGAN-GP + drift (the paper's). lsgan_mao: plain least-squares "
        "GAN (Mao et al.), NOT the paper's appendix-B LSGAN setup (no noise "
        "layers in D).",
    )
    p.add_argument(
        "--gp_lambda", type=float, default=10.0, help="WGAN-GP weight λ (original wgan_lambda)."
    )
    p.add_argument(
        "--gp_target",
        type=float,
        default=1.0,
        help="WGAN-GP gradient-norm target (original wgan_target; the paper's CIFAR-10 "
        "runs use 750).",
    )
    p.add_argument(
        "--drift_epsilon",
        type=float,
        default=0.001,
        help="Drift penalty weight ε_drift on D(real)² (original wgan_epsilon).",
    )
    p.add_argument(
        "--g_ema_decay",
        type=float,
        default=0.999,
        help="Generator EMA decay per step; 0 = no G smoothing (the original's -nosmoothing).",
    )
    p.add_bool(
        "--reset_optimizer",
        default=True,
        help="Fresh Adam state when a new stage starts; --noreset_optimizer carries the "
        "moments of kept weights over (the original's -noreset).",
    )
    p.add_argument(
        "--mixed_precision",
        choices=PRECISIONS,
        default="auto",
        help="Compute dtype (variables stay float32). auto: bfloat16 where the "
        "hardware has it (CPU avx512_bf16 / amx_bf16, GPU compute capability >= "
        "8.0), float16 on an older GPU if a start-up probe finds it faster, else "
        "float32.",
    )
    p.add_argument(
        "--distribute",
        choices=DISTRIBUTIONS,
        default="auto",
        help="auto: MultiWorkerMirrored when TF_CONFIG names a cluster, else Mirrored "
        "over local GPUs (or the CPU).",
    )
    p.add_argument(
        "--num_cpu_devices",
        type=cli.integer,
        default=0,
        help="Split the CPU into N logical devices, one replica each (testing).",
    )
    p.add_argument(
        "--steps_per_call",
        type=cli.integer,
        default=8,
        help="Training steps run per compiled call.",
    )
    p.add_argument(
        "--seed",
        type=cli.integer,
        default=1000,
        help="Random seed (latents, data order, initialization).",
    )
    p.add_bool(
        "--deterministic",
        default=False,
        help="Enable TensorFlow op determinism (bit-exact resume on CPU).",
    )
    p.add_argument(
        "--resume",
        default="",
        help="Resume from a run directory or checkpoint path; 'latest' = newest run in result_dir.",
    )
    p.add_argument("--result_dir", default="results", help="Where run directories are created.")
    p.add_argument("--desc", default="", help="Run description appended to the run directory name.")
    p.add_argument(
        "--tick_kimg",
        default="",
        help="Per-resolution kimg per tick, e.g. '4:160,8:140'; empty = the original's table.",
    )
    p.add_argument(
        "--image_snapshot_ticks",
        type=cli.integer,
        default=1,
        help="Write a fakes grid every N ticks.",
    )
    p.add_argument(
        "--network_snapshot_ticks",
        type=cli.integer,
        default=10,
        help="Write a checkpoint and generator snapshot every N ticks.",
    )
    p.add_argument(
        "--grid_size",
        default="1080p",
        help="Sample grid: 1080p or 4k (the original's: full-resolution images filling "
        "that screen, 3x2 at 1024^2), N (NxN) or WxH.",
    )
    p.add_list(
        "--metrics",
        default=[],
        help="Metrics computed during training: swd, ms_ssim, fid, is, mode_coverage.",
    )
    p.add_argument(
        "--metrics_ticks", type=cli.integer, default=10, help="Compute metrics every N ticks."
    )
    p.add_argument(
        "--metrics_images",
        type=cli.integer,
        default=1024,
        help="Images per metric evaluation during training.",
    )
    p.add_argument("--inception_path", default="", help="Inception-v3 weights for fid / is.")
    p.add_bool(
        "--dry_run",
        default=False,
        help="Print the resolved config and stage schedule, then exit (works before the "
        "dataset exists).",
    )
    p.add_argument(
        "--keep_checkpoints",
        type=checkpoint_count,
        default=3,
        help="Checkpoints kept on disk (older ones are deleted once a new one is complete), or "
        "'all': one per --network_snapshot_ticks, each resumable (--resume=RUN/checkpoints/"
        "ckpt-<images>), as the original keeps a network pickle per snapshot.",
    )
    p.add_argument(
        "--worker_timeout",
        type=float,
        default=300.0,
        help="Multi-worker: seconds before a dead or unreachable worker stops the others.",
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


def parse_table(
    text: str, value_type: Callable[[str], int | float], flag: str
) -> tuple[tuple[int, int | float], ...]:
    """'256:14,512:6' → ((256, 14), (512, 6)), with a clear error naming the flag."""
    out = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        try:
            res, value = item.split(":")
            out.append((int(res), value_type(value)))
        except ValueError:
            raise ConfigError(
                f"--{flag}: cannot parse {item!r}; expected RESOLUTION:VALUE pairs like '256:14'"
            ) from None
    return tuple(sorted(out))


def config_from_flags(f: argparse.Namespace) -> TrainConfig:
    """Builds the frozen config from the parsed flags (`parse_flags`); errors name the flag."""
    if not f.dataset_dir:
        raise ConfigError("--dataset_dir is required")
    try:
        network = NetworkConfig(
            fmap_base=f.fmap_base,
            fmap_decay=f.fmap_decay,
            fmap_max=f.fmap_max,
            latent_size=f.latent_size,
            mbstd_group_size=f.mbstd_group_size,
            use_wscale=f.use_wscale,
            use_pixelnorm=f.use_pixelnorm,
            use_leakyrelu=f.use_leakyrelu,
            fused_scale=f.fused_scale,
        )
        schedule = ScheduleConfig(
            resolution=max(f.resolution, f.initial_resolution, 4),
            total_kimg=f.total_kimg,
            initial_resolution=f.initial_resolution,
            lod_training_kimg=f.lod_training_kimg,
            lod_transition_kimg=f.lod_transition_kimg,
            minibatch_base=f.minibatch_base,
            minibatch_dict=parse_table(f.minibatch_dict, int, "minibatch_dict"),
            lr_base=f.lr_base,
            lr_dict=parse_table(f.lr_dict, float, "lr_dict"),
            growing=f.growing,
        )
    except ConfigError:
        raise
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if not f.growing and f.initial_resolution not in (4, f.resolution):
        raise ConfigError(
            "--nogrowing trains at the final resolution only: leave --initial_resolution unset"
        )
    for name in (
        "image_snapshot_ticks",
        "network_snapshot_ticks",
        "steps_per_call",
        "metrics_ticks",
        "metrics_images",
    ):
        if getattr(f, name) <= 0:
            raise ConfigError(f"--{name} must be positive, got {getattr(f, name)}")
    grid_shape(f.grid_size, 4)  # checks the spec
    if not 0.0 <= f.g_ema_decay < 1.0:
        raise ConfigError(f"--g_ema_decay must be in [0, 1), got {f.g_ema_decay}")
    if f.gp_lambda < 0 or f.gp_target <= 0 or f.drift_epsilon < 0:
        raise ConfigError("--gp_lambda and --drift_epsilon must be >= 0 and --gp_target > 0")
    tick = parse_table(f.tick_kimg, float, "tick_kimg") if f.tick_kimg else DEFAULT_TICK_KIMG
    if f.worker_timeout <= 0:
        raise ConfigError(f"--worker_timeout must be positive, got {f.worker_timeout}")
    if any(v <= 0 for _, v in tick):
        raise ConfigError("--tick_kimg values must be positive")
    return TrainConfig(
        network=network,
        schedule=schedule,
        data=DataConfig(
            path=os.path.abspath(f.dataset_dir),
            resolution=f.resolution,
            mirror=f.mirror,
            conditional=f.conditional,
            create_synthetic=f.create_synthetic,
            shuffle_buffer=f.shuffle_buffer,
        ),
        log=LogConfig(
            result_dir=f.result_dir,
            desc=f.desc,
            tick_kimg=tick,
            image_snapshot_ticks=f.image_snapshot_ticks,
            network_snapshot_ticks=f.network_snapshot_ticks,
            grid_size=str(f.grid_size).strip().lower(),
            metrics=tuple(f.metrics),
            metrics_ticks=f.metrics_ticks,
            metrics_images=f.metrics_images,
            inception_path=f.inception_path,
            keep_checkpoints=f.keep_checkpoints,
        ),
        loss=f.loss,
        gp_lambda=f.gp_lambda,
        gp_target=f.gp_target,
        drift_epsilon=f.drift_epsilon,
        g_ema_decay=f.g_ema_decay,
        reset_optimizer=f.reset_optimizer,
        mixed_precision=f.mixed_precision,
        distribute=f.distribute,
        num_cpu_devices=f.num_cpu_devices,
        steps_per_call=f.steps_per_call,
        seed=f.seed,
        deterministic=f.deterministic,
        resume=f.resume,
        worker_timeout=f.worker_timeout,
    )


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
