#!/usr/bin/env python3
"""`python export/export_saved_model.py ...` runs `python -m pgan_tf.export_saved_model ...`: the
same flags, output and exit codes.
It needs the package installed (`pip install -e .`)."""

import sys

try:
    from pgan_tf.export_saved_model import main
except ModuleNotFoundError as e:
    if e.name != "pgan_tf":
        raise
    print(
        "error: pgan_tf is not installed: run `pip install -e .` in the repository (or "
        "`python -m pgan_tf.export_saved_model` from its root)",
        file=sys.stderr,
    )
    sys.exit(2)

if __name__ == "__main__":
    sys.exit(main())
