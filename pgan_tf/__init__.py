"""pgan_tf: Progressive Growing of GANs for Improved Quality, Stability, and Variation.

Importing the package imports TensorFlow quietly: TensorFlow's C++ start-up lines (written to
stderr before its logging is initialized) are discarded and its C++ log level defaults to errors
hidden. Set PGAN_TF_VERBOSE=1 (or TF_CPP_MIN_LOG_LEVEL yourself) to see them.
"""
import os
import sys

__version__ = "0.1.0"


def _import_tensorflow_quietly():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules or os.environ.get("PGAN_TF_VERBOSE"):
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _quiet_python_logging():
    """TensorFlow's Python INFO lines (strategy devices, checkpoint sharding) are noise here."""
    if not os.environ.get("PGAN_TF_VERBOSE"):
        import logging

        logging.getLogger("tensorflow").setLevel(logging.WARNING)


_import_tensorflow_quietly()
_quiet_python_logging()
