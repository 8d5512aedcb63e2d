"""Parsing serialized YT8M records into model inputs, in TensorFlow.

Two steps, shared by every path:
  1. ``parse_serialized``: serialized tf.Example / tf.SequenceExample batch -> raw feature dict
     (dense floats for video level, ragged per-frame byte strings for frame level, sparse labels).
     Transform's ExampleGen/TFXIO produces the same raw dict, so step 2 also runs inside
     ``preprocessing_fn``: one implementation of dequantization, padding and multi-hot labels.
  2. ``to_model_inputs``: raw dict -> {features, num_frames, labels_multi_hot, video_id}.
"""
from __future__ import annotations

import tensorflow as tf

from trainer_module.data import features as F
from trainer_module.data import segments as S


def _id_specs() -> dict:
    """Both id keys (2018 ``id``, 2017 ``video_id``), empty when absent: see ``video_ids``."""
    return {key: tf.io.FixedLenFeature([], tf.string, default_value="") for key in F.ID_KEYS}


def example_feature_spec(spec: F.FeatureSpec, with_labels: bool = True) -> dict:
    """tf.io feature spec of a video-level tf.Example."""
    out = _id_specs()
    for name, size in zip(spec.names, spec.sizes):
        out[name] = tf.io.FixedLenFeature([size], tf.float32)
    if with_labels:
        out[F.LABELS_KEY] = tf.io.VarLenFeature(tf.int64)
    return out


def sequence_feature_specs(spec: F.FeatureSpec, with_labels: bool = True,
                           segments: bool = False) -> tuple[dict, dict]:
    """(context, sequence) specs of a frame-level tf.SequenceExample; ``segments``: also the
    2019 segment ratings (data/segments.py)."""
    context = _id_specs()
    if with_labels:
        context[F.LABELS_KEY] = tf.io.VarLenFeature(tf.int64)
    if segments:
        context[S.LABELS_KEY] = tf.io.VarLenFeature(tf.int64)
        context[S.START_TIMES_KEY] = tf.io.VarLenFeature(tf.int64)
        context[S.SCORES_KEY] = tf.io.VarLenFeature(tf.float32)
    # int64 row splits: the transform graph expects them (int32 fails against it).
    sequence = {name: tf.io.RaggedFeature(tf.string, row_splits_dtype=tf.int64) for name in spec.names}
    return context, sequence


def parse_serialized(serialized: tf.Tensor, spec: F.FeatureSpec, with_labels: bool = True,
                     segments: bool = False) -> dict:
    """Parses a batch of serialized records ([batch] string) into the raw feature dict
    (``segments``: frame level, with the segment ratings)."""
    if not spec.frame_level:
        return tf.io.parse_example(serialized, example_feature_spec(spec, with_labels))
    context_spec, sequence_spec = sequence_feature_specs(spec, with_labels, segments)
    context, sequences, _ = tf.io.parse_sequence_example(serialized, context_spec, sequence_spec)
    return {**context, **sequences}


def multi_hot(labels: tf.SparseTensor, num_classes: int = F.NUM_CLASSES) -> tf.Tensor:
    """Sparse label ids [batch, None] -> multi-hot float32 [batch, num_classes].

    An id outside [0, NUM_CLASSES) fails at run time (InvalidArgumentError "indices[i] = id is
    not in [0, 3862)", records.summarize words it): the check is a gather, not an Assert op,
    because TFT counts the inputs of any Assert as analyzer inputs and would then read the
    data instead of running the in-place Transform. A video without labels (or a batch of
    them) gives zero rows.
    """
    checked = tf.gather(tf.range(num_classes, dtype=labels.values.dtype), labels.values)
    ids = tf.sparse.to_dense(tf.SparseTensor(labels.indices, checked, labels.dense_shape),
                             default_value=-1)  # [batch, max_labels]
    one_hot = tf.one_hot(ids, num_classes, dtype=tf.float32)  # -1 -> zero row
    if one_hot.shape.rank != 3:
        return one_hot
    # [batch, NUM_CLASSES]; a sum (not a max) so that an empty id axis gives 0, not -inf.
    return tf.minimum(tf.reduce_sum(one_hot, axis=1), 1.0)


