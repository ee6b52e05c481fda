"""pgan_tf: Progressive Growing of GANs for Improved Quality, Stability, and Variation.

Importing the package makes TensorFlow's import quiet: TensorFlow's C++ start-up lines (written
to stderr before its logging is initialized) are discarded and its C++ log level defaults to
errors hidden. TensorFlow itself loads when a module first imports it, so a command answers
--help or a usage error without loading it. Set PGAN_TF_VERBOSE=1 (or TF_CPP_MIN_LOG_LEVEL
yourself) to see those lines.
"""

import contextlib
import importlib.abc
import importlib.util
import os
import sys

__version__ = "0.1.0"


@contextlib.contextmanager
def _stderr_discarded():
    """File descriptor 2 goes to /dev/null (C++ code writes there, not to sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class _QuietLoader(importlib.abc.Loader):
    """Runs the `tensorflow` package's code with stderr discarded; the module keeps its loader."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self._loader
        with _stderr_discarded():
            self._loader.exec_module(module)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` on its first import, wherever it happens, and imports it quietly."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def _quiet_tensorflow_import():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules or os.environ.get("PGAN_TF_VERBOSE"):
        return
    sys.meta_path.insert(0, _QuietTensorFlowImport())


def _quiet_python_logging():
    """TensorFlow's Python INFO lines (strategy devices, checkpoint sharding) are noise here."""
    if not os.environ.get("PGAN_TF_VERBOSE"):
        import logging

        logging.getLogger("tensorflow").setLevel(logging.WARNING)


_quiet_tensorflow_import()
_quiet_python_logging()
