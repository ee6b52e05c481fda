"""Fréchet Inception Distance (Heusel et al. 2017) and the Inception-v3 feature extractor.

FID fits a Gaussian to the 2048-d pool features of each image set and reports
|μ1 − μ2|² + tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½). The matrix square root is taken through symmetric
eigen-decompositions (no SciPy): tr((Σ1 Σ2)^½) = tr((Σ1^½ Σ2 Σ1^½)^½).

Inception weights are never downloaded: `InceptionFeatures` loads them from a path the user
gives — the TF1 graph of published FIDs (`classify_image_graph_def.pb`, a directory holding it, or
`inception-2015-12-05.tgz`: see `inception_graph.py`), a full Keras model (`.keras` / `.h5`), a
weights file for `keras.applications.InceptionV3(weights=None)` (`.weights.h5` or a weights-only
`.h5`), or a SavedModel directory — and accepts any model with an image input and the named outputs.
"""

import os

import numpy as np
import tensorflow as tf

from pgan_tf.core.errors import first_line
from pgan_tf.metrics import inception_graph

NO_WEIGHTS_MESSAGE = (
    "FID and IS need Inception-v3 weights, which are never downloaded: pass --inception_path=PATH "
    "(classify_image_graph_def.pb, a directory holding it, inception-2015-12-05.tgz, a Keras "
    ".keras/.h5 model, a .weights.h5 file for keras.applications.InceptionV3, or a SavedModel "
    "directory)"
)