def _frame_bytes(ragged: tf.RaggedTensor, name: str, size: int, max_frames: int):
    """Ragged per-frame byte strings -> (uint8 [kept_frames, size], row_splits [batch + 1]).

    Frames beyond ``max_frames`` are dropped before decoding; every frame must hold ``size`` bytes.
    """
    if ragged.ragged_rank == 2:  # TFXIO gives [batch, frames, 1]
        ragged = tf.RaggedTensor.from_row_splits(ragged.flat_values, ragged.row_splits,
                                                  validate=False)

    def trim():  # copies every kept frame's string: only when some video is too long
        kept = ragged[:, :max_frames]
        return kept.flat_values, kept.row_splits

    splits = ragged.row_splits
    flat, splits = tf.cond(tf.reduce_max(splits[1:] - splits[:-1]) > max_frames, trim,
                           lambda: (ragged.flat_values, splits))  # [kept_frames] string, [b + 1]
    splits = fail_unless(tf.strings.length(flat) == size, splits,
                         f"frame feature {name!r}: every frame must hold exactly {size} bytes")
    return tf.io.decode_raw(flat, tf.uint8, fixed_length=size), splits


def fail_unless(ok: tf.Tensor, carrier: tf.Tensor, message: str) -> tf.Tensor:
    """``carrier`` unchanged, or an InvalidArgumentError naming ``message`` at run time when
    ``ok`` is false anywhere ("StringToNumberOp could not correctly convert string: <message>";
    records.summarize keeps the message).

    A stateless check on purpose: TFT counts the inputs of stateful ops (Assert, CheckNumerics)
    as analyzer inputs and then reads the data instead of running the in-place Transform. Carry
    it on a small tensor (row splits), so that the check costs nothing per frame.
    """
    zero = tf.strings.to_number(tf.where(tf.reduce_all(ok), "0", message), out_type=tf.int32)
    return carrier + tf.cast(zero, carrier.dtype)


def _frame_features(raw: dict, spec: F.FeatureSpec):
    """(dequantized frames [batch, max_frames, dim] zero-padded, num_frames [batch] int32).

    The features are concatenated while still uint8 and dequantized once, then padded: the
    float work is one fused dequantization and one padding copy per kept frame.
    """
    parts, splits = [], None
    for name, size in zip(spec.names, spec.sizes):
        decoded, row_splits = _frame_bytes(raw[name], name, size, spec.max_frames)
        if splits is not None:
            row_splits = fail_unless(
                row_splits == splits, row_splits,
                f"frame feature {name!r}: frame count differs from {spec.names[0]!r}")
        parts.append(decoded)
        splits = row_splits
    values = F.dequantize_tf(tf.concat(parts, axis=-1) if len(parts) > 1 else parts[0])
    frames = tf.RaggedTensor.from_row_splits(values, splits, validate=False)  # [b, (frames), dim]
    dense = frames.to_tensor(default_value=0.0, shape=[None, spec.max_frames, spec.dim])
    return dense, tf.cast(frames.row_lengths(), tf.int32)


def video_ids(raw: dict) -> tf.Tensor:
    """[batch] ids from whichever id keys the raw dict holds: ``id`` (2018 records) where it is
    set, else ``video_id`` (2017 records)."""
    present = [tf.reshape(raw[key], [-1]) for key in F.ID_KEYS if key in raw]
    if not present:
        raise ValueError(f"the records' schema has no video id ({' or '.join(F.ID_KEYS)})")
    ids = present[0]
    for other in present[1:]:
        ids = tf.where(ids != "", ids, other)
    return ids


def to_model_inputs(raw: dict, spec: F.FeatureSpec, with_labels: bool = True) -> dict:
    """Raw feature dict -> model inputs.

    Returns:
      {FEATURES: [batch, dim] or [batch, max_frames, dim] float32, NUM_FRAMES: [batch] int32,
       VIDEO_ID: [batch] string, and LABELS_MULTI_HOT: [batch, NUM_CLASSES] when with_labels}.
    """
    video_id = video_ids(raw)
    if spec.frame_level:
        features, num_frames = _frame_features(raw, spec)  # [batch, max_frames, dim], [batch]
    else:
        parts = []
        for name, size in zip(spec.names, spec.sizes):
            parts.append(tf.ensure_shape(tf.cast(raw[name], tf.float32), [None, size]))
        features = tf.concat(parts, axis=-1)  # [batch, dim]
        features = fail_unless(tf.math.is_finite(features), features,
                               f"features {','.join(spec.names)}: NaN or infinity (every value "
                               "must be a finite number)")
        num_frames = tf.ones_like(video_id, dtype=tf.int32)
    out = {F.FEATURES: features, F.NUM_FRAMES: num_frames, F.VIDEO_ID: video_id}
    if with_labels:
        out[F.LABELS_MULTI_HOT] = multi_hot(raw[F.LABELS_KEY], spec.num_classes)
    return out


