"""Shard pairs of converted videos: ``frame/{prefix}NNNN.tfrecord`` and ``video/{prefix}NNNN.tfrecord``
(the layout `yt8m generate-data` writes and `yt8m pipeline run --data_dir` reads).

A pair appears atomically when complete; a re-run finds complete pairs and skips them (resume).
"""
from __future__ import annotations

import csv
import os
from typing import Iterable

from trainer_module import io_utils
from trainer_module.data import examples
from trainer_module.data import features as F

KINDS = ("frame", "video")


def check_layout(prefix: str, videos_per_shard: int) -> None:
    """Validates the shard naming settings of a job writing shard pairs."""
    if not prefix or os.sep in prefix:
        raise ValueError(f"`prefix` must be a file-name prefix, got {prefix!r}")
    if videos_per_shard < 1:
        raise ValueError(f"`videos_per_shard` must be >= 1, got {videos_per_shard}")


def path(output_dir: str, prefix: str, kind: str, shard: int) -> str:
    return os.path.join(output_dir, kind, f"{prefix}{shard:04d}.tfrecord")


def complete(output_dir: str, prefix: str, shard: int) -> bool:
    """Both files of the shard pair exist (they only ever appear complete)."""
    return all(os.path.exists(path(output_dir, prefix, k, shard)) for k in KINDS)


def pending(output_dir: str, prefix: str, num_shards: int) -> list[int]:
    """Shards of ``range(num_shards)`` not complete."""
    return [s for s in range(num_shards) if not complete(output_dir, prefix, s)]


def write_pair(output_dir: str, prefix: str, shard: int, videos: Iterable) -> int:
    """Writes the videos (``examples.Video``; None entries skipped) as one shard pair; returns
    how many. Nothing appears at the final paths unless every video was written."""
    for kind in KINDS:
        os.makedirs(os.path.join(output_dir, kind), exist_ok=True)
    count = 0
    with io_utils.AtomicWriters() as writers:
        frame_out = writers.tfrecord(path(output_dir, prefix, "frame", shard))
        video_out = writers.tfrecord(path(output_dir, prefix, "video", shard))
        for video in videos:
            if video is not None:
                frame_out.write(examples.frame_sequence_example(video))
                video_out.write(examples.video_example(video))
                count += 1
    return count


def write_labels_csv(output_dir: str, prefix: str, num_shards: int) -> str:
    """``{prefix}_labels.csv`` (``VideoId,Labels``, the format `yt8m score` reads) of every video
    in the video-level shards, those written by earlier runs too."""
    import tensorflow as tf

    from trainer_module.data import records

    rows = []
    for s in range(num_shards):
        for record in records.iterate_records(path(output_dir, prefix, "video", s)):
            feature = tf.train.Example.FromString(record).features.feature
            rows.append((feature[F.ID_KEY].bytes_list.value[0].decode(),
                         " ".join(map(str, feature[F.LABELS_KEY].int64_list.value))))
    out = os.path.join(output_dir, f"{prefix}_labels.csv")
    with io_utils.atomic_path(out) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([("VideoId", "Labels"), *sorted(rows)])
    return out


def write_skipped(output_dir: str, prefix: str, skipped: list) -> str:
    """``{prefix}_skipped.csv``: (input, reason) of each input left out."""
    out = os.path.join(output_dir, f"{prefix}_skipped.csv")
    with io_utils.atomic_path(out) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([("input", "reason"), *skipped])
    return out
