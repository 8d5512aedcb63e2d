"""Every registered model at tiny sizes: output contract, masking, config round trip."""
import dataclasses

import numpy as np
import pytest
import tf_keras

from trainer_module import models
from trainer_module.data import features as F

TINY = {"moe_num_mixtures": 2, "dbof_cluster_size": 16, "dbof_hidden_size": 8, "iterations": 4,
        "lstm_cells": 8, "lstm_layers": 2, "dnn_hidden_size": 16,
        "netvlad_cluster_size": 4, "netvlad_hidden_size": 8, "nextvlad_cluster_size": 4,
        "nextvlad_groups": 4, "nextvlad_hidden_size": 16, "vlad_dropout": 0.1}


def _tiny(name, extra=None):
    """TINY's sizes for the hyperparameters that ``name`` reads (others are refused)."""
    return {k: v for k, v in {**TINY, **(extra or {})}.items() if k in models.get(name).hparams.names()}


def _inputs(spec, batch=3, seed=0):
    rng = np.random.default_rng(seed)
    if spec.frame_level:
        x = rng.standard_normal((batch, spec.max_frames, spec.dim)).astype(np.float32)
        n = np.array([3, spec.max_frames, 1][:batch], np.int32)
    else:
        x = rng.standard_normal((batch, spec.dim)).astype(np.float32)
        n = np.ones(batch, np.int32)
    return x, n


VARIANTS = [(name, {}) for name in models.REGISTRY] + [
    ("LstmModel", {"lstm_pooling": "mean"}), ("LstmModel", {"lstm_pooling": "max"}),
    # the gated MoE classifier behind every frame-level model that takes a classifier
    ("DbofModel", {"video_level_classifier_model": "GatedMoeModel"}),
    ("LstmModel", {"video_level_classifier_model": "GatedMoeModel"}),
    ("NetVladModel", {"video_level_classifier_model": "MoeModel"}),
    ("GatedDnnModel", {"video_level_classifier_model": "GatedMoeModel"})]


@pytest.mark.parametrize("name,extra", VARIANTS, ids=[
    n + "".join(f"-{v}" for v in e.values()) for n, e in VARIANTS])
def test_model_contract(name, extra):
    entry = models.get(name)
    spec = F.FeatureSpec.default(frame_level=entry.frame_level, max_frames=6)
    model = models.build_model(name, spec, _tiny(name, extra))
    x, n = _inputs(spec)
    y = model({F.FEATURES: x, F.NUM_FRAMES: n}, training=False).numpy()
    assert y.shape == (3, F.NUM_CLASSES)
    assert (y >= 0).all() and (y <= 1).all()
    # config round trip: same architecture and, with the same weights, the same predictions
    clone = tf_keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone({F.FEATURES: x, F.NUM_FRAMES: n}, training=False).numpy(), y,
                               atol=1e-6)
    if entry.frame_level:  # padded frames must not matter
        x2 = x.copy()
        for i, k in enumerate(n):
            x2[i, k:] = 99.0
        y2 = model({F.FEATURES: x2, F.NUM_FRAMES: n}, training=False).numpy()
        np.testing.assert_allclose(y2, y, atol=1e-5)
        # the weights do not depend on max_frames: segment scoring rebuilds it on 5 frames
        segment = models.build_model(name, F.FeatureSpec.default(True, 5), _tiny(name, extra))
        segment.set_weights(model.get_weights())


def test_registry_errors():
    with pytest.raises(ValueError, match="unknown model 'Nope'.*LogisticModel"):
        models.get("Nope")
    with pytest.raises(ValueError, match="needs frame-level data"):
        models.build_model("DbofModel", F.FeatureSpec.default(), _tiny("DbofModel"))
    with pytest.raises(ValueError, match="needs video-level data"):
        models.build_model("MoeModel", F.FeatureSpec.default(frame_level=True), _tiny("MoeModel"))
    with pytest.raises(ValueError, match="video_level_classifier_model"):
        models.build_model("DbofModel", F.FeatureSpec.default(True, 4),
                           _tiny("DbofModel", {"video_level_classifier_model": "Bad"}))


def test_masked_poolings_match_numpy():
    from trainer_module.models.layers import MaskedMaxPooling, MaskedMeanPooling

    x = np.random.default_rng(2).standard_normal((3, 5, 4)).astype(np.float32) - 10.0
    n = np.array([2, 5, 0], np.int32)
    np.testing.assert_allclose(MaskedMaxPooling()([x, n]).numpy(),
                               [x[0, :2].max(0), x[1].max(0), np.zeros(4)], atol=1e-6)
    np.testing.assert_allclose(MaskedMeanPooling()([x, n]).numpy(),
                               [x[0, :2].mean(0), x[1].mean(0), np.zeros(4)], atol=1e-5)
    with pytest.raises(ValueError, match=r"`hparams.lstm_pooling` must be one of last, mean, max"):
        models.build_model("LstmModel", F.FeatureSpec.default(True, 4),
                           _tiny("LstmModel", {"lstm_pooling": "attention"}))


def test_moe_matches_numpy():
    from trainer_module.models.layers import MixtureOfExperts

    layer = MixtureOfExperts(num_classes=3, num_mixtures=2)
    x = np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32)
    y = layer(x).numpy()
    g = x @ layer.gates.kernel.numpy() + layer.gates.bias.numpy()
    e = x @ layer.experts.kernel.numpy() + layer.experts.bias.numpy()
    g = np.exp(g.reshape(4, 3, 3))
    g /= g.sum(-1, keepdims=True)
    e = 1 / (1 + np.exp(-e.reshape(4, 3, 2)))
    np.testing.assert_allclose(y, (g[:, :, :2] * e).sum(-1), atol=1e-6)


