"""``yt8m convert-mediapipe``: MediaPipe YouTube-8M feature records -> the dataset's shards.

Inputs are TFRecord files of SequenceExamples, or files holding one serialized SequenceExample
each (what MediaPipe's ``extract_yt8m_features`` writes, e.g. ``features.pb``). Output is the
shard-pair layout of ``yt8m extract-features`` (ingest/shards.py), ``videos_per_shard`` videos a
pair in input order. A re-run with the same input files (by content) skips the complete pairs; one
with other inputs or settings into the same folder is refused (``output_folder``). A record that
is not MediaPipe's stops the run with an error naming its file and record (nothing half-written).
"""
from __future__ import annotations

import dataclasses
import glob
import itertools
import os

from trainer_module.data import records
from trainer_module.errors import DataError
from trainer_module.ingest import mediapipe
from trainer_module.ingest import shards as shards_lib
from trainer_module.output_folder import OutputFolder, digest


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConvertJob:
    inputs: tuple[str, ...]  # files or globs
    output_dir: str
    prefix: str = "videos"
    videos_per_shard: int = 100
    overwrite: bool = False  # replace an earlier run's files made from other inputs

    def __post_init__(self):
        if not self.inputs:
            raise ValueError("`inputs`: give MediaPipe feature files or globs")
        shards_lib.check_layout(self.prefix, self.videos_per_shard)


def input_files(patterns) -> list[str]:
    files = []
    for pattern in patterns:
        matches = sorted(m for m in glob.glob(pattern) if os.path.isfile(m))
        if not matches:
            raise ValueError(f"`inputs`: {pattern} matches no file")
        files.extend(m for m in matches if m not in files)
    return files


def serialized_records(path: str):
    """(where, serialized) of each SequenceExample in a TFRecord file, or of the whole file when
    it is not a TFRecord file (one serialized proto): one pass over the file."""
    count = 0
    try:
        for count, record in enumerate(records.iterate_records(path), start=1):
            yield f"{path} record {count - 1}", record
    except records.READ_ERRORS as e:
        if count:
            raise DataError(f"{path}: damaged TFRecord file after record {count} "
                            f"({records.summarize(e)})") from None
    if not count:  # not a TFRecord file, or an empty one: the file is one serialized proto
        with open(path, "rb") as f:
            yield path, f.read()


def run(job: ConvertJob, log=print) -> tuple[int, int]:
    """Returns (videos converted now, shard pairs already complete before). Records are read
    lazily, one shard's worth at a time."""
    files = input_files(job.inputs)
    out = OutputFolder(job.output_dir, f"convert-mediapipe {job.prefix}",
                       {"inputs": {os.path.abspath(f): digest(f) for f in files},
                        "videos_per_shard": job.videos_per_shard},
                       overwrite=job.overwrite).claim()
    items = (item for path in files for item in serialized_records(path))
    seen: dict[str, str] = {}

    def videos(chunk):
        for where, serialized in chunk:
            video, notes = mediapipe.convert(serialized, where)
            for note in notes:
                log(f"convert-mediapipe: warning: {note}")
            if video.vid in seen:
                raise ValueError(f"{where}: video id {video.vid!r} also in {seen[video.vid]}")
            seen[video.vid] = where
            yield video

    count = before = shard = 0
    while chunk := list(itertools.islice(items, job.videos_per_shard)):
        if shards_lib.complete(out, job.prefix, shard):
            before += 1
        else:
            count += shards_lib.write_pair(out, job.prefix, shard, videos(chunk))
        shard += 1
    shards_lib.write_labels_csv(out, job.prefix, shard)
    return count, before
