"""Datasets: the original tool's multi-resolution TFRecord format, its reader (tf.data), the
dataset tool behind `python -m pgan_tf.create_tfrecords` (image decoding, source adapters, the
synthetic set) and the record verifier.
"""
