"""Every registered model at tiny sizes: output contract, masking, config round trip."""
import numpy as np
import pytest
import tf_keras

from trainer_module import models
from trainer_module.data import features as F

TINY = {"moe_num_mixtures": 2, "dbof_cluster_size": 16, "dbof_hidden_size": 8, "iterations": 4,
        "lstm_cells": 8, "lstm_layers": 2, "dnn_hidden_size": 16, "dnn_head": "GatedMoeModel",
        "netvlad_cluster_size": 4, "netvlad_hidden_size": 8, "nextvlad_cluster_size": 4,
        "nextvlad_groups": 4, "nextvlad_hidden_size": 16, "nextvlad_dropout": 0.1,
        "vlad_dropout": 0.1}


def _tiny(name, extra=None):
    """TINY's sizes for the hyperparameters that ``name`` reads (others are refused)."""
    return {k: v for k, v in {**TINY, **(extra or {})}.items() if k in models.get(name).hparams}


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
    ("NetVladModel", {"vlad_classifier_model": "MoeModel"})]


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
    with pytest.raises(ValueError, match="--lstm_pooling must be one of last, mean, max"):
        models.build_model("LstmModel", F.FeatureSpec.default(True, 4),
                           _tiny("LstmModel", {"lstm_pooling": "attention"}))


def test_moe_matches_numpy():
    from trainer_module.models.layers import MixtureOfExperts

    layer = MixtureOfExperts(num_classes=3, num_mixtures=2)
    x = np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32)
    y = layer(x).numpy()
    g = x @ layer.gates.kernel.numpy() + layer.gates.bias.numpy()
    e = x @ layer.experts.kernel.numpy() + layer.experts.bias.numpy()
    g = np.exp(g.reshape(4, 3, 3)); g /= g.sum(-1, keepdims=True)
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
