"""``yt8m score``: score a Kaggle predictions CSV against a ground-truth labels CSV.

Predictions: ``VideoId,LabelConfidencePairs`` (``label score label score …``), the format of
``yt8m inference`` and of Kaggle submissions. Ground truth: the seed's ``VideoId,Labels``
(space-separated label ids; an empty field is a video without positives).

Rules (all errors are one line naming the file and line):
  * header rows are recognized by their first field (``VideoId``) and skipped;
  * a malformed row (wrong field count, odd number of tokens, a label outside [0, 3862),
    a non-finite score, a label listed twice in one row) is an error;
  * an id listed twice in either file is an error; a predicted id absent from the ground truth is
    an error (a submission for another split);
  * a ground-truth video without a prediction row is **scored as predicting nothing**: its
    positives count as missed for GAP/mAP and it scores 0 for Hit@1 and PERR; the number of such
    videos is reported as ``missing_predictions``;
  * only each video's ``top_k`` highest-scored pairs count (GAP@k); classes a row does not list
    never count as hits (for PERR a row with fewer pairs than positives misses the rest).
"""
from __future__ import annotations

import csv
import dataclasses
import math
import os
from typing import Iterator

import numpy as np

from trainer_module import io_utils
from trainer_module.data import features as F
from trainer_module.evaluation import metrics as M

_HEADER = "videoid"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ScoreJob:
    predictions: str
    labels: str
    top_k: int = M.DEFAULT_TOP_K
    vocabulary: str | None = None
    per_class: int = 0  # print the N best and worst classes by AP (needs labels)

    def __post_init__(self):
        if int(self.top_k) != self.top_k or self.top_k <= 0:
            raise ValueError(f"`top_k` must be a positive integer, got {self.top_k}")
        if self.per_class < 0:
            raise ValueError(f"`per_class` must be >= 0, got {self.per_class}")


