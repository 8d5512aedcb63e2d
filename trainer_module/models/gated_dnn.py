"""GatedDnnModel: the strong video-level default.

Batch-normalized input, ``dnn_layers`` hidden layers of ``dnn_hidden_size`` units (batch norm,
ReLU, dropout ``dnn_dropout``), context gating (Miech et al. 2017) on the last hidden layer, then
a classifier head (``video_level_classifier_model``: LogisticModel, MoeModel or
GatedMoeModel). These are the pieces the 2017/2018 leaders used on aggregated features; on
small real samples they beat the seed's Logistic/MoE by a wide margin because batch norm and
dropout keep 1152-d inputs from overfitting.
"""

import tf_keras

from trainer_module.models import heads
from trainer_module.models import model_hparams as MH
from trainer_module.models import layers as L


HParams = MH.GatedDnnHParams


def build(spec, hp: HParams) -> tf_keras.Model:
    features, num_frames = L.model_inputs(spec)  # [b, dim], [b]
    x = features
    if hp.dnn_input_batch_norm:
        x = tf_keras.layers.BatchNormalization(name="input_bn")(x)
    for i in range(hp.dnn_layers):
        x = tf_keras.layers.Dense(hp.dnn_hidden_size, use_bias=False,
                                  kernel_regularizer=L.l2(hp.dnn_l2_penalty),
                                  name=f"hidden_{i}")(x)  # [b, hidden]
        x = tf_keras.layers.BatchNormalization(name=f"hidden_bn_{i}")(x)
        x = tf_keras.layers.ReLU(name=f"hidden_relu_{i}")(x)
        x = tf_keras.layers.Dropout(hp.dnn_dropout, name=f"dropout_{i}")(x)
    if hp.dnn_context_gating:
        x = L.ContextGating(batch_norm=True, name="context_gating")(x)
    probs = heads.classify(hp.video_level_classifier_model, x, hp)  # [b, 3862]
    return tf_keras.Model([features, num_frames], probs, name="GatedDnnModel")
