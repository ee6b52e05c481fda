r"""Imports a network pickle of the original implementation into a run directory.

    python -m pgan_tf.import_official karras2018iclr-celebahq-1024x1024.pkl \
        --run_dir results/celebahq-official

The run directory is what training writes, so every command takes it: `config.json` (network from
the pickle, the paper's schedule for its resolution), `network-snapshot-<kimg>.keras` (Gs, the EMA
generator) and `checkpoints/` (G, D, Gs at the images shown given by --kimg; default: where the
schedule's final stable stage starts, i.e. where the paper's training reaches full resolution).
`pgan_tf.export_saved_model`, `pgan_tf.generate`, `pgan_tf.evaluate` and `pgan_tf.train --resume`
all work on it. The directory is assembled under a temporary name and renamed when complete.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pgan_tf  # noqa: F401  (makes the TensorFlow import quiet)
from pgan_tf.core import atomic, cli
from pgan_tf.core.resolution import split_lod
from pgan_tf.official.convert import load_official_networks
from pgan_tf.official.unpickler import OfficialPickleError
from pgan_tf.training import checkpoint as ckpt
from pgan_tf.training import config as config_lib
from pgan_tf.training import rundir, schedule
from pgan_tf.training.run_state import NETWORKS, RunState

if TYPE_CHECKING:
    from pgan_tf.model.networks import NetworkConfig

# The paper's schedule (App. A.1): 800k + 800k images per phase, minibatch 16, then 14 / 6 / 3
# at 256² / 512² / 1024².
PAPER_PHASE_KIMG = 800.0
PAPER_MINIBATCH = ((256, 14), (512, 6), (1024, 3))
IMPORTED_FILE = "imported.json"
_FORMATS = {
    "tfutil": "tfutil.Network (TensorFlow version, state version 2)",
    "theano": "network.Network (Theano implementation, converted as the original's legacy.py)",
}


class ImportRequestError(ValueError):
    """A request the importer cannot satisfy (bad --run_dir, --lod, --kimg)."""


def paper_schedule(
    resolution: int,
    lod_training_kimg: float = PAPER_PHASE_KIMG,
    lod_transition_kimg: float = PAPER_PHASE_KIMG,
) -> schedule.ScheduleConfig:
    return schedule.ScheduleConfig(
        resolution=resolution,
        total_kimg=0.0,
        lod_training_kimg=lod_training_kimg,
        lod_transition_kimg=lod_transition_kimg,
        minibatch_dict=PAPER_MINIBATCH,
    )


def stage_for_lod(sched: schedule.ScheduleConfig, lod: float) -> tuple[schedule.Stage, float]:
    """(stage, kimg) where the schedule's networks are those of level of detail `lod`: the start of
    the stable stage for a whole lod, the point of the fade with α = 1 − frac(lod) otherwise."""
    res, fading, alpha = split_lod(sched.resolution, lod)
    for stage in schedule.stages(sched):
        if stage.resolution == res and stage.fade_in == fading:
            return stage, stage.start_kimg + (alpha if fading else 0.0) * sched.lod_transition_kimg
    raise ImportRequestError(
        f"lod {lod:g} has no stage in a schedule starting at "
        f"{sched.initial_resolution}x{sched.initial_resolution}"
    )


def resume_flags(config: NetworkConfig, sched: schedule.ScheduleConfig) -> list[str]:
    """The `pgan_tf.train` flags that rebuild these networks and this schedule (for --resume)."""
    net = config
    flags = [
        f"--resolution={sched.resolution}",
        f"--fmap_base={net.fmap_base}",
        f"--fmap_decay={net.fmap_decay:g}",
        f"--fmap_max={net.fmap_max}",
        f"--latent_size={net.latent_size}",
        f"--mbstd_group_size={net.mbstd_group_size}",
        f"--lod_training_kimg={sched.lod_training_kimg:g}",
        f"--lod_transition_kimg={sched.lod_transition_kimg:g}",
    ]
    if net.fused_scale:
        flags.append("--fused_scale")
    for name in ("use_wscale", "use_pixelnorm", "use_leakyrelu"):
        if not getattr(net, name):
            flags.append(f"--no{name}")
    return flags


def _write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True, default=str)


def import_pickle(
    pkl: str,
    out: str,
    *,
    lod: float = 0.0,
    kimg: float | None = None,
    name: str | None = None,
    dataset_dir: str = "",
    seed: int = 1000,
    lod_training_kimg: float = PAPER_PHASE_KIMG,
    lod_transition_kimg: float = PAPER_PHASE_KIMG,
    log: Callable[[str], object] = print,
) -> dict:
    """Writes run directory `out` from pickle `pkl`; returns a dict describing what was written."""
    out = os.path.abspath(out)
    if os.path.exists(out):
        raise ImportRequestError(f"--run_dir {out} already exists; choose a new directory")
    start = time.time()
    nets = _read_pickle(pkl, lod, log)
    sched = paper_schedule(nets.resolution, lod_training_kimg, lod_transition_kimg)
    stage, kimg = _stage_and_kimg(sched, nets.lod, kimg)
    name = name or os.path.splitext(os.path.basename(pkl))[0]
    config = _train_config(nets, sched, kimg, name, dataset_dir, seed)
    tmp = atomic.make_temp_dir(out)
    try:
        snapshot, saved = _write_run_dir(tmp, pkl, nets, config, name, stage, kimg)
        atomic.install_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {
        "run_dir": out,
        "snapshot": os.path.join(out, snapshot),
        "kimg": kimg,
        "stage": stage,
        "checkpoint": os.path.join(out, ckpt.CHECKPOINT_DIR, os.path.basename(saved)),
        "networks": nets,
        "schedule": sched,
        "seconds": time.time() - start,
    }


def _read_pickle(pkl, lod, log):
    """The pickle's networks at `lod`, with a line saying what was read (and one more when that
    is not the lod the pickle was saved at)."""
    start = time.time()
    nets = load_official_networks(pkl, lod)
    load_seconds = time.time() - start
    log(
        f"read {pkl}: {_FORMATS[nets.format]}, {nets.resolution}x{nets.resolution}, lod "
        f"{nets.pickle_lod:g} stored in the pickle; G {nets.G.count_params():,} / D "
        f"{nets.D.count_params():,} parameters at lod {nets.lod:g} ({load_seconds:.1f}s)"
    )
    if nets.pickle_lod != nets.lod:
        log(
            f"note: the pickle was saved at lod {nets.pickle_lod:g}; imported at lod {nets.lod:g} "
            f"(--lod {nets.pickle_lod:g} imports the networks as they were being trained)"
        )
    return nets


def _stage_and_kimg(sched, lod, kimg):
    """(stage, kimg) of networks at `lod`: kimg defaults to where `stage_for_lod` puts them; a
    given one must lie in that stage (fading networks fix it)."""
    stage, stage_kimg = stage_for_lod(sched, lod)
    if kimg is None:
        return stage, stage_kimg
    if stage.fade_in and kimg != stage_kimg:
        raise ImportRequestError(
            f"--kimg is fixed by --lod {lod:g} for fading networks ({stage_kimg:g}); leave it out"
        )
    if not stage.start_kimg <= kimg < stage.end_kimg:
        raise ImportRequestError(
            f"--kimg {kimg:g} is outside the {stage.name} stage of the schedule "
            f"([{stage.start_kimg:g}, {stage.end_kimg:g}) kimg for lod {lod:g})"
        )
    return stage, kimg


def _train_config(nets, sched, kimg, name, dataset_dir, seed):
    """The TrainConfig the run directory records: the pickle's networks, the schedule up to
    `kimg`, the dataset (optional) at the networks' resolution."""
    return config_lib.TrainConfig(
        network=nets.config,
        schedule=dataclasses.replace(sched, total_kimg=kimg),
        data=config_lib.DataConfig(
            path=os.path.abspath(dataset_dir) if dataset_dir else "", resolution=nets.resolution
        ),
        log=config_lib.LogConfig(desc=name),
        seed=seed,
    )


