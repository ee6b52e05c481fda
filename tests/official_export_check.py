"""Test helper (run as a script): exports a run directory's snapshot with the project's exporter and
compares the reloaded SavedModel with the Keras generator on one latent; prints a JSON line."""

import json
import sys

import numpy as np
import tensorflow as tf

from pgan_tf.model import sampling
from pgan_tf.serving import export
from pgan_tf.training import rundir


def main(rd, export_base):
    _, path = rundir.latest_snapshot(rd)
    generator = rundir.load_generator(path)
    result = export.export_generator(generator, export_base, "pgan", warmup=False, verify=False)
    z = (
        np.random.RandomState(1)
        .standard_normal((1, generator.inputs[0].shape[-1]))
        .astype(np.float32)
    )
    served = (
        tf.saved_model.load(result.path)
        .signatures["serving_default"](latents=tf.constant(z))["images"]
        .numpy()
    )
    keras_images = sampling.to_uint8(generator(z))
    diff = np.abs(served.astype(np.int32) - keras_images.astype(np.int32))
    print(
        json.dumps(
            {
                "shape": list(served.shape),
                "dtype": served.dtype.name,
                "max_abs_diff": int(diff.max()),
                "differing_fraction": float((diff > 0).mean()),
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:3])
