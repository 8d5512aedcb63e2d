"""Segment MAP@K equals a reference written here from the metric's definition (the dataset's
segment_eval_inference.py with its AveragePrecisionCalculator), to 1e-9."""
import numpy as np
import pytest

from trainer_module.evaluation import segment_metrics as SM


def _reference(ranked, ratings, k):
    """The definition, step by step: cap at k, drop unrated, precision at each positive's rank
    among the kept, divided by the class's positives in the data; mean over classes that have
    positives."""
    aps = []
    for label in sorted(ranked):
        positives = sum(1 for (s, c), v in ratings.items() if c == label and v > 0)
        if not positives:
            continue
        kept = [ratings[(s, label)] for s in ranked[label][:k] if (s, label) in ratings]
        hits = np.cumsum(np.asarray(kept) > 0)
        ranks = np.arange(1, len(kept) + 1)
        aps.append(float(np.sum((hits / ranks) * (np.asarray(kept) > 0)) / positives)
                   if kept else 0.0)
    return float(np.mean(aps)) if aps else 0.0


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [1, 7, 100_000])
def test_equals_the_reference(seed, k):
    rng = np.random.default_rng(seed)
    segments = [SM.segment_id(f"v{v:03d}", 5 * t) for v in range(60) for t in range(6)]
    ratings = {}
    for s in segments:
        for c in rng.choice(12, size=rng.integers(0, 3), replace=False):
            ratings[(s, int(c))] = float(rng.random() < 0.4)
    ranked = {c: list(rng.permutation(segments)[:rng.integers(0, 300)]) for c in range(14)}
    got = SM.segment_map(ranked, ratings, k)
    assert got.map == pytest.approx(_reference(ranked, ratings, k), abs=1e-9)
    assert set(got.per_class) <= set(range(12))


def test_small_cases_by_hand():
    ratings = {("a:0", 1): 1.0, ("b:5", 1): 0.0, ("c:0", 1): 1.0, ("d:0", 1): 1.0,
               ("a:0", 2): 0.0}
    # class 1: kept list a(+), b(-), c(+) (x unrated, dropped); 3 positives in the data
    got = SM.segment_map({1: ["a:0", "x:0", "b:5", "c:0"], 2: ["a:0"]}, ratings)
    assert got.per_class == {1: pytest.approx((1 / 1 + 2 / 3) / 3)}  # class 2: no positive
    assert got.map == pytest.approx((1 + 2 / 3) / 3)
    assert SM.segment_map({1: ["a:0", "b:5", "c:0"]}, ratings, k=1).map == pytest.approx(1 / 3)
    assert SM.segment_map({}, ratings).map == 0.0
    with pytest.raises(ValueError, match="`k` must be >= 1"):
        SM.segment_map({}, ratings, k=0)


def test_over_rated_classes_counts_a_missing_class_as_zero():
    ratings = {("a:0", 1): 1.0, ("b:0", 1): 0.0, ("a:0", 2): 1.0, ("c:5", 3): 0.0,
               ("c:5", 4): 1.0}
    result = SM.segment_map({1: ["b:0", "a:0"], 3: ["c:5"]}, ratings)
    assert result.map == 0.5 and set(result.per_class) == {1}  # class 3: no positive rating
    assert SM.over_rated_classes(result, ratings) == pytest.approx(0.5 / 3)  # 1, 2, 4 rated
    assert SM.over_rated_classes(result, ratings, classes={1, 2}) == pytest.approx(0.25)