def _write_run_dir(tmp, pkl, nets, config, name, stage, kimg):
    """Writes config.json, imported.json, the Gs snapshot, the checkpoint of G, D, Gs and the
    log into `tmp`; returns (snapshot file name, checkpoint path)."""
    rundir.write_config(tmp, config, rundir.DatasetEntry(config.data.path, nets.resolution, name))
    imported = {
        "source": os.path.abspath(pkl),
        "format": nets.format,
        "pickle_lod": nets.pickle_lod,
        "lod": nets.lod,
        "network": nets.config.to_dict(),
        "stage": {"resolution": stage.resolution, "fade_in": stage.fade_in},
        "kimg": kimg,
    }
    _write_json(os.path.join(tmp, IMPORTED_FILE), imported)
    snapshot = rundir.snapshot_name(int(kimg))
    nets.Gs.save(os.path.join(tmp, snapshot))
    images = round(kimg * 1000)
    state = RunState.new(images).variables(stage=False)
    objects = dict(zip(NETWORKS, (nets.G, nets.D, nets.Gs)))
    checkpoint = ckpt.make_imported_checkpoint(objects, state, imported)
    saved = ckpt.Saver(tmp).save(checkpoint, images)
    with open(os.path.join(tmp, rundir.LOG_NAME), "w") as f:
        f.write(
            f"Imported {os.path.abspath(pkl)} ({_FORMATS[nets.format]}) at lod {nets.lod:g} "
            f"as kimg {kimg:g} ({stage.name}).\n"
        )
    return snapshot, saved