# ---------------------------------------------------------------------------- maths
def sqrtm_psd(matrix):
    """Square root of a symmetric positive semi-definite matrix (negative eigenvalues → 0)."""
    m = np.asarray(matrix, np.float64)
    vals, vecs = np.linalg.eigh((m + m.T) / 2.0)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (covariances PSD)."""
    mu1, mu2 = (
        np.atleast_1d(np.asarray(mu1, np.float64)),
        np.atleast_1d(np.asarray(mu2, np.float64)),
    )
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(
            f"frechet_distance: shapes do not match: mu {mu1.shape}, {mu2.shape}; "
            f"sigma {sigma1.shape}, {sigma2.shape}"
        )
    root1 = sqrtm_psd(sigma1)
    middle = root1 @ sigma2 @ root1
    vals = np.linalg.eigvalsh((middle + middle.T) / 2.0)
    trace_sqrt = float(np.sum(np.sqrt(np.clip(vals, 0.0, None))))
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt)


class GaussianStats:
    """Streaming mean and (unbiased, ddof 1) covariance of feature vectors, in float64."""

    def __init__(self):
        self.count = 0
        self._sum = None
        self._outer = None

    def add(self, features):
        """Adds a [N, D] batch of features."""
        f = np.asarray(features, np.float64)
        if f.ndim != 2:
            raise ValueError(f"features must be [N, D], got shape {f.shape}")
        if self._sum is None:
            self._sum = np.zeros(f.shape[1])
            self._outer = np.zeros((f.shape[1], f.shape[1]))
        self._sum += f.sum(axis=0)
        self._outer += f.T @ f
        self.count += f.shape[0]

    def mean_cov(self):
        """(mean [D], covariance [D, D])."""
        if self.count < 2:
            raise ValueError(f"need at least 2 feature vectors for a covariance, got {self.count}")
        mu = self._sum / self.count
        cov = (self._outer - self.count * np.outer(mu, mu)) / (self.count - 1)
        return mu, cov


def fid_from_stats(stats_a, stats_b):
    """FID between two GaussianStats."""
    return frechet_distance(*stats_a.mean_cov(), *stats_b.mean_cov())


# ---------------------------------------------------------------------------- features
def _is_softmax_layer(layer):
    """True when a Keras layer ends in a softmax (its output are probabilities, not logits)."""
    import keras

    act = getattr(layer, "activation", None)
    return act is keras.activations.softmax or getattr(act, "__name__", "") == "softmax"


def _h5_is_full_model(path):
    """True for a legacy full-model .h5 (has a model_config), False for a weights-only .h5."""
    import h5py

    with h5py.File(path, "r") as f:
        return "model_config" in f.attrs


def _load_keras(path):
    """A Keras model from a .keras/.h5 model file or from InceptionV3 weights."""
    import keras

    name = os.path.basename(path)
    if name.endswith(".keras") or (
        name.endswith(".h5") and not name.endswith(".weights.h5") and _h5_is_full_model(path)
    ):
        return keras.saving.load_model(path, compile=False)
    if not name.endswith(".h5"):
        raise ValueError(
            f"unrecognized Inception file {path!r}: expected .keras, .h5, "
            f".weights.h5 or a SavedModel directory"
        )
    errors = []
    for classes in (1000, 1008):
        model = keras.applications.InceptionV3(weights=None, classes=classes)
        try:
            model.load_weights(path)
            return model
        except ValueError as e:
            errors.append(first_line(e))
    raise ValueError(
        f"{path!r} does not hold InceptionV3 weights (1000 or 1008 classes): {errors[-1]}"
    )


class InceptionFeatures:
    """Pool features and class probabilities of uint8 NHWC images under a given Inception net.

    Gray images are tiled to RGB. The TF1 graph gets them as 0–255 floats and resizes them
    itself, as TTUR and the original feed it; a Keras or SavedModel network gets them resized
    (bilinear) to its input size (299² for Inception-v3) and scaled to [-1, 1], as Keras'
    InceptionV3 preprocessing does.
    feature_layer / output_layer name the layers (Keras) or output keys (SavedModel); a
    SavedModel with other keys must have exactly two outputs, taken in key order as
    (features, logits). Outputs that are not already softmax probabilities are softmaxed.
    """

    def __init__(
        self, path, *, feature_layer="avg_pool", output_layer="predictions", batch_size=32
    ):
        if not path:
            raise ValueError(NO_WEIGHTS_MESSAGE)
        if not os.path.exists(path):
            raise FileNotFoundError(f"Inception weights not found: {path!r} ({NO_WEIGHTS_MESSAGE})")
        self.batch_size = batch_size
        self._size = None
        if inception_graph.is_graph_path(path):
            self._init_graph(path)
        elif os.path.isdir(path):
            self._init_saved_model(path, feature_layer, output_layer)
        else:
            self._init_keras(_load_keras(path), feature_layer, output_layer)

    def _init_graph(self, path):
        graph = inception_graph.InceptionGraph(path)
        self._channels = 3
        self._outputs_are_probs = False  # the graph's outputs are logits
        self._graph = graph
        self._run = graph.run

    def _init_keras(self, model, feature_layer, output_layer):
        import keras

        names = [layer.name for layer in model.layers]
        missing = [n for n in (feature_layer, output_layer) if n not in names]
        if missing:
            raise ValueError(
                f"Inception model has no layer(s) {missing}; its last layers are "
                f"{names[-5:]} (choose with feature_layer=/output_layer=)"
            )
        out_layer = model.get_layer(output_layer)
        self._outputs_are_probs = _is_softmax_layer(out_layer)
        net = keras.Model(model.inputs, [model.get_layer(feature_layer).output, out_layer.output])
        self._size = tuple(d or 299 for d in model.input_shape[1:3])
        self._channels = model.input_shape[3]
        self._run = lambda x: net(x, training=False)

    def _init_saved_model(self, path, feature_layer, output_layer):
        if not os.path.isfile(os.path.join(path, "saved_model.pb")):
            raise FileNotFoundError(
                f"{path!r} is a directory without saved_model.pb or "
                f"{inception_graph.GRAPH_NAME} ({NO_WEIGHTS_MESSAGE})"
            )
        loaded = tf.saved_model.load(path)
        if "serving_default" not in loaded.signatures:
            raise ValueError(f"SavedModel {path!r} has no serving_default signature")
        fn = loaded.signatures["serving_default"]
        keys = sorted(fn.structured_outputs)
        if feature_layer in keys and output_layer in keys:
            feat_key, out_key = feature_layer, output_layer
        elif len(keys) == 2:
            feat_key, out_key = keys
        else:
            raise ValueError(
                f"SavedModel {path!r} outputs {keys}: name the feature and logits "
                f"outputs with feature_layer=/output_layer="
            )
        ((in_name, spec),) = fn.structured_input_signature[1].items()
        self._size = tuple(d or 299 for d in spec.shape[1:3])
        self._channels = spec.shape[3] or 3
        self._outputs_are_probs = None
        self._loaded = loaded  # keeps the variables alive
        self._run = lambda x: (lambda o: (o[feat_key], o[out_key]))(fn(**{in_name: x}))

    def preprocess(self, images):
        """uint8 NHWC → float32: 0–255 at the images' size for the TF1 graph, else at the
        model's input size in [-1, 1]."""
        if self._size is None:
            x = np.asarray(images, np.float32)
            if x.ndim != 4:
                raise ValueError(f"expected NHWC images, got shape {x.shape}")
            return np.repeat(x, 3, axis=3) if x.shape[-1] == 1 else x
        x = tf.cast(tf.convert_to_tensor(images), tf.float32)
        if x.shape.rank != 4:
            raise ValueError(f"expected NHWC images, got shape {x.shape}")
        if x.shape[-1] == 1 and self._channels == 3:
            x = tf.tile(x, [1, 1, 1, 3])
        x = tf.image.resize(x, self._size, method="bilinear")
        return x / 127.5 - 1.0

    def __call__(self, images):
        """(features [N, F] float64, probabilities [N, K] float64) for a uint8 NHWC array."""
        feats, probs = [], []
        for start in range(0, len(images), self.batch_size):
            f, out = self._run(self.preprocess(images[start : start + self.batch_size]))
            out = np.asarray(out, np.float64)
            as_probs = self._outputs_are_probs
            if as_probs is None:
                as_probs = bool(np.all(out >= 0) and np.allclose(out.sum(axis=1), 1.0, atol=1e-3))
            if not as_probs:
                out = np.exp(out - out.max(axis=1, keepdims=True))
                out /= out.sum(axis=1, keepdims=True)
            feats.append(np.asarray(f, np.float64).reshape(len(out), -1))
            probs.append(out)
        return np.concatenate(feats), np.concatenate(probs)


def fid(reals, fakes, inception):
    """FID between two uint8 NHWC sets (arrays or iterables of batches).

    `inception` is an InceptionFeatures or a path to its weights.
    """
    if not isinstance(inception, InceptionFeatures):
        inception = InceptionFeatures(inception)
    stats = []
    for images in (reals, fakes):
        s = GaussianStats()
        for batch in [images] if isinstance(images, np.ndarray) else images:
            s.add(inception(np.asarray(batch))[0])
        stats.append(s)
    return fid_from_stats(*stats)
