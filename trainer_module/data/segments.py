"""Segment ratings of the 2019 YouTube-8M records (docs/segments.md): the context keys, the
segment length, and the one check of a record's ratings.

A rating is (start time, class, score): the 5 frames ``[start, start + 5)`` were rated for the
class, score 1.0 present, 0.0 absent. The three context lists are parallel, one entry a rating.
"""
from __future__ import annotations

import dataclasses
import math
import os

from trainer_module import io_utils
from trainer_module.data import features as F

LABELS_KEY = "segment_labels"  # int64 list
START_TIMES_KEY = "segment_start_times"  # int64 list, seconds (= frames at 1 frame/s)
SCORES_KEY = "segment_scores"  # float list
RATING_KEYS = (START_TIMES_KEY, LABELS_KEY, SCORES_KEY)  # the order of parsing.checked_ratings
SEGMENT_FRAMES = 5
# model-input keys of a segment batch, beside features.FEATURES / NUM_FRAMES / VIDEO_ID /
# LABELS_MULTI_HOT (there: the rated scores)
SEGMENT_START = "segment_start"  # [segments] int64
LABEL_WEIGHTS = "label_weights"  # [segments, classes] float32: 1 where rated, else 0
SEGMENT_VIDEO = "segment_video"  # [segments] int32: the segment's video's row in its batch
RECORD_ID = "record_id"  # [batch] the ids of the records every segment was cut from
# The dataset's segment vocabulary: the 1,000 classes the 2019 ratings and submissions use
# (google/youtube-8m's segment_label_ids.csv: an `Index` header, one class id per line).
SEGMENT_LABEL_IDS = os.path.join(os.path.dirname(__file__), "segment_label_ids.csv")


def read_spec(spec: F.FeatureSpec) -> F.FeatureSpec:
    """The spec segments are cut from: the model's features over whole videos (MAX_FRAMES
    frames; a segment model's own spec has 5)."""
    return F.FeatureSpec(spec.names, spec.sizes, True, F.MAX_FRAMES, spec.num_classes)


@dataclasses.dataclass(frozen=True, order=True)
class Rating:
    start: int
    label: int
    score: float


def check(labels, starts, scores, num_frames: int, where: str,
          classes: frozenset | None = None) -> list[Rating]:
    """The ratings of one record, sorted; a ValueError naming ``where`` for lists that do not
    describe segments of this video (never a silent misassignment).

    Args:
      labels, starts, scores: the record's three context lists.
      num_frames: the record's frame count.
      classes: the vocabulary the labels must belong to (default: the 3862 classes).
    """
    if not len(labels) == len(starts) == len(scores):
        raise ValueError(f"{where}: {LABELS_KEY}, {START_TIMES_KEY} and {SCORES_KEY} have "
                         f"{len(labels)}, {len(starts)} and {len(scores)} entries; expected one "
                         "each per rating")
    out = []
    for label, start, score in zip(labels, starts, scores):
        label, start, score = int(label), int(start), float(score)
        if not 0 <= start < num_frames:
            raise ValueError(f"{where}: segment start time {start} is outside the video's "
                             f"{num_frames} frames")
        inside = label in classes if classes is not None else 0 <= label < F.NUM_CLASSES
        if not inside:
            raise ValueError(f"{where}: segment label {label} is not in the "
                             f"{'segment vocabulary' if classes is not None else 'classes'}")
        if not (math.isfinite(score) and 0.0 <= score <= 1.0):
            raise ValueError(f"{where}: segment score {score} for label {label} at {start}; "
                             "expected 1 (present) or 0 (rated absent)")
        out.append(Rating(start, label, score))
    if len(set((r.start, r.label) for r in out)) != len(out):
        raise ValueError(f"{where}: a segment is rated twice for one label")
    return sorted(out)


def from_sequence_example(example, where: str, classes: frozenset | None = None) -> list[Rating]:
    """The checked ratings of a parsed ``tf.train.SequenceExample`` (frames counted in ``rgb``)."""
    context = example.context.feature

    def values(key, kind):
        return list(getattr(context[key], kind).value) if key in context else []

    num_frames = len(example.feature_lists.feature_list["rgb"].feature)
    return check(values(LABELS_KEY, "int64_list"), values(START_TIMES_KEY, "int64_list"),
                 values(SCORES_KEY, "float_list"), num_frames, where, classes)


def load_class_ids(path: str | None = None) -> frozenset:
    """The class ids of a segment vocabulary file (default: the dataset's 1,000); lines that are
    not an integer (the ``Index`` header) are skipped, as the dataset's inference does.

    Raises:
      ValueError: an id outside the 3,862 classes, or no id at all, naming the file and line.
    """
    path = path or SEGMENT_LABEL_IDS
    ids = set()
    for number, line in enumerate(io_utils.text_lines(path, "segment vocabulary"), start=1):
        text = line.strip()
        if not text.lstrip("-").isdigit():
            continue
        if not 0 <= int(text) < F.NUM_CLASSES:
            raise ValueError(f"segment vocabulary {path}:{number}: class {text} is outside "
                             f"[0, {F.NUM_CLASSES})")
        ids.add(int(text))
    if not ids:
        raise ValueError(f"segment vocabulary {path}: no class ids (expected one integer per "
                         "line, as segment_label_ids.csv)")
    return frozenset(ids)
