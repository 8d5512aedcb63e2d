"""The 2019 segment submission: ``Class,Segments``, one row per class, its best segments
(``video_id:start``) space-separated in descending score (docs/segments.md).

``TopSegments`` keeps, per class, a min-heap of the K best (score, segment) seen so far: memory
is classes x K whatever the number of test segments; a batch adds only the scores above a full
heap's smallest.
"""
from __future__ import annotations

import heapq

import numpy as np

from trainer_module import io_utils

HEADER = "Class,Segments"


class TopSegments:
    """The K best segments of each class, fed batch by batch."""

    def __init__(self, classes, k: int):
        if k < 1:
            raise ValueError(f"`k` must be >= 1, got {k}")
        self.classes = np.asarray(sorted(set(int(c) for c in classes)), np.int64)
        self.k = k
        self.heaps: dict[int, list] = {int(c): [] for c in self.classes}

    def add(self, segment_ids, scores: np.ndarray) -> None:
        """``segment_ids`` [n] strings, ``scores`` [n, num_classes] of the model."""
        chosen = np.asarray(scores)[:, self.classes]  # [n, classes]
        for column, label in enumerate(self.classes):
            heap = self.heaps[int(label)]
            values = chosen[:, column]
            rows = np.flatnonzero(values > heap[0][0]) if len(heap) >= self.k \
                else np.arange(len(values))
            for row in rows:
                item = (float(values[row]), segment_ids[row])
                if len(heap) < self.k:
                    heapq.heappush(heap, item)
                elif item > heap[0]:
                    heapq.heapreplace(heap, item)

    def ranked(self) -> dict:
        """{class: [segment id, ...]} best first (equal scores: by segment id, descending)."""
        return {label: [s for _, s in sorted(heap, reverse=True)]
                for label, heap in self.heaps.items()}


def write(path: str, ranked: dict) -> int:
    """Writes the submission atomically (classes in order); returns the rows."""
    with io_utils.atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as out:
        out.write(HEADER + "\n")
        for label in sorted(ranked):
            out.write(f"{label},{' '.join(ranked[label])}\n")
    return len(ranked)


def read(path: str) -> dict:
    """{class: [segment id, ...]} of a submission; ValueError naming the file and line."""
    out: dict = {}
    for number, line in enumerate(io_utils.text_lines(path, "segment submission"), start=1):
        line = line.strip()
        if number == 1:
            if line.replace(" ", "") not in (HEADER, "ClassId,SegmentIds"):
                raise ValueError(f"{path}:1: expected the header {HEADER!r}, got "
                                 f"{io_utils.shorten(line)!r}")
            continue
        if not line:
            continue
        label, _, segments = line.partition(",")
        if not label.strip().isdigit():
            raise ValueError(f"{path}:{number}: expected 'class,video_id:start ...', got "
                             f"{io_utils.shorten(line)!r}")
        ids = segments.split()
        bad = next((s for s in ids if not _is_segment_id(s)), None)
        if bad is not None:
            raise ValueError(f"{path}:{number}: {io_utils.shorten(bad)!r} is not "
                             "video_id:start_time")
        if int(label) in out:
            raise ValueError(f"{path}:{number}: class {int(label)} listed twice")
        out[int(label)] = ids
    return out


def _is_segment_id(text: str) -> bool:
    video, sep, start = text.rpartition(":")
    return bool(sep and video and start.isdigit())
