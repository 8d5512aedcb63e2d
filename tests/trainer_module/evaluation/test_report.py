"""The HTML report: embedded plots, label names or ids, nothing fetched from the network."""
import os
import shutil
import subprocess

import numpy as np
import pytest

from trainer_module.data import features as F
from trainer_module.evaluation import metrics as M
from trainer_module.evaluation import report


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    labels = (rng.random((300, F.NUM_CLASSES)) < 3 / F.NUM_CLASSES).astype(np.int64)
    labels[:, 0] = 1  # one frequent class
    logits = rng.normal(-6, 1.5, labels.shape) + 6 * labels
    preds = (1 / (1 + np.exp(-logits))).astype(np.float32)
    return preds, labels, report.reduce_predictions(preds, labels)


def test_reduced_data_matches_metrics_core(data):
    preds, labels, reduced = data
    assert reduced.metrics["gap"] == pytest.approx(M.gap(preds, labels, 20), abs=1e-9)
    np.testing.assert_array_equal(reduced.labels_per_video, labels.sum(axis=1))
    recall, precision = report.precision_recall(reduced.pooled_scores, reduced.pooled_hits,
                                                int(labels.sum()))
    assert (np.diff(recall) >= 0).all() and 0 < recall[-1] <= 1 and precision[0] in (0.0, 1.0)


def test_streamed_small_batches_equal_one_batch(data):
    """RunReport streams batches of 64 records: the reduction must not depend on batching."""
    preds, labels, whole = data
    streamed = report.reduce_predictions(preds, labels, batch=7)
    assert streamed.metrics == pytest.approx(whole.metrics, abs=1e-12)
    np.testing.assert_allclose(streamed.class_aps, whole.class_aps, atol=1e-12)
    np.testing.assert_array_equal(streamed.labels_per_video, whole.labels_per_video)
    np.testing.assert_array_equal(np.sort(streamed.pooled_scores), np.sort(whole.pooled_scores))
    assert report.reduce_batches([], 20).metrics["num_videos"] == 0


def test_page_is_self_contained_with_names_or_ids(data):
    _, _, reduced = data
    names = tuple(f"name-{i}" for i in range(F.NUM_CLASSES))
    page = report.render("t", reduced, [("run 1", 0.3), ("run 2", 0.4)], names, {"model": "m"})
    assert page.count("src='data:image/png;base64,") == 4  # history, PR, AP vs freq, labels
    assert "<td>name-" in page and "<td>class " not in page
    assert f"{reduced.metrics['gap']:.4f}" in page
    for remote in ("http://", "https://", "<script", "<link", "@import", "url("):
        assert remote not in page
    anonymous = report.render("t", reduced)
    assert "<td>class " in anonymous and "name-" not in anonymous
    assert anonymous.count("data:image/png;base64,") == 3  # no history given


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(not CHROMIUM, reason="headless Chromium not installed (Debian: chromium)")
def test_report_renders_in_headless_chromium(data, tmp_path):
    _, _, reduced = data
    page = tmp_path / "report.html"
    page.write_text(report.render("yt8m report", reduced, [("a", 0.3), ("b", 0.5)]))
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
                    f"--screenshot={shot}", "--window-size=1280,1800", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    assert shot.exists() and os.path.getsize(shot) > 50_000  # plots drawn, not a blank page
