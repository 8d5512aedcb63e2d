"""Transform's preprocessing_fn: the YT8M preprocessing as one TF graph for train and serve.

It calls the same ``parsing.to_model_inputs`` as the CLI: feature selection/concatenation by
``feature_names``, dequantization of frame bytes, padding/trimming to ``max_frames``, frame count
and multi-hot labels. No analyzers: the graph is purely per example, so Transform runs with
``materialize=False`` and the Trainer applies it in its input pipeline.
"""
from __future__ import annotations

import tensorflow as tf

from trainer_module.data import features as F
from trainer_module.data import parsing


FEATURE_KEYS = ("feature_names", "feature_sizes", "frame_features", "max_frames")


def transform_custom_config(spec_flags: dict) -> dict:
    """Transform's custom_config: only what the graph depends on (the features, not the model),
    so that changing the model or its hyperparameters leaves Transform cached."""
    return {"features": {k: spec_flags[k] for k in FEATURE_KEYS}}


def feature_spec_from_custom_config(custom_config: dict) -> F.FeatureSpec:
    c = custom_config["features"]
    return F.FeatureSpec.from_flags(c["feature_names"], c["feature_sizes"],
                                    bool(c["frame_features"]), int(c["max_frames"]))


def preprocessing_fn(inputs: dict, custom_config: dict) -> dict:
    """Raw features (TFXIO) -> {features, num_frames, video_id, labels_multi_hot}."""
    spec = feature_spec_from_custom_config(custom_config)
    raw = {key: inputs[key] for key in (*F.ID_KEYS, F.LABELS_KEY) if key in inputs}
    for name in spec.names:
        raw[name] = inputs[name] if name in inputs else inputs[F.SEQUENCE_PREFIX + name]
    out = parsing.to_model_inputs(raw, spec, with_labels=True)
    out[F.NUM_FRAMES] = tf.cast(out[F.NUM_FRAMES], tf.int64)  # TFT outputs no int32
    return out
