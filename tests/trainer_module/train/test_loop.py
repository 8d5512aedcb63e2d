"""train/loop.py's Trainer on its own (a logistic model on random features, CPU): steps and
max_steps, the (x, y, weights) form segment training uses, checkpoint resume, a non-finite
loss refused."""
import numpy as np
import pytest
import tensorflow as tf

from trainer_module import models
from trainer_module.data import features as F
from trainer_module.train import loop as training

SPEC = F.FeatureSpec.from_flags("mean_rgb,mean_audio", "1024,128", False, 1)


def _dataset(batches: int, batch: int = 4, weights=None, seed: int = 0, labels=None):
    rng = np.random.default_rng(seed)
    n = batches * batch
    x = {F.FEATURES: rng.normal(size=(n, SPEC.dim)).astype(np.float32),
         F.NUM_FRAMES: np.ones(n, np.int32)}
    y = labels if labels is not None else (rng.random((n, F.NUM_CLASSES)) < 0.01).astype(
        np.float32)
    parts = (x, y) if weights is None else (x, y, np.full((n, F.NUM_CLASSES), weights,
                                                            np.float32))
    return tf.data.Dataset.from_tensor_slices(parts).batch(batch)


def _trainer(tmp_path, **settings):
    cfg = training.TrainConfig(batch_size=4, log_every_steps=1000, **settings)
    return training.Trainer(lambda: models.build_model("LogisticModel", SPEC), cfg,
                            checkpoint_dir=str(tmp_path / "ckpt"))


def test_fit_counts_steps_and_stops_at_max_steps(tmp_path):
    trainer = _trainer(tmp_path, max_steps=3)
    trainer.restore()
    result = trainer.fit(_dataset(5), log=lambda _: None)
    assert result.global_step == 3 and result.examples == 12
    assert trainer.fit(_dataset(5), log=lambda _: None).examples == 0  # already at max_steps
    trainer.close()


def _fit_variables(tmp_path, name, ds):
    trainer = _trainer(tmp_path / name)
    trainer.restore()
    trainer.fit(ds, log=lambda _: None)
    out = [v.numpy() for v in trainer.model.trainable_variables]
    trainer.close()
    return out


def test_labels_count_only_where_weighted_and_weights_of_one_are_no_weights(tmp_path):
    """(x, y, w): the loss is taken where w > 0 only (segment training's unrated classes): with
    w = 0 the labels do not matter (what changes the weights is the regularization alone)."""
    ones = np.ones((8, F.NUM_CLASSES), np.float32)
    runs = {name: _fit_variables(tmp_path, name, _dataset(2, weights=w, labels=y))
            for name, w, y in (("zero_a", 0.0, ones), ("zero_b", 0.0, 0 * ones),
                               ("one_a", 1.0, ones), ("one_b", 1.0, 0 * ones))}
    for a, b in zip(runs["zero_a"], runs["zero_b"]):
        np.testing.assert_array_equal(a, b)
    assert any(not np.allclose(a, b) for a, b in zip(runs["one_a"], runs["one_b"]))
    plain = _fit_variables(tmp_path, "plain", _dataset(2, labels=ones))
    for w, p in zip(runs["one_a"], plain):
        np.testing.assert_allclose(w, p, rtol=1e-5, atol=1e-7)


def test_a_new_trainer_resumes_from_the_checkpoint(tmp_path):
    first = _trainer(tmp_path, max_steps=2)
    first.restore()
    first.fit(_dataset(4), log=lambda _: None)
    first.close()
    second = _trainer(tmp_path, max_steps=4)
    assert second.restore() == 2
    assert second.fit(_dataset(4), log=lambda _: None).global_step == 4
    second.close()


def test_a_non_finite_loss_stops_training(tmp_path):
    trainer = _trainer(tmp_path)
    trainer.restore()
    labels = np.full((8, F.NUM_CLASSES), np.nan, np.float32)
    with pytest.raises(Exception, match=training.NONFINITE_LOSS):
        trainer.fit(_dataset(2, labels=labels), log=lambda _: None)
    trainer.close()
