"""The networks of the paper (Appendix A): the custom Keras layers, G and D built per stage, and the
sampler that turns a generator into uint8 image batches.
"""
