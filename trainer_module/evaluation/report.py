"""A self-contained HTML report of one evaluated model: metrics, history and per-class analysis.

Everything is computed from eval predictions and labels with the metrics module; the plots are
PNGs embedded as base64 data URIs (no scripts, fonts or other network resources), so the page
renders offline, in the Kubeflow/Vertex UI and as a CI artifact.

Sections: headline metrics; GAP over runs or checkpoints; best and worst classes by AP (label
names from vocabulary.csv when given, else class ids); AP vs class frequency; a precision-recall
curve of the pooled top-k predictions; a histogram of labels per video.
"""
from __future__ import annotations

import base64
import dataclasses
import html
import io

import numpy as np

from trainer_module.data import features as F
from trainer_module.evaluation import metrics as M


@dataclasses.dataclass
class ReportData:
    """What the report needs, reduced from predictions [n, C] and labels [n, C]."""

    metrics: dict
    class_aps: np.ndarray  # [C]
    positives_per_class: np.ndarray  # [C]
    pooled_scores: np.ndarray  # [n * k] top-k scores of every video
    pooled_hits: np.ndarray  # [n * k]
    labels_per_video: np.ndarray  # [n]
    top_k: int = M.DEFAULT_TOP_K  # GAP@top_k; predictions kept per video


def reduce_batches(batches, top_k: int = M.DEFAULT_TOP_K,
                   num_classes: int = F.NUM_CLASSES) -> ReportData:
    """Streams (predictions [b, C], labels [b, C]) batches into ReportData: memory grows by
    about 9 * top_k bytes per video, never by a [n, C] matrix."""
    acc = M.MetricsAccumulator(num_classes, top_k)
    labels_per_video = []
    for predictions, labels in batches:
        acc.add(predictions, labels)
        labels_per_video.append((np.asarray(labels) > 0).sum(axis=1))
    scores, _, hits = acc.pairs()
    counts = np.concatenate(labels_per_video) if labels_per_video else np.zeros(0, np.int64)
    return ReportData(acc.result(), acc.class_aps(), acc.positives_per_class.copy(), scores, hits,
                      counts, top_k)


def reduce_predictions(predictions: np.ndarray, labels: np.ndarray,
                       top_k: int = M.DEFAULT_TOP_K, batch: int = 4096) -> ReportData:
    """reduce_batches over in-memory predictions and labels [n, C]."""
    return reduce_batches(((predictions[i:i + batch], labels[i:i + batch])
                           for i in range(0, len(predictions), batch)), top_k,
                          predictions.shape[1])


def precision_recall(scores: np.ndarray, hits: np.ndarray, total_positives: int):
    """(recall, precision) along the pooled ranking, highest scores first."""
    order = np.argsort(-scores, kind="stable")
    cum_hits = np.cumsum(hits[order])
    ranks = np.arange(1, len(order) + 1)
    return cum_hits / max(total_positives, 1), cum_hits / ranks


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _plots(data: ReportData, history: list[tuple[str, float]]) -> dict:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    if history:
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.plot(range(len(history)), [g for _, g in history], marker="o")
        ax.set_xticks(range(len(history)), [h for h, _ in history], rotation=45, ha="right",
                      fontsize=7)
        ax.set_ylabel(f"GAP@{data.top_k}"), ax.set_title("GAP over runs / checkpoints")
        out["history"] = _png(fig)
    present = data.positives_per_class > 0
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.scatter(data.positives_per_class[present], data.class_aps[present], s=6, alpha=0.5)
    ax.set_xscale("log"), ax.set_xlabel("videos with the class (eval split)")
    ax.set_ylabel("AP"), ax.set_title("Per-class AP vs class frequency")
    out["ap_vs_freq"] = _png(fig)
    recall, precision = precision_recall(data.pooled_scores, data.pooled_hits,
                                         int(data.positives_per_class.sum()))
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(recall, precision)
    ax.set_xlabel("recall"), ax.set_ylabel("precision"), ax.set_xlim(0, 1), ax.set_ylim(0, 1.02)
    ax.set_title(f"Precision-recall of the pooled top-{data.top_k} predictions")
    out["pr"] = _png(fig)
    fig, ax = plt.subplots(figsize=(5, 3))
    counts = data.labels_per_video
    ax.hist(counts, bins=np.arange(0, max(int(counts.max(initial=0)), 1) + 2) - 0.5)
    ax.set_xlabel("labels per video"), ax.set_ylabel("videos"), ax.set_title("Labels per video")
    out["labels"] = _png(fig)
    return out


def _class_table(title: str, classes: np.ndarray, data: ReportData, name_of) -> str:
    rows = "".join(
        f"<tr><td>{int(c)}</td><td>{html.escape(name_of(int(c)))}</td>"
        f"<td>{data.class_aps[c]:.3f}</td><td>{int(data.positives_per_class[c])}</td></tr>"
        for c in classes)
    return (f"<h3>{html.escape(title)}</h3><table><tr><th>id</th><th>label</th><th>AP</th>"
            f"<th>videos</th></tr>{rows}</table>")


def render(title: str, data: ReportData, history: list[tuple[str, float]] | None = None,
           label_names: tuple[str, ...] | None = None, details: dict | None = None,
           num_classes_shown: int = 15) -> str:
    """The HTML page as a string."""
    def name_of(c: int) -> str:
        return (label_names[c] if label_names and label_names[c] else f"class {c}")

    plots = _plots(data, history or [])
    m = data.metrics
    headline = "".join(f"<div class='metric'><b>{html.escape(k)}</b><span>{v}</span></div>"
                       for k, v in ((f"GAP@{data.top_k}", f"{m['gap']:.4f}"),
                                    ("Hit@1", f"{m['hit_at_one']:.4f}"),
                                    ("PERR", f"{m['perr']:.4f}"), ("mAP", f"{m['map']:.4f}"),
                                    ("videos", f"{m['num_videos']:,}")))
    info = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in (details or {}).items())
    present = np.flatnonzero(data.positives_per_class > 0)
    order = present[np.argsort(-data.class_aps[present], kind="stable")]
    img = lambda key, alt: (f"<img alt='{alt}' src='{plots[key]}'>" if key in plots else "")  # noqa: E731
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
.metric {{ display: inline-block; margin: 0 1.5em 1em 0; }}
.metric b {{ display: block; font-size: 0.8em; color: #666; }}
.metric span {{ font-size: 1.6em; }}
table {{ border-collapse: collapse; margin-bottom: 1em; }}
td, th {{ border: 1px solid #ccc; padding: 2px 8px; text-align: left; font-size: 0.9em; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 1em; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<div>{headline}</div>
<table>{info}</table>
<div class="grid">{img("history", "GAP history")}{img("pr", "precision-recall curve")}</div>
<div class="grid">
<div>{_class_table("Best classes by AP", order[:num_classes_shown], data, name_of)}</div>
<div>{_class_table("Worst classes by AP", order[::-1][:num_classes_shown], data, name_of)}</div>
</div>
<div class="grid">{img("ap_vs_freq", "AP vs class frequency")}{img("labels", "labels per video")}</div>
<p>{len(present)} of {F.NUM_CLASSES} classes occur in the evaluated videos.
Generated by yt8m-tfx.</p>
</body></html>
"""
