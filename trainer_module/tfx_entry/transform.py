"""Transform's preprocessing_fn: the YT8M preprocessing as one TF graph for train and serve.

It calls the same ``parsing.to_model_inputs`` as the CLI: feature selection/concatenation by
``feature_names``, dequantization of frame bytes, padding/trimming to ``max_frames``, frame count
and multi-hot labels. A segment model's (``segments``): whole videos (up to features.MAX_FRAMES
frames), and the 2019 segment ratings checked (``parsing.checked_ratings``) and passed on as
sparse [batch, ratings] outputs; the Trainer cuts the segments (docs/segments.md).
No analyzers: the graph is purely per example, so Transform runs with ``materialize=False``
and the Trainer applies it in its input pipeline.
"""
from __future__ import annotations

import tensorflow as tf

from trainer_module.data import features as F
from trainer_module.data import parsing
from trainer_module.data import segments as S


FEATURE_KEYS = ("feature_names", "feature_sizes", "frame_features", "max_frames")


def transform_custom_config(spec_flags: dict) -> dict:
    """Transform's custom_config: only what the graph depends on (the features, not the model),
    so that changing the model or its hyperparameters leaves Transform cached. A segment
    model (``segment_labels``) reads whole videos and the ratings."""
    features = {k: spec_flags[k] for k in FEATURE_KEYS}
    if spec_flags.get("segment_labels"):
        features.update(max_frames=F.MAX_FRAMES, segments=True)
    return {"features": features}


def feature_spec_from_custom_config(custom_config: dict) -> F.FeatureSpec:
    c = custom_config["features"]
    return F.FeatureSpec.from_flags(c["feature_names"], c["feature_sizes"],
                                    bool(c["frame_features"]), int(c["max_frames"]))


def has_segments(custom_config: dict) -> bool:
    return bool(custom_config["features"].get("segments"))


def preprocessing_fn(inputs: dict, custom_config: dict) -> dict:
    """Raw features (TFXIO) -> {features, num_frames, video_id, labels_multi_hot}, and for a
    segment model the three rating lists (sparse, checked)."""
    spec = feature_spec_from_custom_config(custom_config)
    segments = has_segments(custom_config)
    keys = (*F.ID_KEYS, F.LABELS_KEY, *(S.RATING_KEYS if segments else ()))
    raw = {key: inputs[key] for key in keys if key in inputs}
    for name in spec.names:
        raw[name] = inputs[name] if name in inputs else inputs[F.SEQUENCE_PREFIX + name]
    out = parsing.to_model_inputs(raw, spec, with_labels=True)
    if segments:
        missing = [key for key in S.RATING_KEYS if key not in raw]
        if missing:
            raise ValueError(f"segment training needs the ratings {', '.join(S.RATING_KEYS)} in "
                             f"the records' schema; missing: {', '.join(missing)} (`yt8m "
                             "generate-data` writes them with `segments`)")
        ratings = parsing.checked_ratings(raw, out[F.NUM_FRAMES], spec)
        out.update(zip(S.RATING_KEYS, ratings))
    out[F.NUM_FRAMES] = tf.cast(out[F.NUM_FRAMES], tf.int64)  # TFT outputs no int32
    return out
