"""The Kaggle submission CSV: ``VideoId,LabelConfidencePairs`` rows, written by `yt8m inference`
and the pipeline's KaggleExport, read back by `yt8m score`."""
from __future__ import annotations

import numpy as np

from trainer_module.data import features as F

CSV_HEADER = "VideoId,LabelConfidencePairs\n"


def format_row(video_id: str, classes: np.ndarray, scores: np.ndarray) -> str:
    """``id,label score label score ...`` sorted by score (classes/scores already sorted); an id
    holding a comma, a quote or a line break is quoted as RFC 4180 says (``yt8m score`` and
    Kaggle read it back).

    Raises:
      ValueError: the id is empty.
    """
    if not video_id:
        raise ValueError("empty video id: every record needs a non-empty 'id'")
    if any(c in video_id for c in ',"\r\n'):
        video_id = '"' + video_id.replace('"', '""') + '"'
    return video_id + "," + " ".join(f"{int(c)} {float(s):g}" for c, s in zip(classes, scores))


def decode_id(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"video id {raw!r} is not valid UTF-8") from None


def locate_bad_id(files: list[str], compression: str | None = None) -> str | None:
    """``file: record i: reason`` of the first record whose id is missing, empty or not UTF-8."""
    import tensorflow as tf

    for path in files:
        for i, raw in enumerate(tf.data.TFRecordDataset(path, compression_type=compression)):
            # Example and SequenceExample share field 1 (features / context): one parse for both
            context = tf.train.SequenceExample.FromString(raw.numpy()).context.feature
            raw_id = F.record_id(context)  # 2018 / 2017 records
            try:
                format_row(decode_id(raw_id) if raw_id else "", np.zeros(0), np.zeros(0))
            except ValueError as e:
                return f"{path}: record {i}: {e}"
    return None
