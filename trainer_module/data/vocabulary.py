"""YouTube-8M ``vocabulary.csv``: class names and training frequencies by class index.

Columns used: ``Index`` (0..3861), ``TrainVideoCount``, ``Name``. Rows are validated with the
file and line in the error.
"""
from __future__ import annotations

import csv
import dataclasses
import os

import numpy as np

from trainer_module import io_utils
from trainer_module.data import features as F


@dataclasses.dataclass(frozen=True)
class Vocabulary:
    names: tuple[str, ...]  # [NUM_CLASSES], "" for classes the file does not list
    train_counts: np.ndarray  # float64 [NUM_CLASSES], 0 where unknown

    def name(self, index: int) -> str:
        return self.names[index] or f"class {index}"


def load(path: str) -> Vocabulary:
    """Reads a vocabulary.csv (UTF-8, a byte-order mark allowed); ValueError naming path:line
    for bad rows, or the file and byte for text that is not UTF-8."""
    names = [""] * F.NUM_CLASSES
    counts = np.zeros(F.NUM_CLASSES)
    if os.path.isdir(path):
        raise ValueError(f"`vocabulary` {path} is a folder; expected vocabulary.csv")
    try:
        rows = csv.DictReader(io_utils.text_lines(path, "`vocabulary`"))
        for line_no, row in enumerate(rows, start=2):
            try:
                index = int(row["Index"])
                if not 0 <= index < F.NUM_CLASSES:
                    raise IndexError
                counts[index] = float(row.get("TrainVideoCount") or 0)
                if not np.isfinite(counts[index]) or counts[index] < 0:
                    raise ValueError
                names[index] = (row.get("Name") or "").strip()
            except (KeyError, ValueError, IndexError, TypeError):
                raise ValueError(f"{path}:{line_no}: expected an Index column in "
                                 f"[0, {F.NUM_CLASSES}) and a TrainVideoCount that is a "
                                 "finite number >= 0") from None
    except OSError as e:
        raise ValueError(f"`vocabulary` {path}: cannot read ({e.strerror})") from None
    return Vocabulary(tuple(names), counts)
