"""LstmModel (seed): stacked LSTMs over the real frames; the last layer's final state feeds the
video-level classifier. Padded frames are masked, so they never reach the recurrence."""
import tf_keras

from trainer_module.models import heads
from trainer_module.models import layers as L

HPARAMS = {
    **heads.HEAD_HPARAMS,
    "lstm_cells": (1024, "units per LSTM layer"),
    "lstm_layers": (2, "stacked LSTM layers"),
    "video_level_classifier_model": ("MoeModel", "classifier on the final LSTM state"),
}


def build(spec, hp: dict) -> tf_keras.Model:
    features, num_frames = L.model_inputs(spec)  # [b, F, dim], [b]
    mask = L.FrameMask(spec.max_frames, name="frame_mask")(num_frames)  # [b, F] bool
    x = features
    for i in range(hp["lstm_layers"]):
        last = i == hp["lstm_layers"] - 1
        x = tf_keras.layers.LSTM(hp["lstm_cells"], return_sequences=not last,
                                 name=f"lstm_{i}")(x, mask=mask)  # [b, F, cells] / [b, cells]
    probs = heads.classify(hp["video_level_classifier_model"], x, hp)  # [b, 3862]
    return tf_keras.Model([features, num_frames], probs, name="LstmModel")
