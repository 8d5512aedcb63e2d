"""DbofModel (seed): Deep Bag of Frames.

Sample ``iterations`` frames, project each into ``dbof_cluster_size`` clusters (batch norm,
ReLU6), pool over frames (max or average), a ``dbof_hidden_size`` hidden layer (batch norm,
ReLU6), then the video-level classifier ``video_level_classifier_model``.
"""

import tf_keras

from trainer_module.models import heads
from trainer_module.models import model_hparams as MH
from trainer_module.models import layers as L


HParams = MH.DbofHParams


def build(spec, hp: HParams) -> tf_keras.Model:
    bn = hp.dbof_add_batch_norm
    features, num_frames = L.model_inputs(spec)  # [b, F, dim], [b]
    x = L.sample_frames(features, num_frames, hp)  # [b, S, dim]
    if bn:
        x = tf_keras.layers.BatchNormalization(name="input_bn")(x)
    x = tf_keras.layers.Dense(hp.dbof_cluster_size, use_bias=not bn, name="clusters")(x)
    if bn:
        x = tf_keras.layers.BatchNormalization(name="cluster_bn")(x)
    x = tf_keras.layers.ReLU(max_value=6.0, name="cluster_relu6")(x)  # [b, S, K]
    pool = (tf_keras.layers.GlobalMaxPooling1D if hp.dbof_pooling_method == "max"
            else tf_keras.layers.GlobalAveragePooling1D)
    x = pool(name="pool")(x)  # [b, K]
    x = tf_keras.layers.Dense(hp.dbof_hidden_size, use_bias=not bn, name="hidden")(x)
    if bn:
        x = tf_keras.layers.BatchNormalization(name="hidden_bn")(x)
    x = tf_keras.layers.ReLU(max_value=6.0, name="hidden_relu6")(x)  # [b, H]
    probs = heads.classify(hp.video_level_classifier_model, x, hp)  # [b, 3862]
    return tf_keras.Model([features, num_frames], probs, name="DbofModel")
