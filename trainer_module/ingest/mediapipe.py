"""MediaPipe's YouTube-8M feature-extraction records -> the dataset's record layout.

MediaPipe's graph (``mediapipe/graphs/youtube8m/feature_extraction.pbtxt``) writes one
SequenceExample per video in its media-sequence layout: PCA'd float features per frame in the
feature lists ``RGB/feature/floats`` (1024 per frame, 1 per second) and ``AUDIO/feature/floats``
(128 per 0.96 s window), their timestamps, and context such as ``clip/data_path``. The dataset
stores ``rgb`` / ``audio`` as 8-bit bytes per frame with context ``id`` and ``labels``: the floats
are quantized exactly as the dataset (features.quantize_np), audio windows are matched to frames
one to one (missing ones are zero bytes, extra ones dropped), and the id comes from
``example/id``, ``clip/media_id`` or the file name of ``clip/data_path``, in that order.
Labels come from ``clip/label/index`` when present.
"""
from __future__ import annotations

import os

import numpy as np

from trainer_module.data import examples
from trainer_module.data import features as F
from trainer_module.ingest import audio as audio_lib

RGB_KEY = "RGB/feature/floats"
AUDIO_KEY = "AUDIO/feature/floats"
ID_KEYS = ("example/id", "clip/media_id")
DATA_PATH_KEY = "clip/data_path"
LABEL_INDEX_KEY = "clip/label/index"


def _floats(feature_lists, key: str, size: int, where: str) -> np.ndarray:
    """float32 [frames, size] of one feature list (empty [0, size] when absent)."""
    if key not in feature_lists.feature_list:
        return np.zeros((0, size), np.float32)
    rows = []
    for i, feature in enumerate(feature_lists.feature_list[key].feature):
        values = feature.float_list.value
        if len(values) != size:
            kind = feature.WhichOneof("kind") or "empty"
            raise ValueError(f"{where}: {key} frame {i} has {len(values)} floats ({kind}), "
                             f"expected {size}")
        rows.append(np.asarray(values, np.float32))
    return np.stack(rows) if rows else np.zeros((0, size), np.float32)


def _text(value: bytes, where: str, what: str) -> str:
    """A context string as UTF-8 text; a ValueError naming the record for non-UTF-8 or empty."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{where}: the {what} is not UTF-8 text (byte {e.start})") from None
    if not text.strip():
        raise ValueError(f"{where}: the {what} is empty")
    return text


def video_id(context, where: str) -> str:
    for key in ID_KEYS:
        if key in context.feature and context.feature[key].bytes_list.value:
            return _text(context.feature[key].bytes_list.value[0], where, f"video id ({key})")
    if DATA_PATH_KEY in context.feature and context.feature[DATA_PATH_KEY].bytes_list.value:
        data_path = _text(context.feature[DATA_PATH_KEY].bytes_list.value[0], where,
                          DATA_PATH_KEY)
        return _text(os.path.splitext(os.path.basename(data_path))[0].encode(), where,
                     f"video id (the file name of {DATA_PATH_KEY})")
    raise ValueError(f"{where}: no video id (none of {', '.join(ID_KEYS)}, {DATA_PATH_KEY})")


def convert(serialized: bytes, where: str) -> tuple[examples.Video, list[str]]:
    """(the video in the dataset's layout, warnings) from one MediaPipe SequenceExample.

    Raises:
      ValueError: naming ``where`` (file and record) for a record that is not MediaPipe's.
    """
    import tensorflow as tf

    try:
        example = tf.train.SequenceExample.FromString(serialized)
    except Exception:  # noqa: BLE001 (protobuf's DecodeError)
        raise ValueError(f"{where}: not a SequenceExample") from None
    rgb = _floats(example.feature_lists, RGB_KEY, F.RGB_SIZE, where)
    if not len(rgb):
        raise ValueError(f"{where}: no {RGB_KEY} frames; expected MediaPipe's YouTube-8M "
                         f"feature-extraction output")
    rgb = rgb[:F.MAX_FRAMES]
    audio = _floats(example.feature_lists, AUDIO_KEY, F.AUDIO_SIZE, where)
    notes = []
    if len(audio) < len(rgb):
        notes.append(f"{where}: {len(audio)} audio windows for {len(rgb)} frames: the missing "
                     "ones are zeros")
    context = example.context
    labels = list(context.feature[LABEL_INDEX_KEY].int64_list.value) \
        if LABEL_INDEX_KEY in context.feature else []
    outside = [label for label in labels if not 0 <= label < F.NUM_CLASSES]
    if outside:
        raise ValueError(f"{where}: label {outside[0]} in {LABEL_INDEX_KEY} is outside "
                         f"[0, {F.NUM_CLASSES}), the dataset's classes")
    try:
        video = examples.from_quantized_frames(video_id(context, where), sorted(set(labels)),
                                               F.quantize_np(rgb),
                                               audio_lib.fit_frames(audio, len(rgb)))
    except F.NonFiniteFeatures as e:
        raise ValueError(f"{where}: {e}; expected MediaPipe's finite embeddings") from None
    return video, notes
