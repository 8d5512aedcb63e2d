"""Metrics against hand-computed values and a straightforward reference of the seed's algorithm."""
import numpy as np
import pytest

from trainer_module.evaluation import metrics as M


def _reference_gap(predictions, labels, k):
    """The seed's algorithm written plainly: per-video top-k, pooled, sorted, AP over all positives."""
    pairs = []
    for p, y in zip(predictions, labels):
        kk = min(k, len(p))
        for idx in sorted(range(len(p)), key=lambda i: -p[i])[:kk]:
            pairs.append((p[idx], y[idx] > 0))
    pairs.sort(key=lambda t: -t[0])
    total = labels.sum()
    ap, pos = 0.0, 0
    for i, (_, hit) in enumerate(pairs):
        if hit:
            pos += 1
            ap += pos / (i + 1)
    return ap / total if total else 0.0


def _reference_class_ap(predictions, labels, k):
    n, c = predictions.shape
    per_class = [[] for _ in range(c)]
    for p, y in zip(predictions, labels):
        for idx in sorted(range(c), key=lambda i: -p[i])[:min(k, c)]:
            per_class[idx].append((p[idx], y[idx] > 0))
    aps = []
    for cls in range(c):
        pairs = sorted(per_class[cls], key=lambda t: -t[0])
        total = labels[:, cls].sum()
        ap, pos = 0.0, 0
        for i, (_, hit) in enumerate(pairs):
            if hit:
                pos += 1
                ap += pos / (i + 1)
        aps.append(ap / total if total else 0.0)
    return np.array(aps)


def test_hand_computed_gap():
    preds = np.array([[0.9, 0.8, 0.1], [0.7, 0.2, 0.6]])
    labels = np.array([[1, 0, 1], [0, 0, 1]])
    # top-2 pairs: .9 hit, .8 miss, .7 miss, .6 hit; positives 3 -> (1/1 + 2/4) / 3
    assert M.gap(preds, labels, top_k=2) == pytest.approx((1 + 0.5) / 3, abs=1e-12)
    assert M.hit_at_one(preds, labels) == pytest.approx(0.5)
    # video 1: top-2 = {0, 1}: 1 of 2 positives; video 2: top-1 = {0}: 0 of 1.
    assert M.perr(preds, labels) == pytest.approx(0.25)


def test_ties_form_one_block():
    preds = np.array([[0.5, 0.5], [0.5, 0.1]])
    labels = np.array([[1, 0], [0, 1]])
    # top-1 pairs: 0.5 (hit or miss, tied) ... every ordering of the tied block gives
    # precision 1/2 at the block end with 1 hit; the 0.1 pair is not in top-1.
    assert M.gap(preds, labels, top_k=1) == pytest.approx(0.5 * 1 / 2)
    shuffled = M.gap(preds[::-1], labels[::-1], top_k=1)
    assert shuffled == M.gap(preds, labels, top_k=1)


def test_video_without_positives_and_all_zero_predictions():
    preds = np.array([[0.9, 0.1], [0.8, 0.3]])
    labels = np.array([[0, 0], [1, 0]])
    # pairs .9 miss, .8 hit -> 1/2 over 1 positive
    assert M.gap(preds, labels, 1) == pytest.approx(0.5)
    assert M.perr(preds, labels) == pytest.approx(0.5)
    zero = np.zeros((3, 4))
    lab = np.eye(4)[:3]
    assert M.gap(zero, lab, 20) == pytest.approx(M.average_precision(np.zeros(12), lab.ravel() > 0, 3))
    assert M.gap(zero, lab, 20) == pytest.approx(3 / 12)
    assert M.gap(preds, np.zeros((2, 2)), 1) == 0.0


def test_k_larger_than_classes_and_invalid_k():
    rng = np.random.default_rng(0)
    preds, labels = rng.random((5, 4)), rng.random((5, 4)) > 0.6
    assert M.gap(preds, labels, 100) == pytest.approx(_reference_gap(preds, labels, 100), abs=1e-12)
    for bad in (0, -3, 2.5):
        with pytest.raises(ValueError, match="`top_k`"):
            M.gap(preds, labels, bad)


@pytest.mark.parametrize("n,c,k", [(1, 5, 3), (30, 50, 20), (200, 100, 20), (50, 3862, 20)])
def test_gap_and_class_ap_match_reference(n, c, k):
    rng = np.random.default_rng(n * c)
    preds = rng.random((n, c))
    labels = (rng.random((n, c)) < 3 / c).astype(int)
    labels[0, 0] = 1
    assert abs(M.gap(preds, labels, k) - _reference_gap(preds, labels, k)) < 1e-9
    if c <= 100:
        acc = M.MetricsAccumulator(num_classes=c, top_k=k)
        acc.add(preds, labels)
        np.testing.assert_allclose(acc.class_aps(), _reference_class_ap(preds, labels, k), atol=1e-9)


