"""yt8m score: the CSV scorer against hand-computed values, the metrics core and bad input."""
import json

import numpy as np
import pytest

from trainer_module.data import features as F
from trainer_module.evaluation import metrics as M
from trainer_module.export import kaggle_csv
from trainer_module.jobs import score as score_job
from yt8m_cli import main as cli


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture
def truth(tmp_path):
    return _write(tmp_path / "labels.csv", ["VideoId,Labels", "aaaa,1 2", "bbbb,3", "cccc,"])


def test_hand_computed_scores_and_missing_rule(tmp_path, truth):
    preds = _write(tmp_path / "p.csv", ["VideoId,LabelConfidencePairs",
                                        "aaaa,1 0.9 5 0.8 2 0.3",  # hit, miss, hit
                                        "cccc,7 0.95"])            # no positives; bbbb missing
    result, _, _ = score_job.score(score_job.ScoreJob(predictions=preds, labels=truth, top_k=20))
    # pooled ranking: .95 miss, .9 hit (1/2), .8 miss, .3 hit (2/4); 3 positives in the truth
    assert result["gap"] == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert result["hit_at_one"] == pytest.approx(1 / 3)
    assert result["perr"] == pytest.approx((1 / 2) / 3)  # aaaa: top-2 holds one of its 2
    assert (result["missing_predictions"], result["num_matched"], result["num_videos"]) == (1, 2, 3)
    # top_k=1 keeps only each row's best pair
    result_k1, _, _ = score_job.score(score_job.ScoreJob(predictions=preds, labels=truth, top_k=1))
    assert result_k1["gap"] == pytest.approx((1 / 2) / 3)


def test_score_equals_metrics_core_on_inference_rows(tmp_path):
    rng = np.random.default_rng(5)
    n = 150
    labels = (rng.random((n, F.NUM_CLASSES)) < 0.001).astype(np.int64)
    labels[np.arange(n), rng.integers(0, F.NUM_CLASSES, n)] = 1
    preds = rng.random((n, F.NUM_CLASSES)).astype(np.float32) * 0.5 + 0.5 * labels
    ids = [f"v{i:03d}" for i in range(n)]
    truth = _write(tmp_path / "t.csv", [f"{v},{' '.join(map(str, np.flatnonzero(lab)))}"
                                        for v, lab in zip(ids, labels)])
    rows = []
    for v, p in zip(ids, preds):
        top = np.argsort(-p, kind="stable")[:20]
        rows.append(kaggle_csv.format_row(v, top, p[top]))
    predictions = _write(tmp_path / "p.csv", [kaggle_csv.CSV_HEADER.strip()] + rows)
    result, class_aps, _ = score_job.score(
        score_job.ScoreJob(predictions=predictions, labels=truth, top_k=20))
    core = M.MetricsAccumulator(F.NUM_CLASSES, 20)
    core.add(preds, labels)
    # the CSV carries scores rounded by %g (6 significant digits): same ranking here
    assert result["gap"] == pytest.approx(M.gap(preds, labels, 20), abs=1e-6)
    assert result["hit_at_one"] == pytest.approx(M.hit_at_one(preds, labels), abs=1e-12)
    assert result["map"] == pytest.approx(core.result()["map"], abs=1e-6)
    np.testing.assert_allclose(class_aps, core.class_aps(), atol=1e-6)


@pytest.mark.parametrize("rows, message", [
    (["aaaa,1 0.9 2"], r"p\.csv:1: expected 'label score' pairs"),
    (["aaaa,1 0.9", "aaaa,2 0.5"], r"p\.csv:2: video id 'aaaa' listed twice"),
    (["zzzz,1 0.9"], r"p\.csv:1: video id 'zzzz' is not in `labels`"),
    (["aaaa,3862 0.9"], r"p\.csv:1: label 3862 outside \[0, 3862\)"),
    (["aaaa,1 nan"], r"p\.csv:1: a confidence is not finite"),
    (["aaaa,1 0.9,extra"], r"p\.csv:1: expected 2 fields"),
    (["aaaa,1 0.9 1 0.5"], r"p\.csv:1: a label is listed twice"),
])
def test_bad_prediction_rows_name_file_and_line(tmp_path, truth, rows, message):
    preds = _write(tmp_path / "p.csv", rows)
    with pytest.raises(ValueError, match=message):
        score_job.score(score_job.ScoreJob(predictions=preds, labels=truth))


def test_bad_label_rows_and_flags(tmp_path):
    preds = _write(tmp_path / "p.csv", ["aaaa,1 0.9"])
    bad = _write(tmp_path / "t.csv", ["VideoId,Labels", "aaaa,1", "aaaa,2"])
    with pytest.raises(ValueError, match=r"t\.csv:3: video id 'aaaa' listed twice"):
        score_job.score(score_job.ScoreJob(predictions=preds, labels=bad))
    bad = _write(tmp_path / "t2.csv", ["aaaa,1 9999"])
    with pytest.raises(ValueError, match=r"t2\.csv:1: label 9999 outside"):
        score_job.score(score_job.ScoreJob(predictions=preds, labels=bad))
    with pytest.raises(ValueError, match="`top_k` must be a positive integer"):
        score_job.ScoreJob(predictions=preds, labels=bad, top_k=0)
    with pytest.raises(ValueError, match="`labels` .*missing.csv: cannot read"):
        score_job.score(score_job.ScoreJob(predictions=preds, labels=str(tmp_path / "missing.csv")))


def test_cli_prints_metrics_writes_json_and_fails_in_one_line(tmp_path, truth, capsys):
    preds = _write(tmp_path / "p.csv", ["aaaa,1 0.9 2 0.8", "bbbb,3 0.7", "cccc,"])
    out_json = tmp_path / "m.json"
    assert cli.main(["score", "--predictions", preds, "--labels", truth,
                     "--output_json", str(out_json), "--per_class", "1"]) == 0
    printed = capsys.readouterr().out
    assert "GAP@20: 1.000000 | Hit@1: 0.666667" in printed
    assert "3 in labels, 3 matched, 0 without predictions" in printed
    assert json.loads(out_json.read_text())["gap"] == 1.0
    bad = _write(tmp_path / "bad.csv", ["aaaa,1 x"])
    assert cli.main(["score", "--predictions", bad, "--labels", truth]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"yt8m score: error: {bad}:1: a confidence is not a number"]
