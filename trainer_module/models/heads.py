"""Video-level classifiers ([batch, d] -> [batch, 3862] probabilities) shared by all models.

The classifier layers always compute in float32 (also under --mixed_precision): bfloat16
probabilities would tie in the GAP ranking.

``video_level_classifier_model`` of every frame-level model picks one of these by name.
"""
from __future__ import annotations

import dataclasses

import tf_keras

from trainer_module.data import features as F
from trainer_module.models import hparams as H
from trainer_module.models import layers as L

HEAD_NAMES = ("LogisticModel", "MoeModel", "GatedMoeModel")


@dataclasses.dataclass(frozen=True)
class L2HParams(H.HParams):
    l2_penalty: float = H.hp(1e-8, "L2 penalty on the classifier weights", low=0.0)
    num_classes: int = H.hp(F.NUM_CLASSES, "classes the classifier outputs (YouTube-8M's, or "
                            "fewer for your own label set)", low=1, high=100_000)


@dataclasses.dataclass(frozen=True)
class HeadHParams(L2HParams):
    moe_num_mixtures: int = H.hp(2, "experts per class in MoE heads", low=1)


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
