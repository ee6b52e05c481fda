"""Serving: SavedModel export for TensorFlow Serving and an emulation of its REST predict API."""
