"""Benchmark: GAP@20 on 100,000 x 3862 random predictions, vectorized core vs the seed's algorithm.

Implementations timed on the same arrays, each in a forked child so peak memory is its own:
  * ``metrics.gap`` (vectorized NumPy, one call) and ``MetricsAccumulator`` (streaming, batches
    of 1,000 videos, what ``yt8m eval`` and the TFMA combiner do);
  * the seed's algorithm in pure Python, step by step as eval_util.calculate_gap: per video the
    top-k triplets (a heap top-k, ``heapq.nlargest``, over the row as a list), regrouped by class
    (top_k_by_class), flattened into the AveragePrecisionCalculator's heap, sorted, AP in a loop;
  * the seed's code path as shipped: the same with NumPy ``argpartition`` per video.

Run: .venv/bin/python -m benchmarks.bench_gap [--videos 100000]
"""
from __future__ import annotations

import argparse
import heapq
import multiprocessing
import os
import resource
import time

import numpy as np

from benchmarks import common
from trainer_module.evaluation import metrics as M

K = 20


def _seed_gap(preds: np.ndarray, positives: list[list[int]], top_k_indices) -> float:
    """eval_util.calculate_gap: top_k_by_class, flatten, AveragePrecisionCalculator."""
    num_classes = preds.shape[1]
    triplets = []  # top_k_triplets of every video: (class, score, label)
    for i in range(len(preds)):
        row, pos = preds[i], set(positives[i])
        triplets.extend((c, row[c], 1 if c in pos else 0) for c in top_k_indices(row))
    out_predictions = [[] for _ in range(num_classes)]  # top_k_by_class
    out_labels = [[] for _ in range(num_classes)]
    for c, score, label in triplets:
        out_predictions[c].append(score)
        out_labels[c].append(label)
    num_positives = sum(len(p) for p in positives)
    heap: list[tuple[float, int]] = []  # AveragePrecisionCalculator.accumulate (top_n=None)
    for scores, labels in zip(out_predictions, out_labels):  # flatten
        for score, label in zip(scores, labels):
            heapq.heappush(heap, (float(score), label))
    ranked = sorted(heap, key=lambda t: -t[0])  # AveragePrecisionCalculator.ap
    ap, hits = 0.0, 0
    for rank, (_, label) in enumerate(ranked, start=1):
        if label:
            hits += 1
            ap += hits / rank
    return ap / num_positives


def seed_pure_python(preds: np.ndarray, positives: list[list[int]]) -> float:
    """The seed's algorithm with a pure-Python top-k (heapq over the row as a list)."""
    def top_k(row):
        values = row.tolist()
        return heapq.nlargest(K, range(len(values)), key=values.__getitem__)
    return _seed_gap(preds, positives, top_k)


def seed_numpy_per_video(preds: np.ndarray, positives: list[list[int]]) -> float:
    """The seed's code path: numpy.argpartition per video (top_k_triplets), the rest as above."""
    return _seed_gap(preds, positives, lambda row: np.argpartition(row, -K)[-K:].tolist())


def streaming(preds, labels) -> float:
    acc = M.MetricsAccumulator(preds.shape[1], K)
    for i in range(0, len(preds), 1000):
        acc.add(preds[i:i + 1000], labels[i:i + 1000])
    return acc.result()["gap"]


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _child(fn, args, queue):
    before = _rss_mib()
    start = time.perf_counter()
    value = fn(*args)
    seconds = time.perf_counter() - start
    queue.put((value, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before))


def run_forked(fn, *args):
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=100_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    preds = np.empty((args.videos, 3862), np.float32)  # [n, 3862]
    labels = np.zeros(preds.shape, np.int8)
    positives = []
    for i in range(args.videos):  # 1-4 labels per video
        cls = rng.choice(3862, size=int(rng.integers(1, 5)), replace=False)
        labels[i, cls] = 1
        positives.append(cls.tolist())
    for i in range(0, args.videos, 10_000):  # sigmoid(noise + signal on the positives)
        logits = rng.normal(-6.0, 1.5, (len(preds[i:i + 10_000]), 3862)) + 6.0 * labels[i:i + 10_000]
        preds[i:i + 10_000] = 1.0 / (1.0 + np.exp(-logits))
    cases = [("metrics.gap (vectorized NumPy)", M.gap, (preds, labels, K)),
             ("MetricsAccumulator, batches of 1,000 (GAP, Hit@1, PERR, mAP)", streaming, (preds, labels)),
             ("seed algorithm, pure Python (heapq)", seed_pure_python, (preds, positives)),
             ("seed code path (NumPy argpartition per video)", seed_numpy_per_video,
              (preds, positives))]
    results = [(name, *run_forked(fn, *fn_args)) for name, fn, fn_args in cases]
    reference = results[2]
    rows = []
    for name, value, seconds, extra_mib in results:
        rows.append([name, f"{value:.9f}", f"{abs(value - reference[1]):.1e}", round(seconds, 2),
                     round(reference[2] / seconds, 1), round(extra_mib)])
    common.record("bench_gap", f"GAP@20 on {args.videos:,} x 3862 random predictions",
                  ["implementation", "GAP@20", "abs diff vs pure Python", "seconds",
                   "speed-up vs pure Python", "peak memory above inputs (MiB)"], rows,
                  "Inputs: float32 scores sigmoid(N(-6, 1.5) + 6 * label) (1.5 GB at 100k videos), "
                  "1-4 random positives per video, so GAP is far from 0 and 1. Scores can tie at "
                  "float32 resolution; the seed breaks ties by order, the core ranks tied scores "
                  "as one block: differences stay far below 1e-6. The vectorized core uses up to "
                  "4 threads for its top-k blocks (2 cores here).")


if __name__ == "__main__":
    main()
