"""NetVladModel (Willow, 1st place 2017): sampled frames -> NetVLAD -> hidden layer with batch
norm (ReLU6) -> optional context gating -> the video-level classifier (gated MoE by default)."""

import tf_keras

from trainer_module.models import model_hparams as MH
from trainer_module.models import layers as L
from trainer_module.models import vlad_layers as V


HParams = MH.NetVladHParams


def build(spec, hp: HParams) -> tf_keras.Model:
    features, num_frames = L.model_inputs(spec)  # [b, F, dim], [b]
    x = L.sample_frames(features, num_frames, hp)  # [b, S, dim]
    x = V.NetVladPooling(hp.netvlad_cluster_size, name="netvlad")(x)  # [b, K * dim]
    probs = V.vlad_classifier(x, hp.netvlad_hidden_size, hp, dropout=hp.vlad_dropout,
                              relu_max=6.0)  # [b, 3862]
    return tf_keras.Model([features, num_frames], probs, name="NetVladModel")
