"""pgan_tf: Progressive Growing of GANs for Improved Quality, Stability, and Variation.

Importing the package keeps TensorFlow's C++ logging quiet unless the user asked otherwise.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
