"""Building blocks every layer uses: atomic file writes, fault injection points, the command-line
flag library, PNG grids, progress lines. Imports nothing else of pgan_tf.
"""