def _rows(path: str, flag: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of every non-empty data row; skips a header row."""
    if os.path.isdir(path):
        raise ValueError(f"{flag} {path} is a folder; expected a CSV file")
    try:
        for line_no, fields in enumerate(csv.reader(io_utils.text_lines(path, flag)), start=1):
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if line_no == 1 and fields[0].strip().lower() == _HEADER:
                continue
            yield line_no, fields
    except OSError as e:
        raise ValueError(f"{flag} {path}: cannot read ({e.strerror})") from None
    except csv.Error as e:
        raise ValueError(f"{path}: not a readable CSV ({e})") from None


def _label(token: str, where: str) -> int:
    try:
        label = int(token)
    except ValueError:
        raise ValueError(f"{where}: label {token!r} is not an integer") from None
    if not 0 <= label < F.NUM_CLASSES:
        raise ValueError(f"{where}: label {label} outside [0, {F.NUM_CLASSES})")
    return label


def read_labels(path: str) -> dict[str, np.ndarray]:
    """Ground truth {video id: sorted unique label ids int64}."""
    truth: dict[str, np.ndarray] = {}
    for line_no, fields in _rows(path, "`labels`"):
        where = f"{path}:{line_no}"
        if len(fields) != 2:
            raise ValueError(f"{where}: expected 2 fields 'VideoId,Labels', got {len(fields)}")
        vid = fields[0].strip()
        if not vid:
            raise ValueError(f"{where}: empty video id")
        if vid in truth:
            raise ValueError(f"{where}: video id {vid!r} listed twice")
        labels = [_label(t, where) for t in fields[1].split()]
        if len(set(labels)) != len(labels):
            raise ValueError(f"{where}: a label is listed twice for video {vid!r}")
        truth[vid] = np.array(sorted(labels), np.int64)
    return truth


def parse_prediction_row(fields: list[str], where: str, top_k: int):
    """(video id, classes int64 [<=k], scores float32 [<=k]) sorted by score, highest first."""
    if len(fields) != 2:
        raise ValueError(f"{where}: expected 2 fields 'VideoId,LabelConfidencePairs', "
                         f"got {len(fields)}")
    vid, tokens = fields[0].strip(), fields[1].split()
    if not vid:
        raise ValueError(f"{where}: empty video id")
    if len(tokens) % 2:
        raise ValueError(f"{where}: expected 'label score' pairs, got an odd number of tokens")
    classes = [_label(t, where) for t in tokens[0::2]]
    try:
        scores = [float(t) for t in tokens[1::2]]
    except ValueError:
        raise ValueError(f"{where}: a confidence is not a number") from None
    if not all(math.isfinite(s) for s in scores):
        raise ValueError(f"{where}: a confidence is not finite")
    if len(set(classes)) != len(classes):
        raise ValueError(f"{where}: a label is listed twice")
    order = sorted(range(len(classes)), key=lambda i: -scores[i])[:top_k]
    return (vid, np.array([classes[i] for i in order], np.int64),
            np.array([scores[i] for i in order], np.float32))


def score(job: ScoreJob) -> tuple[dict, np.ndarray, np.ndarray]:
    """Returns (metrics, per-class AP [NUM_CLASSES], positives per class [NUM_CLASSES])."""
    truth = read_labels(job.labels)
    acc = M.MetricsAccumulator(F.NUM_CLASSES, job.top_k)
    seen: set[str] = set()
    s_all, c_all, h_all = [], [], []
    hit1 = perr = 0.0
    for line_no, fields in _rows(job.predictions, "`predictions`"):
        where = f"{job.predictions}:{line_no}"
        vid, classes, scores = parse_prediction_row(fields, where, job.top_k)
        if vid in seen:
            raise ValueError(f"{where}: video id {vid!r} listed twice")
        if vid not in truth:
            raise ValueError(f"{where}: video id {vid!r} is not in `labels` {job.labels}")
        seen.add(vid)
        positives = truth[vid]
        hits = np.isin(classes, positives)  # [<=k]
        s_all.append(scores), c_all.append(classes), h_all.append(hits)
        hit1 += float(hits[0]) if len(hits) else 0.0
        if len(positives):
            perr += float(hits[:len(positives)].sum()) / len(positives)
    positives_per_class = np.zeros(F.NUM_CLASSES, np.int64)
    for labels in truth.values():
        positives_per_class[labels] += 1
    cat = lambda parts, dt: np.concatenate(parts) if parts else np.zeros(0, dt)  # noqa: E731
    acc.add_pairs(cat(s_all, np.float32), cat(c_all, np.int64), cat(h_all, bool),
                  positives_per_class, num_videos=len(truth), sum_hit_at_one=hit1, sum_perr=perr)
    result = acc.result()
    result.pop("loss")
    result["missing_predictions"] = len(truth) - len(seen)
    result["num_matched"] = len(seen)
    return result, acc.class_aps(), positives_per_class


def per_class_report(class_aps: np.ndarray, positives: np.ndarray, names, n: int) -> list[str]:
    """Lines for the n best and n worst classes by AP among classes with positives."""
    present = np.flatnonzero(positives > 0)
    order = present[np.argsort(-class_aps[present], kind="stable")]
    picks = [("best", order[:n]), ("worst", order[::-1][:n])]
    lines = []
    for title, idx in picks:
        lines.append(f"{title} classes by AP:")
        lines += [f"  {int(c):5d} {names(int(c))[:40]:40s} AP {class_aps[c]:.3f} "
                  f"({int(positives[c])} videos)" for c in idx]
    return lines


def run(job: ScoreJob, log=print) -> dict:
    from trainer_module.data import vocabulary as V

    vocab = V.load(job.vocabulary) if job.vocabulary else None
    result, class_aps, positives = score(job)
    log(f"videos: {result['num_videos']} in labels, {result['num_matched']} matched, "
        f"{result['missing_predictions']} without predictions (scored as empty)")
    log(f"GAP@{job.top_k}: {result['gap']:.6f} | Hit@1: {result['hit_at_one']:.6f} | "
        f"PERR: {result['perr']:.6f} | mAP: {result['map']:.6f}")
    if job.per_class:
        names = vocab.name if vocab else (lambda c: f"class {c}")
        for line in per_class_report(class_aps, positives, names, job.per_class):
            log(line)
    return result
