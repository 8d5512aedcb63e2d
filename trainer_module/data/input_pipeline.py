"""tf.data input pipeline over YT8M TFRecord shards (the CLI's train / eval / inference path).

Glob of many files -> parallel interleave -> batch -> batched parse + dequantize + pad -> prefetch.
Training shuffles files and records with the given seed; element order never depends on thread
timing (deterministic interleave and map), so a seeded run sees the same batches every time.
"""
from __future__ import annotations

import tensorflow as tf

from trainer_module.data import features as F
from trainer_module.data import parsing
from trainer_module.data import records
from trainer_module.data import segments as S

VIDEOS_PER_PARSE = 32  # segment mode: videos parsed together (32 x 300 frames x 1152 floats: 44 MB)


def list_files(data_pattern: str, flag: str = "`data_pattern`") -> list[str]:
    """Expands a comma-separated list of glob patterns.

    Raises:
      FileNotFoundError: when nothing matches (naming the flag and the pattern).
    """
    patterns = [p.strip() for p in data_pattern.split(",") if p.strip()]
    if not patterns:
        raise ValueError(f"{flag} is empty: expected a glob such as /data/train*.tfrecord")
    files: list[str] = []
    for pattern in patterns:
        matched = sorted(f for f in tf.io.gfile.glob(pattern) if not tf.io.gfile.isdir(f))
        if not matched:
            raise FileNotFoundError(f"{flag}: no files match {pattern!r}")
        files.extend(matched)
    return files


def make_dataset(files: list[str], spec: F.FeatureSpec, batch_size: int, *, training: bool,
                 num_epochs: int | None = 1, with_labels: bool = True, seed: int | None = None,
                 compression: str | None = None, shuffle_buffer: int | None = None,
                 skip_corrupt: bool = False,
                 report: records.ReadReport | None = None) -> tf.data.Dataset:
    """Batches of model inputs (dicts, see parsing.to_model_inputs).

    Args:
      files: TFRecord paths.
      spec: which features to read and whether they are frame-level.
      batch_size: videos per batch (the last batch may be smaller).
      training: shuffle files and records and repeat ``num_epochs`` times (None = forever).
      with_labels: parse labels (False for the unlabeled test split).
      skip_corrupt: read damaged files up to their first bad record (see records.py);
        ``report`` then lists them.
    """
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be >= 1, got {batch_size}")
    ds = records.record_dataset(files, skip_corrupt, compression, report, interleave=True,
                                shuffle_seed=seed, shuffle_files=training)
    if training:
        ds = ds.shuffle(shuffle_buffer or F.shuffle_buffer_records(spec, batch_size), seed=seed)
        ds = ds.repeat(num_epochs)
    ds = ds.batch(batch_size)
    ds = ds.map(lambda s: parsing.parse_batch(s, spec, with_labels),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return F.with_ram_budget(ds.prefetch(tf.data.AUTOTUNE), spec, batch_size)


def split_inputs(batch: dict):
    """(model inputs {features, num_frames}, multi-hot labels) from a parsed batch."""
    return {F.FEATURES: batch[F.FEATURES], F.NUM_FRAMES: batch[F.NUM_FRAMES]}, batch[F.LABELS_MULTI_HOT]


def make_segment_dataset(files: list[str], spec: F.FeatureSpec, batch_size: int, *,
                         training: bool, rated: bool, num_epochs: int | None = 1,
                         with_labels: bool = True, seed: int | None = None,
                         skip_corrupt: bool = False,
                         report: records.ReadReport | None = None) -> tf.data.Dataset:
    """Batches of 5-frame segments of frame-level records (docs/segments.md).

    ``rated``: the rated segments only (parsing.to_segment_inputs: scores as labels, the rated
    classes weighted), re-batched to ``batch_size`` segments, shuffled when ``training``. Else
    every segment of every video (parsing.to_all_segments), one batch per
    ``batch_size // 60`` videos (at most 60 segments each), with the videos' labels when
    ``with_labels``. The records are read whole (up to features.MAX_FRAMES frames).
    """
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be >= 1, got {batch_size}")
    read = S.read_spec(spec)
    ds = records.record_dataset(files, skip_corrupt, None, report, interleave=True,
                                shuffle_seed=seed, shuffle_files=training)
    if training:
        ds = ds.shuffle(F.shuffle_buffer_records(read, batch_size), seed=seed).repeat(num_epochs)
    videos = VIDEOS_PER_PARSE if rated else max(1, batch_size // (F.MAX_FRAMES // S.SEGMENT_FRAMES))
    ds = ds.batch(videos).map(lambda s: parsing.parse_segments(s, read, rated, with_labels),
                              num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if rated:
        ds = rebatch_segments(ds, batch_size, training, seed)
    return ds.prefetch(tf.data.AUTOTUNE)


def rebatch_segments(ds: tf.data.Dataset, batch_size: int, training: bool,
                     seed: int | None) -> tf.data.Dataset:
    """Rated segments cut per group of videos -> batches of ``batch_size`` segments, shuffled
    across groups when ``training`` (the CLI's and the pipeline Trainer's segment batches)."""
    ds = ds.unbatch()
    if training:
        ds = ds.shuffle(min(4 * batch_size, 8192), seed=seed)
    return ds.batch(batch_size)


def split_segment_inputs(batch: dict):
    """(model inputs, rated scores, label weights) from a batch of rated segments."""
    return ({F.FEATURES: batch[F.FEATURES], F.NUM_FRAMES: batch[F.NUM_FRAMES]},
            batch[F.LABELS_MULTI_HOT], batch[S.LABEL_WEIGHTS])