def test_streaming_equals_batch_and_merge_order_invariant():
    rng = np.random.default_rng(7)
    preds = rng.random((300, 200)).astype(np.float32)
    labels = (rng.random((300, 200)) < 0.02).astype(int)
    whole = M.MetricsAccumulator(200, 20)
    whole.add(preds, labels)
    parts = []
    for chunk in np.array_split(np.arange(300), 7):
        a = M.MetricsAccumulator(200, 20)
        a.add(preds[chunk], labels[chunk])
        parts.append(a)
    forward = M.MetricsAccumulator(200, 20)
    for p in parts:
        forward.merge(p)
    tree = M.MetricsAccumulator(200, 20)
    left = M.MetricsAccumulator(200, 20).merge(parts[5]).merge(parts[1]).merge(parts[3])
    right = M.MetricsAccumulator(200, 20).merge(parts[6]).merge(parts[0]).merge(parts[4]).merge(parts[2])
    tree.merge(right).merge(left)
    expected = whole.result()
    assert expected["gap"] == pytest.approx(M.gap(preds, labels, 20), abs=1e-12)
    uneven = M.MetricsAccumulator(200, 20)  # an empty part, one video, the rest
    one, rest, empty = (M.MetricsAccumulator(200, 20) for _ in range(3))
    one.add(preds[:1], labels[:1])
    rest.add(preds[1:], labels[1:])
    uneven.merge(empty).merge(rest).merge(one)
    for acc in (forward, tree, uneven):
        got = acc.result()
        for key in expected:
            assert got[key] == pytest.approx(expected[key], abs=1e-12), key
        # what the report reads from a merged accumulator: per-class AP, positives, pairs
        np.testing.assert_allclose(acc.class_aps(), whole.class_aps(), atol=1e-12)
        np.testing.assert_array_equal(acc.positives_per_class, whole.positives_per_class)
        got_pairs, want_pairs = acc.pairs(), whole.pairs()
        for got_a, want_a in zip(got_pairs, want_pairs):
            assert sorted(got_a.tolist()) == sorted(want_a.tolist())


def test_accumulator_rejects_mismatched_merge():
    with pytest.raises(ValueError):
        M.MetricsAccumulator(10, 20).merge(M.MetricsAccumulator(10, 5))


@pytest.mark.parametrize("decimals", [None, 1, 0, "logits"])
def test_top_k_pairs_sampled_path_matches_full_sort(decimals):
    """3862 columns take the grouped-threshold path; heavy ties, constant rows, negative and
    float64 scores included."""
    rng = np.random.default_rng(11)
    preds = rng.random((3000, 3862)).astype(np.float32)
    if decimals == "logits":
        preds = rng.normal(-3.0, 2.0, preds.shape)  # float64, mostly negative
    elif decimals is not None:
        preds = np.round(preds, decimals)  # 0 decimals: rows of only 0s and 1s
    preds[5] = 0.25  # a constant row
    labels = (rng.random(preds.shape) < 0.001).astype(np.int64)
    scores, classes, hits = M.top_k_pairs(preds, labels, 20)
    expected = -np.sort(-preds, axis=1)[:, :20]
    np.testing.assert_array_equal(-np.sort(-scores, axis=1), expected)
    np.testing.assert_array_equal(np.take_along_axis(preds, classes, 1), scores)
    assert all(len(set(row)) == 20 for row in classes)
    np.testing.assert_array_equal(hits, np.take_along_axis(labels, classes, 1) > 0)


def _reference_perr(predictions, labels):
    out = []
    for p, y in zip(predictions, labels):
        n_pos = int((y > 0).sum())
        order = sorted(range(len(p)), key=lambda i: (-p[i], i))[:n_pos]
        out.append(sum(y[i] > 0 for i in order) / n_pos if n_pos else 0.0)
    return np.array(out)


@pytest.mark.parametrize("decimals", [None, 2])
def test_perr_top_k_shortcut_equals_full_sort(decimals):
    """Rows with many positives (> k) and ties at the p-th position take the full-sort path."""
    rng = np.random.default_rng(4)
    preds = rng.random((200, 300))
    if decimals is not None:
        preds = np.round(preds, decimals)
    labels = (rng.random((200, 300)) < 0.02).astype(int)
    labels[:10] = (rng.random((10, 300)) < 0.2)  # ~60 positives: more than k=20
    labels[10:15] = 0
    np.testing.assert_allclose(M.perr_per_video(preds, labels), _reference_perr(preds, labels),
                               atol=1e-12)
