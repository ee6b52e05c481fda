"""Class labels as one-hot float32 rows: the format of a dataset's `-rxx.labels` file (the
original tool's) and of a conditional generator's label input."""

import numpy as np


def one_hot(classes, num_classes: int) -> np.ndarray:
    """[n, num_classes] float32 rows with a 1 at each of the n class indices."""
    classes = np.asarray(classes, np.int64).reshape(-1)
    out = np.zeros((classes.size, num_classes), np.float32)
    out[np.arange(classes.size), classes] = 1.0
    return out
