#!/usr/bin/env python3
"""`python data_prep/create_tfrecords.py ...` runs `python -m pgan_tf.create_tfrecords ...`: the
same subcommands, flags, output and exit codes.
It needs the package installed (`pip install -e .`)."""

import sys

try:
    from pgan_tf.create_tfrecords import main
except ModuleNotFoundError as e:
    if e.name != "pgan_tf":
        raise
    print(
        "error: pgan_tf is not installed: run `pip install -e .` in the repository (or "
        "`python -m pgan_tf.create_tfrecords` from its root)",
        file=sys.stderr,
    )
    sys.exit(2)

if __name__ == "__main__":
    sys.exit(main())