def parse_batch(serialized: tf.Tensor, spec: F.FeatureSpec, with_labels: bool = True) -> dict:
    """parse_serialized followed by to_model_inputs."""
    return to_model_inputs(parse_serialized(serialized, spec, with_labels), spec, with_labels)


def _gather_segments(frames, num_frames, seg_video, seg_start) -> tuple:
    """(features [segments, 5, dim] zero-padded past each video's end, frames in each segment
    [segments] int32) of the segments ``(seg_video, seg_start)`` (both [segments] int64) of
    ``frames`` [b, max_frames, dim] with ``num_frames`` [b]."""
    padded = tf.pad(frames, [[0, 0], [0, S.SEGMENT_FRAMES], [0, 0]])  # reads past the end: 0
    offsets = tf.range(S.SEGMENT_FRAMES, dtype=tf.int64)
    gather = tf.stack([tf.repeat(seg_video[:, None], S.SEGMENT_FRAMES, axis=1),
                       seg_start[:, None] + offsets[None, :]], axis=-1)  # [segments, 5, 2]
    lengths = tf.cast(tf.gather(num_frames, seg_video), tf.int64) - seg_start
    return (tf.gather_nd(padded, gather),
            tf.cast(tf.clip_by_value(lengths, 0, S.SEGMENT_FRAMES), tf.int32))


def checked_ratings(raw: dict, num_frames: tf.Tensor, spec: F.FeatureSpec) -> tuple:
    """(start times, labels, scores) sparse [b, ratings] of the raw dict, failing at run time
    (fail_unless: the record is then named by records.corruption_named) where the three lists
    differ in length, a start time is outside the video's frames, a score is not in [0, 1] or
    a label is outside the classes."""
    starts, labels, scores = raw[S.START_TIMES_KEY], raw[S.LABELS_KEY], raw[S.SCORES_KEY]
    batch = tf.shape(num_frames)[0]

    def per_row(sparse):  # [b] entries of each record
        return tf.math.bincount(tf.cast(sparse.indices[:, 0], tf.int32), minlength=batch,
                                maxlength=batch)

    same = tf.reduce_all(per_row(starts) == per_row(labels)) & tf.reduce_all(
        per_row(starts) == per_row(scores))
    values = fail_unless(same, starts.values,
                         f"{S.LABELS_KEY}, {S.START_TIMES_KEY} and {S.SCORES_KEY} differ in "
                         "length (expected one entry each per rating)")
    frames = tf.cast(tf.gather(num_frames, tf.cast(starts.indices[:, 0], tf.int32)), tf.int64)
    values = fail_unless((values >= 0) & (values < frames), values,
                         f"a segment start time is outside its video's frames (or past "
                         f"max_frames {spec.max_frames})")
    score = scores.values
    values = fail_unless((score >= 0.0) & (score <= 1.0), values,
                         "a segment score is not 1 (present) or 0 (rated absent)")
    label = fail_unless((labels.values >= 0) & (labels.values < spec.num_classes), labels.values,
                        f"a {S.LABELS_KEY} id is outside [0, {spec.num_classes})")
    return (tf.SparseTensor(starts.indices, values, starts.dense_shape),
            tf.SparseTensor(labels.indices, label, labels.dense_shape), scores)


def to_segment_inputs(raw: dict, spec: F.FeatureSpec) -> dict:
    """Raw frame-level dict with segment ratings -> one row per rated segment, as the dataset's
    reader builds them (``readers.py``, ``segment_labels=True``): the 5 frames from the start
    time, the rated classes' scores as labels and weight 1 on them (unrated classes weigh 0).
    Inconsistent ratings fail at run time (``checked_ratings``).

    Returns:
      {FEATURES: [segments, 5, dim], NUM_FRAMES: [segments] int32 (fewer than 5 when the video
       ends inside the segment), VIDEO_ID: [segments], SEGMENT_START: [segments] int64,
       LABELS_MULTI_HOT: [segments, num_classes] scores, LABEL_WEIGHTS: [segments, num_classes]}.
    """
    frames, num_frames = _frame_features(raw, spec)  # [b, max_frames, dim], [b]
    return rated_segments(frames, num_frames, video_ids(raw),
                          *checked_ratings(raw, num_frames, spec), spec)