def make_parser() -> cli.ArgumentParser:
    p = cli.ArgumentParser(
        prog="python -m pgan_tf.import_official", description=__doc__.splitlines()[0]
    )
    p.add_argument(
        "pickle", help="network pickle of the original (G, D, Gs): its own or a Theano-era one"
    )
    p.add_argument("--run_dir", required=True, help="run directory to create (must not exist)")
    p.add_argument(
        "--name",
        default=None,
        help="name recorded in config.json (default: the pickle's file name)",
    )
    p.add_argument(
        "--kimg",
        type=float,
        default=None,
        help="images shown (thousands) the networks stand for; default: start of the final stable "
        "stage",
    )
    p.add_argument(
        "--lod",
        type=float,
        default=0.0,
        help="level of detail to import at (0: full resolution, stable; 0.5: half-way through its "
        "fade-in)",
    )
    p.add_argument(
        "--dataset_dir", default="", help="the matching TFRecord dataset (for evaluate); optional"
    )
    p.add_argument(
        "--lod_training_kimg",
        type=float,
        default=PAPER_PHASE_KIMG,
        help="schedule: stabilize kimg per phase",
    )
    p.add_argument(
        "--lod_transition_kimg",
        type=float,
        default=PAPER_PHASE_KIMG,
        help="schedule: fade-in kimg per phase",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """`python -m pgan_tf.import_official`; returns the exit code (0, 1 failed, 2 usage or a
    pickle that cannot be imported, 130 Ctrl-C: nothing is left behind)."""
    args = make_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        result = import_pickle(
            args.pickle,
            args.run_dir,
            lod=args.lod,
            kimg=args.kimg,
            name=args.name,
            dataset_dir=args.dataset_dir,
            lod_training_kimg=args.lod_training_kimg,
            lod_transition_kimg=args.lod_transition_kimg,
        )
    except (OfficialPickleError, ImportRequestError, ValueError) as e:
        return cli.fail(e, cli.USAGE)
    except (OSError, atomic.WriteError) as e:
        return cli.fail(e, cli.FAILURE)
    except KeyboardInterrupt:
        return cli.fail("interrupted; nothing was written", cli.INTERRUPTED)
    nets, rd = result["networks"], result["run_dir"]
    print(
        f"wrote {rd}: config.json, {os.path.basename(result['snapshot'])}, "
        f"{os.path.relpath(result['checkpoint'], rd)} (kimg {result['kimg']:g}, "
        f"{result['stage'].name}) in {result['seconds']:.1f}s"
    )
    print("next:")
    print(f"  python -m pgan_tf.export_saved_model --run_dir {rd}")
    print(
        f"  python -m pgan_tf.generate --model {rd} --out {os.path.join(rd, 'samples')} "
        f"--num_images 16"
    )
    print(
        "  python -m pgan_tf.train --dataset_dir=DATASET "
        f"{' '.join(resume_flags(nets.config, result['schedule']))} --total_kimg=KIMG --resume={rd}"
    )
    return cli.OK


if __name__ == "__main__":
    sys.exit(main())
