"""The seed's label losses on probabilities, selected by --label_loss, with optional smoothing.

All take multi-hot labels and sigmoid predictions [batch, 3862] and return a scalar;
``weights`` [batch, 3862] (segment training: 1 on a segment's rated classes, 0 elsewhere)
scales each class's term, as the dataset's own CrossEntropyLoss does with ``label_weights``.
"""
from __future__ import annotations

import tensorflow as tf


def _smooth(labels, label_smoothing: float):
    labels = tf.cast(labels, tf.float32)
    if label_smoothing:
        labels = labels * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return labels


def _weighted(terms, weights):
    """[batch, classes] per-class terms -> their (weighted) sum per row, averaged over rows."""
    if weights is not None:
        terms = terms * tf.cast(weights, tf.float32)
    return tf.reduce_mean(tf.reduce_sum(terms, axis=1))


def cross_entropy_loss(labels, predictions, label_smoothing: float = 0.0, weights=None):
    """Seed CrossEntropyLoss: -[y log(p+eps) + (1-y) log(1-p+eps)], summed over classes, batch mean."""
    epsilon = 1e-5
    y = _smooth(labels, label_smoothing)
    p = tf.cast(predictions, tf.float32)
    ce = -(y * tf.math.log(p + epsilon) + (1.0 - y) * tf.math.log(1.0 - p + epsilon))
    return _weighted(ce, weights)


def hinge_loss(labels, predictions, label_smoothing: float = 0.0, weights=None, b: float = 1.0):
    """Seed HingeLoss: max(0, b - (2y - 1) * p), summed over classes, batch mean."""
    y = _smooth(labels, label_smoothing)
    p = tf.cast(predictions, tf.float32)
    return _weighted(tf.maximum(0.0, b - (2.0 * y - 1.0) * p), weights)


def softmax_loss(labels, predictions, label_smoothing: float = 0.0, weights=None):
    """Seed SoftmaxLoss: cross entropy of softmax(predictions) against row-normalized labels
    (with ``weights``: the softmax over the weighted classes only)."""
    y = _smooth(labels, label_smoothing)
    logits = tf.cast(predictions, tf.float32)
    if weights is not None:
        rated = tf.cast(weights, tf.float32) > 0
        y = tf.where(rated, y, 0.0)
        logits = tf.where(rated, logits, -1e9)
    y = y / tf.maximum(tf.reduce_sum(y, axis=1, keepdims=True), 1e-8)
    log_softmax = tf.nn.log_softmax(logits)
    return tf.reduce_mean(-tf.reduce_sum(y * log_softmax, axis=1))


LOSSES = {"CrossEntropyLoss": cross_entropy_loss, "HingeLoss": hinge_loss,
          "SoftmaxLoss": softmax_loss}


def get(name: str):
    if name not in LOSSES:
        raise ValueError(f"`label_loss`: unknown loss {name!r}; valid: {', '.join(LOSSES)}")
    return LOSSES[name]
