"""Every model's hyperparameters, declared without TensorFlow (so that building the CLI's flags,
validating a config or reading ``model_flags.json`` imports no model code).

One frozen dataclass per model or shared part, fields named as the seed's flags; the model
modules build from them (``dbof.HParams`` is ``DbofHParams``).
"""
from __future__ import annotations

import dataclasses

from trainer_module.data import features as F
from trainer_module.models import hparams as H

HEAD_NAMES = ("LogisticModel", "MoeModel", "GatedMoeModel")


def _classifier_field(default: str):
    """``video_level_classifier_model`` (the seed's name), the one name for the classifier on
    top of every model that has one; its default is the model's own."""
    return H.hp(default, "classifier on the model's video representation", choices=HEAD_NAMES)


def _vlad_dropout_field(default: float):
    """``vlad_dropout``: dropout on a VLAD model's pooled descriptor; the default is the model's."""
    return H.hp(default, "dropout on the pooled VLAD descriptor", low=0.0, high=1.0,
                high_open=True)


@dataclasses.dataclass(frozen=True)
class L2HParams(H.HParams):
    l2_penalty: float = H.hp(1e-8, "L2 penalty on the classifier weights", low=0.0)
    num_classes: int = H.hp(F.NUM_CLASSES, "classes the classifier outputs (YouTube-8M's, or "
                            "fewer for your own label set)", low=1, high=100_000)


@dataclasses.dataclass(frozen=True)
class HeadHParams(L2HParams):
    moe_num_mixtures: int = H.hp(2, "experts per class in MoE heads", low=1)


@dataclasses.dataclass(frozen=True)
class FrameSamplingHParams(H.HParams):
    iterations: int = H.hp(30, "frames sampled per video", low=1)
    sample_random_frames: bool = H.hp(True, "sample frames at random while training (else "
                                            "evenly spaced)")


@dataclasses.dataclass(frozen=True)
class VladHParams(HeadHParams, FrameSamplingHParams):
    vlad_context_gating: bool = H.hp(True, "context gating after the hidden layer")
    video_level_classifier_model: str = _classifier_field("GatedMoeModel")


@dataclasses.dataclass(frozen=True)
class DbofHParams(HeadHParams, FrameSamplingHParams):
    dbof_cluster_size: int = H.hp(8192, "clusters of the frame projection", low=1)
    dbof_hidden_size: int = H.hp(1024, "units of the hidden layer after pooling", low=1)
    dbof_add_batch_norm: bool = H.hp(True, "batch normalization on input, clusters and hidden "
                                           "layer")
    dbof_pooling_method: str = H.hp("max", "pooling over frames", choices=("max", "average"))
    video_level_classifier_model: str = _classifier_field("MoeModel")


@dataclasses.dataclass(frozen=True)
class GatedDnnHParams(HeadHParams):
    dnn_hidden_size: int = H.hp(2048, "units per hidden layer", low=1)
    dnn_layers: int = H.hp(1, "number of hidden layers", low=0)
    dnn_dropout: float = H.hp(0.5, "dropout rate after each hidden layer", low=0.0, high=1.0,
                              high_open=True)
    dnn_input_batch_norm: bool = H.hp(True, "batch-normalize the input features")
    dnn_context_gating: bool = H.hp(True, "context gating on the last hidden layer")
    video_level_classifier_model: str = _classifier_field("LogisticModel")
    dnn_l2_penalty: float = H.hp(1e-6, "L2 penalty on the hidden layers", low=0.0)


@dataclasses.dataclass(frozen=True)
class LstmHParams(HeadHParams):
    lstm_cells: int = H.hp(1024, "units per LSTM layer", low=1)
    lstm_layers: int = H.hp(2, "stacked LSTM layers", low=1)
    lstm_pooling: str = H.hp("last", "classifier input: last (final state, seed), mean or max of "
                                     "the last layer's outputs over the real frames",
                             choices=("last", "mean", "max"))
    video_level_classifier_model: str = _classifier_field("MoeModel")


@dataclasses.dataclass(frozen=True)
class NetVladHParams(VladHParams):
    netvlad_cluster_size: int = H.hp(64, "NetVLAD clusters", low=1)
    netvlad_hidden_size: int = H.hp(1024, "units of the hidden layer after pooling", low=1)
    vlad_dropout: float = _vlad_dropout_field(0.0)


@dataclasses.dataclass(frozen=True)
class NeXtVladHParams(VladHParams):
    nextvlad_cluster_size: int = H.hp(64, "NeXtVLAD clusters", low=1)
    nextvlad_groups: int = H.hp(8, "groups the expanded frame feature is split into", low=1)
    nextvlad_expansion: int = H.hp(2, "expansion factor of the frame feature before grouping",
                                   low=1)
    nextvlad_hidden_size: int = H.hp(1024, "units of the hidden layer after pooling", low=1)
    vlad_dropout: float = _vlad_dropout_field(0.5)
    nextvlad_gating_reduction: int = H.hp(8, "bottleneck reduction of the context gating (SE)",
                                          low=1)
