"""YouTube-8M evaluation metrics, vectorized NumPy: Hit@1, PERR, GAP@k, mAP.

One implementation shared by training summaries, ``yt8m eval``, ``yt8m score`` and the TFMA
metric of the Evaluator.

Definitions (those of the starter code's eval_util / average_precision_calculator):
  * Hit@1: fraction of videos whose top-scored class is a positive.
  * PERR: for a video with p positives, precision of its top-p scores; averaged over all videos
    (videos without positives add 0, as in the seed).
  * GAP@k: pool every video's top-k (score, is-positive) pairs, sort by score descending and
    compute average precision, normalized by the number of all positives in the ground truth
    (positives outside a video's top k count as missed).
  * per-class AP / mAP: the same computation restricted to each class's pooled top-k pairs; mAP
    averages the classes that have at least one positive (``map_all_classes`` averages all
    classes, counting empty ones as 0, as the seed's eval.py printed).

Ties: pairs with equal scores form one block ranked together (precision taken at the end of the
block). The seed broke ties by a fixed random shuffle; with continuous scores both agree, and the
block rule makes the result independent of input order, which streaming merges need.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import os

import numpy as np

DEFAULT_TOP_K = 20  # the Kaggle metric, GAP@20; Kaggle rows list 20 predictions


def _check_top_k(top_k: int) -> None:
    if int(top_k) != top_k or top_k <= 0:
        raise ValueError(f"`top_k` must be a positive integer, got {top_k}")


def _check_shapes(predictions: np.ndarray, labels: np.ndarray) -> None:
    if predictions.ndim != 2 or predictions.shape != labels.shape:
        raise ValueError(f"predictions {predictions.shape} and labels {labels.shape} must both be "
                         "[num_videos, num_classes]")


def hit_at_one(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of videos whose highest-scored class is a positive."""
    _check_shapes(predictions, labels)
    if len(predictions) == 0:
        return 0.0
    top = np.argmax(predictions, axis=1)
    return float(np.mean(labels[np.arange(len(labels)), top] > 0))


def perr_per_video(predictions: np.ndarray, labels: np.ndarray, top_k_pairs_=None) -> np.ndarray:
    """Precision at equal recall rate of every video [num_videos] (0 without positives).

    Ties rank the lower class index first. Rows with at most ``k`` positives are answered from
    their top-k pairs (``top_k_pairs_``, computed with k=DEFAULT_TOP_K when not given); rows with
    more positives, or whose tie at position p reaches the k-th pair, get a full sort.
    """
    _check_shapes(predictions, labels)
    positives = labels > 0
    num_pos = positives.sum(axis=1)  # [n]
    scores, classes, hits = top_k_pairs_ or top_k_pairs(predictions, labels, DEFAULT_TOP_K)
    k = scores.shape[1]
    order = np.lexsort((classes, -scores), axis=1) if k else np.zeros_like(classes)  # [n, k]
    s_sorted = np.take_along_axis(scores, order, axis=1)
    h_sorted = np.take_along_axis(hits, order, axis=1)
    within = np.arange(k)[None, :] < num_pos[:, None]
    result = (h_sorted & within).sum(axis=1) / np.maximum(num_pos, 1)
    p_index = np.clip(num_pos - 1, 0, max(k - 1, 0))
    exact_rows = (num_pos <= k) if k == predictions.shape[1] else (
        (num_pos < k) & (s_sorted[np.arange(len(num_pos)), p_index] > s_sorted[:, k - 1]))
    slow = np.flatnonzero(~exact_rows & (num_pos > 0))
    if len(slow):  # full stable sort for the few rows the top-k cannot answer
        ranked = np.argsort(-predictions[slow], axis=1, kind="stable")
        ranked_hits = np.take_along_axis(positives[slow], ranked, axis=1)
        inside = np.arange(predictions.shape[1])[None, :] < num_pos[slow, None]
        result[slow] = (ranked_hits & inside).sum(axis=1) / num_pos[slow]
    return np.where(num_pos > 0, result, 0.0)


