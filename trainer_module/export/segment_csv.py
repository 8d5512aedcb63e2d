"""The 2019 segment submission: ``Class,Segments``, one row per class, its best segments
(``video_id:start``) space-separated in descending score (docs/segments.md).

``TopSegments`` keeps, per class, the K best (score, segment) seen so far: candidates are
appended in NumPy arrays and cut back to K per class whenever they outgrow twice what was kept
(at least a million), so memory is bounded by classes x K (and a segment competes only for its
``per_segment`` best classes, as the dataset's inference keeps each segment's top 20), never by
the number of test segments. Equal scores rank by video id, then start time: the ranking does
not depend on the order the segments arrived in, so partial rankings of parts of the data
(``merge``: the Evaluator's Beam combiner) give the ranking of the whole.
"""
from __future__ import annotations

import numpy as np

from trainer_module import io_utils

HEADER = "Class,Segments"
_START_BITS = 20  # a segment's code: video number << 20 | start time (seconds)
_MIN_BUFFER = 1 << 20


class TopSegments:
    """The K best segments of each class, fed batch by batch."""

    def __init__(self, classes, k: int, per_segment: int | None = None):
        if k < 1:
            raise ValueError(f"`k` must be >= 1, got {k}")
        if per_segment is not None and per_segment < 1:
            raise ValueError(f"`per_segment` must be >= 1, got {per_segment}")
        self.classes = np.asarray(sorted(set(int(c) for c in classes)), np.int64)
        self.k, self.per_segment = k, per_segment
        self.videos: list[str] = []  # video ids by number
        self._numbers: dict[str, int] = {}
        self._class = np.empty(0, np.int64)  # candidates: class, score, segment code
        self._score = np.empty(0, np.float32)
        self._code = np.empty(0, np.int64)
        self._limit = _MIN_BUFFER
        self.segments = 0

    def add(self, video_ids, starts, scores: np.ndarray, of_classes: bool = False) -> None:
        """``video_ids`` [n] (str or bytes) and ``starts`` [n] of n segments, ``scores``
        [n, num_classes] of the model, or with ``of_classes`` [n, len(classes)]: the columns of
        ``classes`` only, in their (ascending) order."""
        numbers = np.fromiter((self._number(v) for v in video_ids), np.int64, len(video_ids))
        codes = (numbers << _START_BITS) | np.asarray(starts, np.int64)
        chosen = np.asarray(scores) if of_classes else np.asarray(scores)[:, self.classes]
        n, width = chosen.shape
        if self.per_segment and self.per_segment < width:  # each segment's best classes only
            cols = np.argpartition(-chosen, self.per_segment - 1, axis=1)[:, :self.per_segment]
            rows = np.repeat(np.arange(n), self.per_segment)
            cols = cols.reshape(-1)
        else:
            rows, cols = np.repeat(np.arange(n), width), np.tile(np.arange(width), n)
        self._class = np.concatenate([self._class, self.classes[cols]])
        self._score = np.concatenate([self._score, chosen[rows, cols].astype(np.float32)])
        self._code = np.concatenate([self._code, codes[rows]])
        self.segments += n
        if len(self._code) > self._limit:
            self._prune()

    def _number(self, video_id) -> int:
        vid = video_id.decode("utf-8") if isinstance(video_id, bytes) else str(video_id)
        number = self._numbers.get(vid)
        if number is None:
            number = self._numbers[vid] = len(self.videos)
            self.videos.append(vid)
        return number

    def merge(self, other: "TopSegments") -> "TopSegments":
        """Adds ``other``'s candidates (same classes, k and per_segment); returns self."""
        if (other.k, other.per_segment) != (self.k, self.per_segment) or not np.array_equal(
                other.classes, self.classes):
            raise ValueError("merging TopSegments of different classes, k or per_segment")
        numbers = np.fromiter((self._number(v) for v in other.videos), np.int64,
                              len(other.videos))
        codes = other._code
        renumbered = (numbers[codes >> _START_BITS] << _START_BITS) | (
            codes & ((1 << _START_BITS) - 1)) if len(codes) else codes
        self._class = np.concatenate([self._class, other._class])
        self._score = np.concatenate([self._score, other._score])
        self._code = np.concatenate([self._code, renumbered])
        self.segments += other.segments
        if len(self._code) > self._limit:
            self._prune()
        return self

    def _tie_keys(self) -> np.ndarray:
        """Each candidate's rank among equal scores: its video id's sorted position, then its
        start time."""
        position = np.empty(len(self.videos), np.int64)
        position[np.argsort(np.asarray(self.videos, dtype=object), kind="stable")] = np.arange(
            len(self.videos))
        return (position[self._code >> _START_BITS] << _START_BITS) | (
            self._code & ((1 << _START_BITS) - 1))

    def _prune(self) -> None:
        """Keeps the K best candidates of each class, in ranked order (class, then score
        descending, then video id and start time)."""
        order = np.lexsort((self._tie_keys(), -self._score, self._class))
        cls = self._class[order]
        first = np.r_[0, np.flatnonzero(np.diff(cls)) + 1]  # each class's first position
        rank = np.arange(len(cls)) - np.repeat(first, np.diff(np.r_[first, len(cls)]))
        keep = order[rank < self.k]
        self._class, self._score, self._code = (self._class[keep], self._score[keep],
                                                self._code[keep])
        self._limit = max(2 * len(keep), _MIN_BUFFER)

    def held(self) -> int:
        """Candidates held now (memory: 20 bytes each)."""
        return len(self._code)

    def ranked(self) -> dict:
        """{class: [segment id, ...]} best first (equal scores: by video id, then start), for
        every class that some segment scored for."""
        if len(self._code):
            self._prune()  # leaves the arrays in ranked order
        out: dict = {}
        for label, code in zip(self._class.tolist(), self._code.tolist()):
            out.setdefault(label, []).append(
                f"{self.videos[code >> _START_BITS]}:{code & ((1 << _START_BITS) - 1)}")
        return out


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
