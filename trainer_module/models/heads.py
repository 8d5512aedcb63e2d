"""Video-level classifiers ([batch, d] -> [batch, 3862] probabilities) shared by all models.

The classifier layers always compute in float32 (also under --mixed_precision): bfloat16
probabilities would tie in the GAP ranking.

``video_level_classifier_model`` of every frame-level model picks one of these by name.
"""
from __future__ import annotations


import tf_keras

from trainer_module.models import model_hparams as MH
from trainer_module.models import layers as L

HEAD_NAMES = MH.HEAD_NAMES
L2HParams, HeadHParams = MH.L2HParams, MH.HeadHParams


def logistic(x, hp: L2HParams):
    return tf_keras.layers.Dense(hp.num_classes, activation="sigmoid", dtype="float32",
                                 kernel_regularizer=L.l2(hp.l2_penalty), name="logistic")(x)


def moe(x, hp: HeadHParams):
    return L.MixtureOfExperts(hp.num_classes, hp.moe_num_mixtures, hp.l2_penalty, name="moe",
                              dtype="float32")(x)


def gated_moe(x, hp: HeadHParams):
    """MoE followed by context gating on its output (the 2017/2018 winners' classifier)."""
    probs = moe(x, hp)
    return L.ContextGating(batch_norm=True, name="output_gating", dtype="float32")(probs)


HEADS = dict(zip(HEAD_NAMES, (logistic, moe, gated_moe)))


def classify(name: str, x, hp: HeadHParams):
    """Applies the named head; raises ValueError listing the valid heads."""
    if name not in HEADS:
        raise ValueError(f"`video_level_classifier_model`: unknown {name!r}; valid: "
                         f"{', '.join(sorted(HEADS))}")
    return HEADS[name](x, hp)
