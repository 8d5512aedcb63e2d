"""The segment submission: per-class top K in bounded memory equals a full sort; written and read
back; malformed rows named."""
import numpy as np
import pytest

from trainer_module.export import segment_csv as SC


@pytest.mark.parametrize("k, per_segment", [(1, None), (5, None), (1000, None), (5, 2),
                                            (1000, 40)])
def test_top_k_per_class_equals_a_full_sort(k, per_segment, monkeypatch):
    monkeypatch.setattr(SC, "_MIN_BUFFER", 64)  # prune often
    rng = np.random.default_rng(k)
    classes = [3, 7, 1831] + list(range(100, 160))
    top = SC.TopSegments(classes, k, per_segment)
    candidates = []  # (class, score, order of arrival, id)
    for batch in range(6):
        vids = [f"v{batch}{i // 4:03d}" for i in range(50)]
        starts = [5 * (i % 4) for i in range(50)]
        scores = rng.random((50, 3862)).astype(np.float32)
        scores[:, 7] = 0.5  # ties: the earlier segment first
        top.add(vids, starts, scores)
        for i in range(50):
            row = scores[i, classes]
            best = set(np.argsort(-row, kind="stable")[:per_segment or len(classes)])
            # with ties at the cut (class 7), argpartition may choose either: none are cut here
            for j, c in enumerate(classes):
                if j in best or per_segment is None:
                    candidates.append((c, float(scores[i, c]), batch * 50 + i,
                                       f"{vids[i]}:{starts[i]}"))
        assert top.held() <= max(2 * len(classes) * k, 64) + 50 * len(classes)
    ranked = top.ranked()
    for c in classes:
        mine = sorted((x for x in candidates if x[0] == c), key=lambda x: (-x[1], x[2]))[:k]
        if per_segment is None or c != 7:
            assert ranked.get(c, []) == [x[3] for x in mine], c
    assert top.segments == 300 and len(top.videos) == 6 * 13


def test_write_read_round_trip_and_bad_rows(tmp_path):
    path = tmp_path / "segments.csv"
    ranked = {7: ["ab:5", "cd:0"], 3: ["ab:10"], 9: []}
    assert SC.write(str(path), ranked) == 3
    assert path.read_text().splitlines() == ["Class,Segments", "3,ab:10", "7,ab:5 cd:0", "9,"]
    assert SC.read(str(path)) == ranked
    for text, said in (("Class,Segments\nx,ab:5\n", ":2: expected 'class,video_id:start"),
                       ("Class,Segments\n3,ab\n", ":2: 'ab' is not video_id:start_time"),
                       ("Class,Segments\n3,ab:5\n3,cd:0\n", ":3: class 3 listed twice"),
                       ("VideoId,LabelConfidencePairs\n", ":1: expected the header")):
        path.write_text(text)
        with pytest.raises(ValueError, match=None) as e:
            SC.read(str(path))
        assert str(e.value).startswith(str(path)) and said in str(e.value)


@pytest.mark.parametrize("k, per_segment", [(3, None), (1000, 4)])
def test_merged_parts_rank_as_the_whole_whatever_the_order(k, per_segment, monkeypatch):
    """The Evaluator's combiner ranks parts of the data and merges them: the same ranking as one
    pass, ties (equal scores) included, in any order of arrival."""
    monkeypatch.setattr(SC, "_MIN_BUFFER", 32)
    rng = np.random.default_rng(3)
    classes = [3, 7, 11, 12]
    vids = [f"v{i // 3:02d}" for i in range(60)]
    starts = [5 * (i % 3) for i in range(60)]
    scores = np.round(rng.random((60, 20)), 1).astype(np.float32)  # many ties
    whole = SC.TopSegments(classes, k, per_segment)
    whole.add(vids, starts, scores)
    order = rng.permutation(60)
    parts = [SC.TopSegments(classes, k, per_segment) for _ in range(3)]
    for part, rows in zip(parts, np.array_split(order, 3)):
        part.add([vids[i] for i in rows], [starts[i] for i in rows], scores[rows])
    merged = parts[2].merge(parts[0]).merge(parts[1])
    assert merged.ranked() == whole.ranked() and merged.segments == 60
    with pytest.raises(ValueError, match="different classes"):
        merged.merge(SC.TopSegments([3], k, per_segment))


def test_scores_of_the_classes_only_rank_as_full_scores():
    """The Evaluator passes each segment's scores of the segment classes only (of_classes)."""
    rng = np.random.default_rng(5)
    classes = [3, 7, 11, 12]
    scores = rng.random((30, 20)).astype(np.float32)
    vids, starts = [f"v{i // 3}" for i in range(30)], [5 * (i % 3) for i in range(30)]
    full, narrow = SC.TopSegments(classes, 4, 2), SC.TopSegments(classes, 4, 2)
    full.add(vids, starts, scores)
    narrow.add(vids, starts, scores[:, classes], of_classes=True)
    assert narrow.ranked() == full.ranked() and len(full.ranked()) == 4
