"""Each loss against a NumPy computation of the seed's formula."""
import numpy as np
import pytest

from trainer_module.train import losses


def _data():
    rng = np.random.default_rng(3)
    return (rng.random((4, 7)) < 0.3).astype(np.float32), rng.random((4, 7)).astype(np.float32)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy(smoothing):
    y, p = _data()
    ys = y * (1 - smoothing) + 0.5 * smoothing
    ref = np.mean(np.sum(-(ys * np.log(p + 1e-5) + (1 - ys) * np.log(1 - p + 1e-5)), 1))
    assert losses.get("CrossEntropyLoss")(y, p, smoothing).numpy() == pytest.approx(ref, rel=1e-5)


def test_hinge():
    y, p = _data()
    ref = np.mean(np.sum(np.maximum(0, 1 - (2 * y - 1) * p), 1))
    assert losses.get("HingeLoss")(y, p).numpy() == pytest.approx(ref, rel=1e-5)


def test_softmax():
    y, p = _data()
    y[0] = 0  # a row without labels contributes 0
    norm = y / np.maximum(y.sum(1, keepdims=True), 1e-8)
    sm = np.exp(p) / np.exp(p).sum(1, keepdims=True)
    ref = np.mean(-np.sum(norm * np.log(sm), 1))
    assert losses.get("SoftmaxLoss")(y, p).numpy() == pytest.approx(ref, rel=1e-5)


def test_unknown_loss():
    with pytest.raises(ValueError, match="`label_loss`.*CrossEntropyLoss"):
        losses.get("L1")


@pytest.mark.parametrize("name", ["CrossEntropyLoss", "HingeLoss", "SoftmaxLoss"])
def test_label_weights_leave_out_the_unrated_classes(name):
    """With segment weights (1 on the rated classes), a loss is the loss of the rated classes
    alone: what the model predicts elsewhere does not count (the dataset's label_weights)."""
    rng = np.random.default_rng(1)
    y = (rng.random((4, 10)) < 0.3).astype(np.float32)
    w = (rng.random((4, 10)) < 0.5).astype(np.float32)
    w[:, 0] = 1.0
    p = rng.uniform(0.05, 0.95, (4, 10)).astype(np.float32)
    q = np.where(w > 0, p, rng.uniform(0.05, 0.95, (4, 10))).astype(np.float32)
    loss = losses.get(name)
    assert float(loss(y * w, p, 0.0, w)) == pytest.approx(float(loss(y * w, q, 0.0, w)), rel=1e-6)
    if name == "CrossEntropyLoss":  # the seed's: the per-class terms times the weights
        ce = -(y * np.log(p + 1e-5) + (1 - y) * np.log(1 - p + 1e-5))
        assert float(loss(y, p, 0.0, w)) == pytest.approx((ce * w).sum(1).mean(), rel=1e-5)
