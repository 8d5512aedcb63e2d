"""The dataset's frame features: Inception pool features (2048) -> PCA + whitening (1024).

Two frame networks, chosen by the file the user points to (``inception_weights``):
  * a frozen GraphDef (``.pb``, the dataset extractor's ``classify_image_graph_def.pb``): RGB uint8
    [height, width, 3] fed at ``DecodeJpeg:0``, the 2048 features read at ``pool_3/_reshape:0``.
    The graph resizes and normalizes itself. This reproduces the dataset's features.
  * a Keras Inception-v3 weights file (``.h5``, ImageNet weights without the top): frames resized
    to 299x299 and scaled to [-1, 1], global average pool. A different network: its features do
    NOT reproduce the dataset's, and models trained on YouTube-8M will not transfer to them.

PCA parameters (``pca_dir``) in the layout the dataset published: ``mean.npy`` [2048, 1],
``eigenvals.npy`` [2048, 1], ``eigenvecs.npy`` [2048, 2048] (eigenvectors as rows); the first
1024 components are kept and whitened with ``1 / sqrt(eigenvalue + 1e-4)``.
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np

POOL_DIM = 2048
PCA_DIM = 1024
GRAPH_INPUT = "DecodeJpeg:0"
GRAPH_OUTPUT = "pool_3/_reshape:0"
KERAS_SIZE = 299
KERAS_LABEL = ("Keras Inception-v3 (not the dataset's network: its features do not reproduce "
               "YouTube-8M's)")


@dataclasses.dataclass(frozen=True)
class Pca:
    mean: np.ndarray  # float32 [2048]
    projection: np.ndarray  # float32 [2048, 1024]
    scale: np.ndarray  # float32 [1024]: 1 / sqrt(eigenvalue + 1e-4)

    def __call__(self, pool: np.ndarray) -> np.ndarray:
        """float32 [frames, 2048] -> whitened float32 [frames, 1024]."""
        return ((pool - self.mean) @ self.projection * self.scale).astype(np.float32)


def load_pca(pca_dir: str) -> Pca:
    """Reads the published PCA files; ValueError naming the file whose shape is off."""
    arrays = {}
    for name, shape in (("mean", (POOL_DIM, 1)), ("eigenvals", (POOL_DIM, 1)),
                        ("eigenvecs", (POOL_DIM, POOL_DIM))):
        path = os.path.join(pca_dir, f"{name}.npy")
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ValueError(f"`pca_dir`: cannot read {path} ({e}); expected the dataset's PCA "
                             "files mean.npy, eigenvals.npy, eigenvecs.npy") from None
        if array.shape != shape:
            raise ValueError(f"`pca_dir`: {path} has shape {array.shape}, expected {shape}")
        arrays[name] = array.astype(np.float64)
    eigenvals = arrays["eigenvals"][:PCA_DIM, 0]
    if (eigenvals + 1e-4 <= 0).any():
        raise ValueError(f"`pca_dir`: {pca_dir}/eigenvals.npy has negative eigenvalues")
    return Pca(arrays["mean"][:, 0].astype(np.float32),
               arrays["eigenvecs"].T[:, :PCA_DIM].astype(np.float32),
               (1.0 / np.sqrt(eigenvals + 1e-4)).astype(np.float32))


class FrameNetwork:
    """RGB frames -> float32 [frames, 2048] pool features, from a frozen graph or Keras weights."""

    def __init__(self, path: str, trust_model: bool = False):
        if not os.path.isfile(path):
            raise ValueError(f"`inception_weights`: {path} is not a file (expected the frozen "
                             "classify_image_graph_def.pb, or Keras Inception-v3 .h5 weights)")
        self.path = path
        self.frozen = not path.endswith((".h5", ".hdf5", ".keras"))
        self.label = "Inception frozen graph (the dataset's network)" if self.frozen else KERAS_LABEL
        self._run = self._load_graph(path, trust_model) if self.frozen else self._load_keras(path)

    def __call__(self, frames: list) -> np.ndarray:
        return self._run(frames)

    @staticmethod
    def _load_graph(path: str, trust_model: bool = False):
        import tensorflow as tf

        from trainer_module.export import trust

        graph_def = tf.compat.v1.GraphDef()
        try:
            with open(path, "rb") as f:
                graph_def.ParseFromString(f.read())
        except Exception as e:  # noqa: BLE001 (protobuf's DecodeError)
            raise ValueError(f"`inception_weights`: {path} is not a TensorFlow GraphDef ({e})"
                             ) from None
        if not trust_model:  # a graph is a program: checked before it runs
            trust.check_graph_def(graph_def, path, "inception_weights")
        wrapped = tf.compat.v1.wrap_function(
            lambda: tf.compat.v1.import_graph_def(graph_def, name=""), [])
        try:
            pool = wrapped.prune(wrapped.graph.get_tensor_by_name(GRAPH_INPUT),
                                 wrapped.graph.get_tensor_by_name(GRAPH_OUTPUT))
        except KeyError as e:
            raise ValueError(f"`inception_weights`: {path} has no tensor {e}; expected the "
                             f"dataset's Inception graph ({GRAPH_INPUT} -> {GRAPH_OUTPUT})") from None

        def run(frames):
            out = [pool(tf.constant(frame)).numpy().reshape(-1) for frame in frames]  # [2048] each
            return _checked(np.stack(out), path)

        return run

    @staticmethod
    def _load_keras(path: str):
        import tensorflow as tf
        import tf_keras

        model = tf_keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg",
                                                  input_shape=(KERAS_SIZE, KERAS_SIZE, 3))
        try:
            model.load_weights(path)
        except (OSError, ValueError) as e:
            raise ValueError(f"`inception_weights`: {path} is not Keras Inception-v3 weights "
                             f"without the top ({' '.join(str(e).split())[:200]})") from None

        @tf.function(reduce_retracing=True)
        def pool(batch):  # uint8 [n, 299, 299, 3] -> [n, 2048]
            return model(tf.cast(batch, tf.float32) / 127.5 - 1.0, training=False)

        def run(frames):
            batch = np.stack([tf.image.resize(f, (KERAS_SIZE, KERAS_SIZE)).numpy() for f in frames])
            return _checked(pool(batch).numpy(), path)

        return run


def _checked(pool: np.ndarray, path: str) -> np.ndarray:
    if pool.ndim != 2 or pool.shape[1] != POOL_DIM:
        raise ValueError(f"`inception_weights`: {path} gives features of shape {pool.shape[1:]}, "
                         f"expected [{POOL_DIM}]")
    return pool.astype(np.float32)
