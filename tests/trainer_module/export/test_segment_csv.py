"""The segment submission: per-class top K in bounded memory equals a full sort; written and read
back; malformed rows named."""
import numpy as np
import pytest

from trainer_module.export import segment_csv as SC


@pytest.mark.parametrize("k", [1, 5, 1000])
def test_heaps_equal_a_full_sort(k):
    rng = np.random.default_rng(k)
    classes = [3, 7, 1831]
    top = SC.TopSegments(classes, k)
    all_ids, all_scores = [], []
    for batch in range(6):
        ids = [f"v{batch}{i:03d}:{5 * (i % 4)}" for i in range(50)]
        scores = rng.random((50, 3862)).astype(np.float32)
        top.add(ids, scores)
        all_ids += ids
        all_scores.append(scores)
    scores = np.concatenate(all_scores)
    for c in classes:
        order = sorted(range(len(all_ids)), key=lambda i: (float(scores[i, c]), all_ids[i]),
                       reverse=True)[:k]
        assert top.ranked()[c] == [all_ids[i] for i in order]
    assert all(len(h) <= k for h in top.heaps.values())


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
