"""Segment MAP@K, the 2019 YouTube-8M metric, as the dataset's ``segment_eval_inference.py``
computes it (docs/segments.md).

For each class of a submission: its ranked segments (``video_id:start``), cut to the first K,
keep only the segments rated for that class; the average precision of that list, with recall
counted against every positive rating of the class in the data:

    AP(c) = sum over ranks i of the kept list where segment i is positive:
            (positives among the first i) / i / positives(c)

MAP@K is the mean of AP over the submitted classes that have at least one positive rating (the
reference's ``filter_empty_classes``). ``over_rated_classes`` is a stricter mean for comparing
models: over every class with a positive rating, a class the submission lacks counting 0.
"""
from __future__ import annotations

import dataclasses

DEFAULT_K = 100_000


@dataclasses.dataclass(frozen=True)
class SegmentMap:
    map: float
    per_class: dict  # {class: AP}
    k: int


def segment_id(video_id: str, start: int) -> str:
    return f"{video_id}:{int(start)}"


def average_precision(judged: list, positives: int) -> float:
    """AP of a ranked list of judgements (score > 0: positive) over ``positives`` in all."""
    if positives <= 0:
        return 0.0
    found, total = 0, 0.0
    for rank, score in enumerate(judged, start=1):
        if score > 0:
            found += 1
            total += found / rank
    return total / positives


def segment_map(ranked: dict, ratings: dict, k: int = DEFAULT_K) -> SegmentMap:
    """MAP@k of per-class ranked segment ids against the rated segments.

    Args:
      ranked: {class: [segment id, ...]} best first (a submission's rows).
      ratings: {(segment id, class): score} of the data (1.0 positive, 0.0 rated absent).
      k: segments per class that count.
    """
    if k < 1:
        raise ValueError(f"`k` must be >= 1, got {k}")
    positives: dict = {}
    for (_, label), score in ratings.items():
        if score > 0:
            positives[label] = positives.get(label, 0) + 1
    per_class = {}
    for label, segments in ranked.items():
        if positives.get(label, 0) == 0:
            continue  # no positive rating: the class cannot be scored
        judged = [ratings[(s, label)] for s in segments[:k] if (s, label) in ratings]
        per_class[label] = average_precision(judged, positives[label])
    value = sum(per_class.values()) / len(per_class) if per_class else 0.0
    return SegmentMap(value, per_class, k)


def over_rated_classes(result: SegmentMap, ratings: dict, classes=None) -> float:
    """The mean AP over every class (of ``classes``, default all) with a positive rating in
    ``ratings``, a class without a row in the submission counting 0."""
    rated = {label for (_, label), score in ratings.items() if score > 0
             and (classes is None or label in classes)}
    return sum(result.per_class.get(c, 0.0) for c in rated) / len(rated) if rated else 0.0
