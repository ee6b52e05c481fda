"""Peak RSS of `python -m pgan_tf.generate --num_images=N` at 1024² (issue 23, part 3).

    python benchmarks/generate_rss.py --work /tmp/scratch --num_images 1000 [--repo DIR]

Builds a run directory holding a tiny-width 1024² generator (fmap_base 2048, fmap_max 16, latent
16: full resolution, few weights), then runs `generate` from `--repo` (this checkout by default;
another checkout measures "before") in a child process and prints its peak RSS
(`resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`, kB) and wall time.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_run(path: str) -> None:
    """config.json + one network-snapshot .keras of a random tiny-width 1024² generator."""
    sys.path.insert(0, HERE)
    from pgan_tf.model import networks
    from pgan_tf.training import rundir

    config = networks.NetworkConfig(fmap_base=2048, fmap_max=16, latent_size=16)
    os.makedirs(path, exist_ok=True)
    networks.build_generator(config, 1024).save(os.path.join(path, rundir.snapshot_name(0)))
    cfg = {"network": config.to_dict(), "dataset": {"path": "x", "resolution": 1024}, "train": {}}
    with open(os.path.join(path, rundir.CONFIG_NAME), "w") as f:
        json.dump(cfg, f)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", required=True, help="scratch directory (run dir and images)")
    p.add_argument("--num_images", type=int, default=1000)
    p.add_argument("--repo", default=HERE, help="checkout whose generate is measured")
    args = p.parse_args()
    run = os.path.join(args.work, "run1024")
    if not os.path.isdir(run):
        make_run(run)
    out = os.path.join(args.work, f"out-{args.num_images}")
    cmd = [sys.executable, "-m", "pgan_tf.generate", f"--model={run}", f"--out={out}"]
    env = dict(os.environ, PYTHONPATH=args.repo)
    start = time.time()
    subprocess.run(cmd + [f"--num_images={args.num_images}"], check=True, cwd=args.repo, env=env)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"{args.num_images} images at 1024²: peak RSS {peak:,} kB, {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
