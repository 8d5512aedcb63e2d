"""GAP@k as a ``tf_keras`` metric (training/eval summaries, Keras-metric slots of TFMA).

A Keras metric's state must be additive (TFMA and tf.distribute sum partial states), so it
cannot hold every video's top-k pairs like ``metrics.MetricsAccumulator``. Instead it keeps a
histogram of the top-k scores on the **logit** scale: per bin the number of pairs and of hits,
plus the number of ground-truth positives. GAP is then the exact GAP of the histogram, where each
bin is one block of tied scores (the rule ``metrics.average_precision`` applies to real ties).

Error: only the order of pairs inside one bin is lost. With 10,000 bins over logits in
[-16, 16] (scores 1e-7 .. 1 - 1e-7) a bin is 0.0032 logits wide; measured against the exact
NumPy GAP the difference stays below 1e-4 (tests assert ``< 1e-3``). Use the exact TFMA metric
(``tfma_metrics.YT8MMetrics``) for the blessing gate; use this one where a Keras metric is needed.

State: one ``[3, bins]`` variable (several variables of different shapes broke TFMA's weight
merging); row 0 pair counts, row 1 hits, row 2 column 0 the number of positives. The constructor
argument is ``k`` rather than ``top_k``: TFMA would add a ``top_k`` sub-key.
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

DEFAULT_BINS = 10_000
LOGIT_RANGE = 16.0


class GlobalAveragePrecision(tf_keras.metrics.Metric):
    """GAP@k of sigmoid predictions [batch, classes] against multi-hot labels [batch, classes]."""

    def __init__(self, k: int = 20, num_bins: int = DEFAULT_BINS, name: str = "gap_histogram",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        if int(k) != k or k <= 0:
            raise ValueError(f"k must be a positive integer, got {k}")
        if num_bins < 2:
            raise ValueError(f"num_bins must be >= 2, got {num_bins}")
        self.k, self.num_bins = int(k), int(num_bins)
        self.histogram = self.add_weight(name="histogram", shape=(3, self.num_bins),
                                         initializer="zeros", dtype=tf.float64)

    def _bins(self, scores: tf.Tensor) -> tf.Tensor:
        eps = 1e-7
        p = tf.clip_by_value(tf.cast(scores, tf.float64), eps, 1.0 - eps)
        logit = tf.math.log(p) - tf.math.log1p(-p)
        pos = (logit + LOGIT_RANGE) / (2.0 * LOGIT_RANGE) * self.num_bins
        return tf.clip_by_value(tf.cast(tf.floor(pos), tf.int32), 0, self.num_bins - 1)

    def update_state(self, y_true, y_pred, sample_weight=None):
        del sample_weight  # GAP is not example-weighted
        y_pred = tf.convert_to_tensor(y_pred)
        y_pred = tf.reshape(y_pred, [-1, tf.shape(y_pred)[-1]])  # [batch, C]
        y_true = tf.reshape(tf.cast(y_true, tf.float64), tf.shape(y_pred))
        k = tf.minimum(self.k, tf.shape(y_pred)[-1])
        scores, idx = tf.math.top_k(y_pred, k=k)  # [batch, k]
        hits = tf.cast(tf.gather(y_true, idx, batch_dims=1) > 0, tf.float64)
        bins = tf.reshape(self._bins(scores), [-1])
        counts = tf.math.bincount(bins, minlength=self.num_bins, maxlength=self.num_bins,
                                  dtype=tf.float64)
        hit_counts = tf.math.unsorted_segment_sum(tf.reshape(hits, [-1]), bins, self.num_bins)
        positives = tf.reduce_sum(tf.cast(y_true > 0, tf.float64))
        extra = tf.tensor_scatter_nd_update(tf.zeros([self.num_bins], tf.float64), [[0]],
                                            [positives])
        self.histogram.assign_add(tf.stack([counts, hit_counts, extra]))

    def result(self):
        counts = tf.reverse(self.histogram[0], [0])  # highest scores first
        hits = tf.reverse(self.histogram[1], [0])
        positives = self.histogram[2, 0]
        cum_counts, cum_hits = tf.cumsum(counts), tf.cumsum(hits)
        precision = tf.math.divide_no_nan(cum_hits, cum_counts)
        gap = tf.math.divide_no_nan(tf.reduce_sum(precision * hits), positives)
        return tf.cast(gap, tf.float32)

    def reset_state(self):
        self.histogram.assign(tf.zeros_like(self.histogram))

    def get_config(self):
        return {**super().get_config(), "k": self.k, "num_bins": self.num_bins}
