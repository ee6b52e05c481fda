"""The optional packages of some dataset sources, imported where they are needed.

Each is an extra of `pyproject.toml` (`pip install 'pgan_tf[lsun]'`, ...); a missing one is one
line naming the input, the package and the extra that installs it.
"""

import importlib

from pgan_tf.data.tfrecord_format import DatasetError


def import_extra(module: str, extra: str, reading: str):
    """The module `module`, or DatasetError "<reading> needs <package> (pip install ...)"."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0]
        raise DatasetError(f"{reading} needs {package} (pip install 'pgan_tf[{extra}]')") from None
