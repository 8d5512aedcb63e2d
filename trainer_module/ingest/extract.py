"""One video file -> its YouTube-8M records: the dataset's extraction chain, end to end.

frames at 1 per second (video.py) -> Inception pool features [frames, 2048] (inception.py)
-> PCA + whitening [frames, 1024] -> 8-bit quantization (features.quantize_np, the dataset's);
audio -> VGGish-style embeddings [windows, 128] -> (PCA) -> 8-bit, one window per frame
(audio.py); video-level means of the dequantized frames (examples.from_quantized_frames).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from trainer_module.data import examples
from trainer_module.data import features as F
from trainer_module.ingest import audio as audio_lib
from trainer_module.ingest import inception
from trainer_module.ingest import video as video_lib


@dataclasses.dataclass(frozen=True)
class ExtractorFiles:
    """The files the chain reads (nothing is downloaded): see inception.py and audio.py."""

    inception_weights: str
    pca_dir: str
    audio_model: str | None = None
    audio_pca: str | None = None
    max_frames: int = F.MAX_FRAMES
    trust_model: bool = False  # run the graph and the audio model unchecked (export/trust.py)

    def __post_init__(self):
        if not 1 <= self.max_frames <= F.MAX_FRAMES:
            raise ValueError(f"`max_frames` must be in [1, {F.MAX_FRAMES}], got {self.max_frames}")
        if self.audio_pca and not self.audio_model:
            raise ValueError("`audio_pca` applies to `audio_model`, which is not given")


class Extractor:
    """Loads the networks once; ``__call__`` turns one video file into a Video."""

    def __init__(self, files: ExtractorFiles):
        self.files = files
        self.pca = inception.load_pca(files.pca_dir)
        self.frames = inception.FrameNetwork(files.inception_weights, files.trust_model)
        self.audio = audio_lib.AudioNetwork(files.audio_model, files.audio_pca,
                                            files.trust_model) if files.audio_model else None

    def __call__(self, path: str, vid: str, labels=()) -> tuple[examples.Video, list[str]]:
        """(the video's records, warnings). Raises video.VideoError for an unreadable video."""
        decoded = video_lib.decode(path, max_frames=self.files.max_frames,
                                   with_audio=self.audio is not None, transform=self.frames)
        pool = np.concatenate(decoded.frames)  # [frames, 2048], computed chunk by chunk
        try:
            rgb = F.quantize_np(self.pca(pool))  # uint8 [frames, 1024]
        except F.NonFiniteFeatures as e:
            raise ValueError(f"`inception_weights`: {self.files.inception_weights} gives NaN or "
                             f"infinity for {path} ({e}): not a usable frame network") from None
        notes = []
        embeddings = None
        if self.audio is not None:
            if decoded.waveform is None or decoded.waveform.size == 0:
                notes.append(f"{path}: no audio track: audio features are zeros")
            else:
                embeddings = self.audio(decoded.waveform)  # [windows, 128]
        try:
            audio = audio_lib.fit_frames(embeddings, len(rgb))  # uint8 [frames, 128]
        except F.NonFiniteFeatures as e:
            raise ValueError(f"`audio_model`: {self.files.audio_model} gives NaN or infinity for "
                             f"{path} ({e}): not a usable audio model") from None
        return examples.from_quantized_frames(vid, np.asarray(labels, np.int64), rgb, audio), notes
