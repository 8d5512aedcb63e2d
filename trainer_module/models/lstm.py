"""LstmModel (seed): stacked LSTMs over the real frames feeding the video-level classifier.

Padded frames are masked, so they never reach the recurrence. ``lstm_pooling`` picks what the
classifier sees: ``last`` (the seed: the last layer's final state), or the ``mean`` / ``max`` of the
last layer's outputs over the real frames — the pooled forms keep evidence from early frames
that the final state has forgotten, and give the gradient a path to every frame.
"""

import tf_keras

from trainer_module.models import heads
from trainer_module.models import model_hparams as MH
from trainer_module.models import layers as L


HParams = MH.LstmHParams


def build(spec, hp: HParams) -> tf_keras.Model:
    features, num_frames = L.model_inputs(spec)  # [b, F, dim], [b]
    mask = L.FrameMask(spec.max_frames, name="frame_mask")(num_frames)  # [b, F] bool
    pooled = hp.lstm_pooling != "last"
    x = features
    for i in range(hp.lstm_layers):
        sequences = pooled or i < hp.lstm_layers - 1
        x = tf_keras.layers.LSTM(hp.lstm_cells, return_sequences=sequences,
                                 name=f"lstm_{i}")(x, mask=mask)  # [b, F, cells] / [b, cells]
    if hp.lstm_pooling == "mean":
        x = L.MaskedMeanPooling(name="output_mean")([x, num_frames])  # [b, cells]
    elif hp.lstm_pooling == "max":
        x = L.MaskedMaxPooling(name="output_max")([x, num_frames])  # [b, cells]
    probs = heads.classify(hp.video_level_classifier_model, x, hp)  # [b, 3862]
    return tf_keras.Model([features, num_frames], probs, name="LstmModel")
