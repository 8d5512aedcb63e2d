"""NetVladModel (Willow, 1st place 2017): sampled frames -> NetVLAD -> hidden layer with batch
norm -> optional context gating -> the video-level classifier (gated MoE by default)."""
import tf_keras

from trainer_module.models import heads
from trainer_module.models import layers as L
from trainer_module.models import vlad_layers as V

HPARAMS = {
    **heads.HEAD_HPARAMS,
    "iterations": (30, "frames sampled per video"),
    "sample_random_frames": (True, "sample frames at random while training (else evenly spaced)"),
    "netvlad_cluster_size": (64, "NetVLAD clusters"),
    "netvlad_hidden_size": (1024, "units of the hidden layer after pooling"),
    "vlad_context_gating": (True, "context gating after the hidden layer"),
    "vlad_dropout": (0.0, "dropout on the pooled descriptor"),
    "vlad_classifier_model": ("GatedMoeModel", "classifier on the video descriptor"),
}


def build(spec, hp: dict) -> tf_keras.Model:
    features, num_frames = L.model_inputs(spec)  # [b, F, dim], [b]
    x = L.FrameSampler(hp["iterations"], hp["sample_random_frames"], name="sample_frames")(
        [features, num_frames])  # [b, S, dim]
    x = V.NetVladPooling(hp["netvlad_cluster_size"], name="netvlad")(x)  # [b, K * dim]
    if hp["vlad_dropout"]:
        x = tf_keras.layers.Dropout(hp["vlad_dropout"], name="vlad_dropout")(x)
    x = tf_keras.layers.Dense(hp["netvlad_hidden_size"], use_bias=False, name="hidden")(x)
    x = tf_keras.layers.BatchNormalization(name="hidden_bn")(x)
    x = tf_keras.layers.ReLU(max_value=6.0, name="hidden_relu6")(x)  # [b, H]
    if hp["vlad_context_gating"]:
        x = L.ContextGating(batch_norm=True, name="context_gating")(x)
    probs = heads.classify(hp["vlad_classifier_model"], x, hp)  # [b, 3862]
    return tf_keras.Model([features, num_frames], probs, name="NetVladModel")
