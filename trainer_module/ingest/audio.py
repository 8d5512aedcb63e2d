"""Audio features of the dataset's kind: a VGGish-style embedding per second, PCA, 8-bit.

The audio model (``audio_model``) is a TensorFlow SavedModel called on a mono float32 waveform
[samples] at 16 kHz in [-1, 1] that returns float32 [windows, 128], one embedding per 0.96 s
window, as the published VGGish SavedModel does. ``audio_pca`` is VGGish's postprocessing
parameters (``vggish_pca_params.npz``: ``pca_eigen_vectors`` [128, 128], ``pca_means`` [128]),
applied before quantization as the dataset did; without it the raw embeddings are quantized.
Without an audio model, or for a video without an audio track, audio frames are zeros (bytes 0,
as the dataset's own extractor inserts them) and a warning says so.
"""
from __future__ import annotations

import os

import numpy as np

from trainer_module.data import features as F


class AudioNetwork:
    """Waveform -> float32 [windows, 128] in the dataset's float space (before quantization)."""

    def __init__(self, model_dir: str, pca_path: str | None = None, trust_model: bool = False):
        import tensorflow as tf

        from trainer_module.export import trust

        if not os.path.isdir(model_dir):
            raise ValueError(f"`audio_model`: {model_dir} is not a SavedModel folder")
        if not trust_model:  # a model is a program: checked before it is loaded
            trust.check_saved_model(model_dir, "audio_model")
        try:
            self._model = tf.saved_model.load(model_dir)
        except (OSError, ValueError) as e:
            raise ValueError(f"`audio_model`: cannot load {model_dir} as a SavedModel "
                             f"({' '.join(str(e).split())[:200]})") from None
        self._pca = _load_pca(pca_path) if pca_path else None

    def __call__(self, waveform: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        out = np.asarray(self._model(tf.constant(waveform, tf.float32)))
        if out.ndim != 2 or out.shape[1] != F.AUDIO_SIZE:
            raise ValueError(f"`audio_model` returns shape {out.shape}, expected [windows, "
                             f"{F.AUDIO_SIZE}]")
        if self._pca is not None:
            vectors, means = self._pca
            out = (out - means) @ vectors.T
        return out.astype(np.float32)


def _load_pca(path: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as params:
            vectors, means = params["pca_eigen_vectors"], params["pca_means"].reshape(-1)
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"`audio_pca`: cannot read {path} ({e}); expected VGGish's "
                         "vggish_pca_params.npz with pca_eigen_vectors and pca_means") from None
    if vectors.shape != (F.AUDIO_SIZE, F.AUDIO_SIZE) or means.shape != (F.AUDIO_SIZE,):
        raise ValueError(f"`audio_pca`: {path} has pca_eigen_vectors {vectors.shape} and pca_means "
                         f"{means.shape}, expected ({F.AUDIO_SIZE}, {F.AUDIO_SIZE}) and "
                         f"({F.AUDIO_SIZE},)")
    return vectors.astype(np.float32), means.astype(np.float32)


def fit_frames(audio: np.ndarray | None, frames: int) -> np.ndarray:
    """Quantized audio uint8 [frames, 128]: one window per video frame; missing windows (a short
    or absent audio track) are zero bytes, extra ones are dropped."""
    out = np.zeros((frames, F.AUDIO_SIZE), np.uint8)
    if audio is not None and len(audio):
        n = min(frames, len(audio))
        out[:n] = F.quantize_np(audio[:n])
    return out