def perr(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Average PERR over all videos."""
    values = perr_per_video(predictions, labels)
    return float(values.mean()) if len(values) else 0.0


_CHUNK_ROWS = 256  # rows per top-k block: a block stays in cache; blocks run on threads
_THREADS = max(1, min(4, os.cpu_count() or 1))


def _top_k_indices(block: np.ndarray, k: int) -> np.ndarray:
    """Column indices [rows, k] of each row's k largest values (any order inside the k).

    Exact, without partitioning whole rows:
      1. columns fall into G strided groups (group g = columns g, g + G, g + 2G, ...), whose
         maxima ``gmax`` [rows, G] take one contiguous pass over the block;
      2. the groups fall into S super-groups; the k-th largest super-group max ``thr`` is
         reached by k disjoint column sets, so it never exceeds the row's k-th largest value;
      3. only groups whose max reaches ``thr`` (about k of them) can hold a top-k value: their
         columns are gathered, those below ``thr`` dropped, and the few survivors (about k per
         row on random scores) partitioned exactly.
    Ties or skewed rows only make the candidate set larger.
    """
    rows_n, cols_n = block.shape
    per_group = 10  # P: columns per group
    n_groups = cols_n // per_group  # G
    n_super = n_groups // 3  # S: three groups per super-group
    if n_super < 2 * k:
        return np.argpartition(-block, k - 1, axis=1)[:, :k]
    main = n_groups * per_group
    tail = cols_n - main  # < P leftover columns join groups 0 .. tail-1
    gmax = block[:, :main].reshape(rows_n, per_group, n_groups).max(axis=1)  # [rows, G]
    if tail:
        np.maximum(gmax[:, :tail], block[:, main:], out=gmax[:, :tail])
    smax = gmax[:, :n_super * 3].reshape(rows_n, 3, n_super).max(axis=1)  # [rows, S]
    thr = np.sort(smax, axis=1)[:, n_super - k]  # [rows]; small sorts beat partition here
    group_rows, group_ids = np.divmod(np.flatnonzero(gmax >= thr[:, None]), n_groups)  # [m]
    cols = group_ids[:, None] + n_groups * np.arange(per_group + 1)  # [m, P + 1]
    has_tail = group_ids < tail
    cols[:, per_group] = np.where(has_tail, cols[:, per_group], group_ids)  # a valid column
    flat = (group_rows * cols_n)[:, None] + cols  # [m, P + 1] indices into block.ravel()
    values = np.take(block.ravel(), flat)
    keep = values >= np.take(thr, group_rows)[:, None]
    keep[:, per_group] &= has_tail
    chosen = np.flatnonzero(keep)
    rows, cols = np.divmod(np.take(flat, chosen), cols_n)  # rows ascending
    values = np.take(values, chosen)
    counts = np.bincount(rows, minlength=rows_n)
    position = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    width = int(counts.max())
    cand_cols = np.zeros((rows_n, width), np.int64)
    cand_vals = np.full((rows_n, width), -np.inf, np.result_type(block.dtype, np.float32))
    cand_cols[rows, position] = cols
    cand_vals[rows, position] = values
    pick = np.argpartition(-cand_vals, k - 1, axis=1)[:, :k]
    return np.take_along_axis(cand_cols, pick, axis=1)


def _top_k_block(predictions: np.ndarray, labels: np.ndarray, k: int):
    """(scores, classes, hits, num_positives) of one block of rows; see ``top_k_pairs``."""
    if k < predictions.shape[1]:
        idx = _top_k_indices(predictions, k)
    else:
        idx = np.broadcast_to(np.arange(k), predictions.shape).copy()
    hits = np.take_along_axis(labels, idx, axis=1) > 0
    return (np.take_along_axis(predictions, idx, axis=1), idx, hits,
            int(np.count_nonzero(labels > 0)))


def _top_k_pairs_and_positives(predictions: np.ndarray, labels: np.ndarray, top_k: int):
    """``top_k_pairs`` plus the number of positive labels, in one blockwise pass.

    Blocks of rows keep every temporary small (no [n, num_classes] mask is ever built) and run
    on threads: NumPy releases the GIL in these loops.
    """
    _check_top_k(top_k)
    _check_shapes(predictions, labels)
    predictions = np.ascontiguousarray(predictions)
    k = min(int(top_k), predictions.shape[1])
    starts = range(0, len(predictions), _CHUNK_ROWS)
    block = lambda i: _top_k_block(  # noqa: E731
        predictions[i:i + _CHUNK_ROWS], labels[i:i + _CHUNK_ROWS], k)
    if len(starts) > 1 and _THREADS > 1:
        with concurrent.futures.ThreadPoolExecutor(_THREADS) as pool:
            parts = list(pool.map(block, starts))
    else:
        parts = [block(i) for i in starts]
    if not parts:
        return (np.zeros((0, k), predictions.dtype), np.zeros((0, k), np.int64),
                np.zeros((0, k), bool)), 0
    scores, classes, hits, positives = zip(*parts)
    return (np.concatenate(scores), np.concatenate(classes), np.concatenate(hits)), sum(positives)


def top_k_pairs(predictions: np.ndarray, labels: np.ndarray, top_k: int):
    """Each video's top-k predictions: (scores [n, k] float, classes [n, k] int, hits [n, k] bool)."""
    return _top_k_pairs_and_positives(predictions, labels, top_k)[0]


def average_precision(scores: np.ndarray, hits: np.ndarray, num_positives: float) -> float:
    """AP of pooled (score, hit) pairs against num_positives ground-truth positives.

    Each positive pair adds the precision over all pairs scoring at least as high as it (so a
    tie block is ranked as one, precision taken at its end). Positive and negative scores are
    sorted apart and counted with ``searchsorted``: two plain float sorts, no argsort.
    """
    if num_positives <= 0 or np.size(scores) == 0:
        return 0.0
    hits = np.asarray(hits, bool)
    positive = np.sort(scores[hits])  # [p] ascending
    negative = np.sort(scores[~hits])  # [n - p] ascending
    positives_at_or_above = len(positive) - np.searchsorted(positive, positive, "left")
    negatives_at_or_above = len(negative) - np.searchsorted(negative, positive, "left")
    precision = positives_at_or_above / (positives_at_or_above + negatives_at_or_above)
    return float(np.sum(precision) / num_positives)


def per_class_average_precision(scores: np.ndarray, classes: np.ndarray, hits: np.ndarray,
                                positives_per_class: np.ndarray) -> np.ndarray:
    """AP of every class [num_classes] from pooled top-k pairs (flat arrays); 0 without positives."""
    num_classes = len(positives_per_class)
    if scores.size == 0:
        return np.zeros(num_classes)
    order = np.lexsort((-scores, classes))  # by class, then score descending
    s, c, h = scores[order], classes[order], hits[order].astype(np.float64)
    n = len(s)
    class_start = np.r_[True, c[1:] != c[:-1]]
    start_pos = np.maximum.accumulate(np.where(class_start, np.arange(n), 0))
    cum = np.cumsum(h)
    cum_before_class = np.where(start_pos > 0, cum[start_pos - 1], 0.0)
    cum_in_class = cum - cum_before_class
    rank = np.arange(n) - start_pos + 1
    block_end = np.r_[(s[1:] != s[:-1]) | (c[1:] != c[:-1]), True]
    ends = np.flatnonzero(block_end)
    prev_cum = np.r_[0.0, cum_in_class[ends][:-1]]
    same_class_as_prev = np.r_[False, c[ends][1:] == c[ends][:-1]]
    hits_in_block = cum_in_class[ends] - np.where(same_class_as_prev, prev_cum, 0.0)
    contrib = cum_in_class[ends] / rank[ends] * hits_in_block
    sums = np.bincount(c[ends], weights=contrib, minlength=num_classes)
    return np.where(positives_per_class > 0, sums / np.maximum(positives_per_class, 1), 0.0)


def gap(predictions: np.ndarray, labels: np.ndarray, top_k: int = DEFAULT_TOP_K) -> float:
    """Global average precision over every video's top-k predictions."""
    (scores, _, hits), num_positives = _top_k_pairs_and_positives(predictions, labels, top_k)
    return average_precision(scores.ravel(), hits.ravel(), float(num_positives))


@dataclasses.dataclass
class MetricsAccumulator:
    """Streaming, mergeable state for all metrics: only each video's top-k pairs are kept.

    Memory is about 9 * top_k bytes per video (float32 score, int16 class, bool hit) plus a
    [num_classes] positive count. ``merge`` is associative and commutative, so partial states
    from shards, batches or Beam workers combine in any order to the same result.
    """

    num_classes: int
    top_k: int = DEFAULT_TOP_K
    num_videos: int = 0
    sum_hit_at_one: float = 0.0
    sum_perr: float = 0.0
    sum_loss: float = 0.0
    positives_per_class: np.ndarray = None
    scores: list = dataclasses.field(default_factory=list)
    classes: list = dataclasses.field(default_factory=list)
    hits: list = dataclasses.field(default_factory=list)

    def __post_init__(self):
        _check_top_k(self.top_k)
        if self.positives_per_class is None:
            self.positives_per_class = np.zeros(self.num_classes, np.int64)

    def add(self, predictions: np.ndarray, labels: np.ndarray, loss_sum: float = 0.0) -> None:
        """Adds a batch: predictions and multi-hot labels [batch, num_classes]."""
        predictions = np.asarray(predictions, np.float32)
        labels = np.asarray(labels)
        _check_shapes(predictions, labels)
        if predictions.shape[1] != self.num_classes:
            raise ValueError(f"expected {self.num_classes} classes, got {predictions.shape[1]}")
        s, c, h = top_k_pairs(predictions, labels, self.top_k)
        self.add_pairs(s.ravel(), c.ravel(), h.ravel(), (labels > 0).sum(axis=0),
                       num_videos=len(predictions),
                       sum_hit_at_one=hit_at_one(predictions, labels) * len(predictions),
                       sum_perr=float(perr_per_video(predictions, labels, (s, c, h)).sum()),
                       sum_loss=float(loss_sum))

    def add_pairs(self, scores: np.ndarray, classes: np.ndarray, hits: np.ndarray,
                  positives_per_class: np.ndarray, num_videos: int, sum_hit_at_one: float,
                  sum_perr: float, sum_loss: float = 0.0) -> None:
        """Adds already-selected top-k pairs (flat arrays) and per-video sums of a batch.

        For sparse predictions (a Kaggle CSV lists at most top_k pairs per video) where a dense
        [batch, num_classes] matrix would be wasteful; each video must contribute <= top_k pairs.
        """
        self.scores.append(np.asarray(scores, np.float32))
        self.classes.append(np.asarray(classes).astype(
            np.int16 if self.num_classes < 2**15 else np.int32))
        self.hits.append(np.asarray(hits, bool))
        self.positives_per_class += np.asarray(positives_per_class, np.int64)
        self.num_videos += int(num_videos)
        self.sum_hit_at_one += float(sum_hit_at_one)
        self.sum_perr += float(sum_perr)
        self.sum_loss += float(sum_loss)

    def merge(self, other: "MetricsAccumulator") -> "MetricsAccumulator":
        if (other.num_classes, other.top_k) != (self.num_classes, self.top_k):
            raise ValueError("cannot merge accumulators with different num_classes or top_k")
        self.num_videos += other.num_videos
        self.sum_hit_at_one += other.sum_hit_at_one
        self.sum_perr += other.sum_perr
        self.sum_loss += other.sum_loss
        self.positives_per_class = self.positives_per_class + other.positives_per_class
        self.scores += other.scores
        self.classes += other.classes
        self.hits += other.hits
        return self

    def pairs(self):
        """The kept (scores, classes, hits) of every video, concatenated (flat arrays)."""
        cat = lambda parts, dt: np.concatenate(parts) if parts else np.zeros(0, dt)  # noqa: E731
        return cat(self.scores, np.float32), cat(self.classes, np.int32), cat(self.hits, bool)

    def class_aps(self) -> np.ndarray:
        s, c, h = self.pairs()
        return per_class_average_precision(s, c.astype(np.int64), h, self.positives_per_class)

    def result(self) -> dict:
        """{'gap', 'hit_at_one', 'perr', 'map', 'map_all_classes', 'loss', 'num_videos'}."""
        s, _, h = self.pairs()
        n = max(self.num_videos, 1)
        aps = self.class_aps()
        present = self.positives_per_class > 0
        return {
            "gap": average_precision(s, h, float(self.positives_per_class.sum())),
            "hit_at_one": self.sum_hit_at_one / n,
            "perr": self.sum_perr / n,
            "map": float(aps[present].mean()) if present.any() else 0.0,
            "map_all_classes": float(aps.mean()),
            "loss": self.sum_loss / n,
            "num_videos": self.num_videos,
        }