def rated_segments(frames, num_frames, ids, starts, labels, scores,
                   spec: F.FeatureSpec) -> dict:
    """``to_segment_inputs`` from dense frames [b, max_frames, dim], ``num_frames`` [b], ``ids``
    [b] and checked ratings (sparse [b, ratings]); the Trainer's path from the Transform's
    outputs."""
    num_frames = tf.cast(num_frames, tf.int32)
    video = starts.indices[:, 0]  # [ratings] the rating's video
    key = video * (spec.max_frames + 1) + starts.values  # checked: below the frame count
    unique, segment = tf.unique(key, out_idx=tf.int64)  # a segment per (video, start)
    seg_video = unique // (spec.max_frames + 1)  # [segments]
    seg_start = unique % (spec.max_frames + 1)
    labels_in_range = tf.gather(tf.range(spec.num_classes, dtype=tf.int64), labels.values)
    features, seg_frames = _gather_segments(frames, num_frames, seg_video, seg_start)
    count = tf.shape(unique, out_type=tf.int64)[0]
    where = tf.stack([segment, labels_in_range], axis=1)  # [ratings, 2]
    shape = tf.stack([count, spec.num_classes])
    return {
        F.FEATURES: features,
        F.NUM_FRAMES: seg_frames,
        F.VIDEO_ID: tf.gather(ids, seg_video),
        S.SEGMENT_START: seg_start,
        # a (segment, class) rated twice adds up: capped at 1 (data/segments.check refuses it)
        F.LABELS_MULTI_HOT: tf.minimum(tf.scatter_nd(where, scores.values, shape), 1.0),
        S.LABEL_WEIGHTS: tf.minimum(
            tf.scatter_nd(where, tf.ones_like(scores.values), shape), 1.0),
    }


def to_all_segments(raw: dict, spec: F.FeatureSpec, with_labels: bool = False) -> dict:
    """Raw frame-level dict -> every 5-frame segment of every video (start times 0, 5, 10, ...
    below the video's frame count; the last one zero-padded), as the dataset's inference scores
    them (``inference.py``, ``get_segments``).

    Returns:
      {FEATURES: [segments, 5, dim], NUM_FRAMES: [segments] int32, VIDEO_ID: [segments],
       SEGMENT_START: [segments] int64, SEGMENT_VIDEO: [segments] int32 (the video's row in the
       batch), RECORD_ID: [b] the videos' ids, and with_labels: LABELS_MULTI_HOT [b, num_classes]
       of the videos}.
    """
    frames, num_frames = _frame_features(raw, spec)  # [b, max_frames, dim], [b]
    out = all_segments(frames, num_frames, video_ids(raw), spec)
    if with_labels:
        out[F.LABELS_MULTI_HOT] = multi_hot(raw[F.LABELS_KEY], spec.num_classes)
    return out


def all_segments(frames, num_frames, ids, spec: F.FeatureSpec) -> dict:
    """``to_all_segments`` (without labels) from dense frames [b, max_frames, dim],
    ``num_frames`` [b] and ``ids`` [b]; the pipeline's serving path from the Transform's
    outputs."""
    num_frames = tf.cast(num_frames, tf.int32)
    starts = tf.range(0, spec.max_frames, S.SEGMENT_FRAMES, dtype=tf.int64)  # [max segments]
    valid = starts[None, :] < tf.cast(num_frames, tf.int64)[:, None]  # [b, max segments]
    where = tf.where(valid)  # [segments, 2]: (video, segment number)
    seg_video, seg_start = where[:, 0], tf.gather(starts, where[:, 1])
    features, seg_frames = _gather_segments(frames, num_frames, seg_video, seg_start)
    return {F.FEATURES: features, F.NUM_FRAMES: seg_frames, F.VIDEO_ID: tf.gather(ids, seg_video),
            S.SEGMENT_START: seg_start, S.SEGMENT_VIDEO: tf.cast(seg_video, tf.int32),
            S.RECORD_ID: ids}


def parse_segments(serialized: tf.Tensor, spec: F.FeatureSpec, rated: bool,
                   with_labels: bool = True) -> dict:
    """A batch of serialized frame-level records -> ``to_segment_inputs`` (``rated``: the rated
    segments, for training) or ``to_all_segments`` (every segment, for eval and inference)."""
    context_spec, sequence_spec = sequence_feature_specs(spec, with_labels, segments=rated)
    context, sequences, _ = tf.io.parse_sequence_example(serialized, context_spec, sequence_spec)
    raw = {**context, **sequences}
    return to_segment_inputs(raw, spec) if rated else to_all_segments(raw, spec, with_labels)