def test_context_gating_bottleneck_matches_numpy():
    """NeXtVLAD's SE gating: x * sigmoid(W2 relu(BN(W1 x)) + b2), BN at its initial statistics."""
    from trainer_module.models.layers import ContextGating

    layer = ContextGating(reduction=4)
    x = np.random.default_rng(3).standard_normal((2, 8)).astype(np.float32)
    y = layer(x, training=False).numpy()
    h = np.maximum(x @ layer.squeeze.kernel.numpy() / np.sqrt(1.0 + layer.squeeze_bn.epsilon), 0)
    assert layer.squeeze.kernel.shape == (8, 2)
    gates = h @ layer.dense.kernel.numpy() + layer.dense.bias.numpy()
    np.testing.assert_allclose(y, x / (1 + np.exp(-gates)), atol=1e-6)
    assert ContextGating.from_config(layer.get_config()).reduction == 4
    with pytest.raises(ValueError, match="reduction must be >= 1"):
        ContextGating(reduction=0)


@pytest.mark.parametrize("model, overrides, message", [
    ("GatedDnnModel", {"dnn_dropout": 1.0}, r"`hparams.dnn_dropout` must be in \[0.0, 1.0\), got 1.0"),
    ("GatedDnnModel", {"dnn_hidden_size": 0}, r"`hparams.dnn_hidden_size` must be >= 1, got 0"),
    ("GatedDnnModel", {"video_level_classifier_model": "Moe"},
     r"`hparams.video_level_classifier_model` must be one of LogisticModel, MoeModel, "
     r"GatedMoeModel, got 'Moe'"),
    ("GatedDnnModel", {"dnn_layers": 1.5}, r"`hparams.dnn_layers` must be an integer, got 1.5"),
    ("GatedDnnModel", {"dnn_context_gating": 1}, r"`hparams.dnn_context_gating` must be true or "
                                                 r"false, got 1"),
    ("MoeModel", {"moe_num_mixtures": 0}, r"`hparams.moe_num_mixtures` must be >= 1, got 0"),
    ("DbofModel", {"dbof_pooling_method": "sum"}, r"`hparams.dbof_pooling_method` must be one of "
                                                  r"max, average, got 'sum'"),
    ("LogisticModel", {"moe_num_mixtures": 4}, r"`hparams`: LogisticModel has no hyperparameter "
                                               r"'moe_num_mixtures'; its hyperparameters: l2_penalty"),
])
def test_hyperparameters_are_checked_where_declared(model, overrides, message):
    """Types, choices and ranges come from each model's dataclass, before any layer is built."""
    with pytest.raises(ValueError, match=message):
        models.resolve_hparams(model, overrides)


def test_hyperparameters_round_trip_and_share_one_declaration():
    hp = models.get("GatedDnnModel").hparams.from_overrides("GatedDnnModel", {"dnn_layers": 2})
    assert hp.dnn_layers == 2 and hp.dnn_hidden_size == 2048 and hp.l2_penalty == 1e-8
    assert type(hp).from_overrides("GatedDnnModel", hp.to_dict()) == hp  # model_flags.json
    fields = models.all_hparams()
    assert fields["video_level_classifier_model"].metadata["choices"] == (
        "LogisticModel", "MoeModel", "GatedMoeModel")
    with pytest.raises(dataclasses.FrozenInstanceError):
        hp.dnn_layers = 3


def test_one_name_per_concept_with_each_models_default():
    """The classifier on top is video_level_classifier_model (the seed's name) in every model
    that has one, and the VLAD models' descriptor dropout is vlad_dropout; each model keeps its
    own default."""
    assert models.hparam_defaults("video_level_classifier_model") == {
        "GatedDnnModel": "LogisticModel", "DbofModel": "MoeModel", "LstmModel": "MoeModel",
        "NetVladModel": "GatedMoeModel", "NeXtVladModel": "GatedMoeModel"}
    assert models.hparam_defaults("vlad_dropout") == {"NetVladModel": 0.0, "NeXtVladModel": 0.5}
    names = set(models.all_hparams())
    assert not names & {"dnn_head", "vlad_classifier_model", "nextvlad_dropout"}


@pytest.mark.parametrize("model, old, value, new", [
    ("GatedDnnModel", "dnn_head", "MoeModel", "video_level_classifier_model"),
    ("NetVladModel", "vlad_classifier_model", "MoeModel", "video_level_classifier_model"),
    ("NeXtVladModel", "nextvlad_dropout", 0.2, "vlad_dropout")])
def test_an_earlier_name_is_refused_naming_the_new_one_and_read_in_stored_flags(
        model, old, value, new):
    from trainer_module.train import model_flags as MF

    with pytest.raises(ValueError, match=f"`hparams.{old}` is now `hparams.{new}`"):
        models.resolve_hparams(model, {old: value})
    stored = MF.ModelFlags.resolve(model, frame_features=model != "GatedDnnModel").to_dict()
    stored["hparams"] = {(old if k == new else k): v for k, v in stored["hparams"].items()}
    stored["hparams"][old] = value  # a model_flags.json written before the rename
    assert MF.ModelFlags.from_dict(stored).hparams[new] == value
