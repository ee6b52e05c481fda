"""Tiny generators and run directories shared by the export, REST, generate and export-CLI tests."""

import json
import os

import keras
import numpy as np

from pgan_tf.model import networks, sampling
from pgan_tf.training import rundir

TINY = networks.NetworkConfig(fmap_base=32, fmap_max=16, latent_size=16)
TINY_COND = networks.NetworkConfig(fmap_base=32, fmap_max=16, latent_size=16, label_size=3)


def tiny_generator(config=TINY, resolution=8, seed=0):
    """A tiny generator with seeded random weights (and non-zero biases, so they matter)."""
    keras.utils.set_random_seed(seed)
    g = networks.build_generator(config, resolution)
    rng = np.random.RandomState(seed)
    for w in g.weights:
        if "bias" in w.path:
            w.assign(rng.normal(0, 0.3, w.shape).astype(np.float32))
    return g


def make_run_dir(path, config=TINY, resolution=8, kimgs=(12,), seed=0):
    """A run directory as training writes it: config.json + network-snapshot-*.keras files."""
    os.makedirs(path, exist_ok=True)
    gens = {}
    for i, kimg in enumerate(kimgs):
        g = tiny_generator(config, resolution, seed + i)
        g.save(os.path.join(path, rundir.snapshot_name(kimg)))
        gens[kimg] = g
    cfg = {
        "network": config.to_dict(),
        "dataset": {"path": "data/x", "resolution": resolution},
        "train": {},
    }
    with open(os.path.join(path, rundir.CONFIG_NAME), "w") as f:
        json.dump(cfg, f)
    return gens


def keras_uint8(generator, *inputs):
    x = generator(list(inputs) if len(inputs) > 1 else inputs[0], training=False)
    return sampling.to_uint8(x)


def tree(path):
    """Every file and directory under path, relative, sorted (to prove nothing changed)."""
    out = []
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(root, name)
            out.append(
                (os.path.relpath(full, path), os.path.getsize(full) if name in files else -1)
            )
    return sorted(out)
