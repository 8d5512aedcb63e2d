"""Shard pairs of converted videos: ``frame/{prefix}NNNN.tfrecord`` and ``video/{prefix}NNNN.tfrecord``
(the layout `yt8m generate-data` writes and `yt8m pipeline run --data_dir` reads).

A pair appears atomically when complete; a re-run skips the complete pairs its folder's manifest
lists as written by the same run with the same inputs (``output_folder.OutputFolder``: resume by
content, never by file name alone).
"""
from __future__ import annotations

import csv
import os
from typing import Iterable

from trainer_module import io_utils
from trainer_module.data import examples
from trainer_module.data import features as F
from trainer_module.output_folder import OutputFolder

KINDS = ("frame", "video")


def check_layout(prefix: str, videos_per_shard: int) -> None:
    """Validates the shard naming settings of a job writing shard pairs."""
    if not prefix or os.sep in prefix:
        raise ValueError(f"`prefix` must be a file-name prefix, got {prefix!r}")
    if videos_per_shard < 1:
        raise ValueError(f"`videos_per_shard` must be >= 1, got {videos_per_shard}")


def rel(prefix: str, kind: str, shard: int) -> str:
    return os.path.join(kind, f"{prefix}{shard:04d}.tfrecord")


def path(output_dir: str, prefix: str, kind: str, shard: int) -> str:
    return os.path.join(output_dir, rel(prefix, kind, shard))


def complete(out: OutputFolder, prefix: str, shard: int) -> bool:
    """Both files of the shard pair written by this run's earlier attempt (same inputs)."""
    return all(out.owns(rel(prefix, k, shard))
               and os.path.exists(path(out.folder, prefix, k, shard)) for k in KINDS)


def pending(out: OutputFolder, prefix: str, num_shards: int) -> list[int]:
    """Shards of ``range(num_shards)`` not complete."""
    return [s for s in range(num_shards) if not complete(out, prefix, s)]


def write_pair(out: OutputFolder, prefix: str, shard: int, videos: Iterable) -> int:
    """Writes the videos (``examples.Video``; None entries skipped) as one shard pair; returns
    how many. Nothing appears at the final paths unless every video was written."""
    rels = [rel(prefix, kind, shard) for kind in KINDS]
    for name in rels:
        out.will_write(name)
    count = 0
    try:
        with io_utils.AtomicWriters() as writers:
            frame_out = writers.tfrecord(path(out.folder, prefix, "frame", shard))
            video_out = writers.tfrecord(path(out.folder, prefix, "video", shard))
            for video in videos:
                if video is not None:
                    frame_out.write(examples.frame_sequence_example(video))
                    video_out.write(examples.video_example(video))
                    count += 1
    except BaseException:
        out.abandon(rels)
        raise
    for kind in KINDS:
        out.wrote(rel(prefix, kind, shard), videos=count)
    return count


def write_labels_csv(out: OutputFolder, prefix: str, num_shards: int) -> str:
    """``{prefix}_labels.csv`` (``VideoId,Labels``, the format `yt8m score` reads) of every video
    in the video-level shards, those written by earlier runs too."""
    import tensorflow as tf

    from trainer_module.data import records

    rows = []
    for s in range(num_shards):
        for record in records.iterate_records(path(out.folder, prefix, "video", s)):
            feature = tf.train.Example.FromString(record).features.feature
            rows.append((feature[F.ID_KEY].bytes_list.value[0].decode(),
                         " ".join(map(str, feature[F.LABELS_KEY].int64_list.value))))
    return _write_csv(out, f"{prefix}_labels.csv", [("VideoId", "Labels"), *sorted(rows)])


def write_skipped(out: OutputFolder, prefix: str, skipped: list) -> str:
    """``{prefix}_skipped.csv``: (input, reason) of each input left out."""
    return _write_csv(out, f"{prefix}_skipped.csv", [("input", "reason"), *skipped])


def _write_csv(out: OutputFolder, name: str, rows: list) -> str:
    out.will_write(name)
    target = os.path.join(out.folder, name)
    try:
        with io_utils.atomic_path(target) as tmp:
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerows(rows)
    except BaseException:
        out.abandon([name])
        raise
    out.wrote(name)
    return target
