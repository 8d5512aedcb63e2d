"""Every 5-second segment of frame-level records scored by a model and ranked per class: the one
function behind ``yt8m inference --segment_labels`` (the submission) and ``yt8m eval
--segment_labels`` (its MAP@K against the ratings), so that the two agree (docs/segments.md).

Any frame-level model scores segments: it is rebuilt on one 5-frame segment with its trained
weights (model_flags.segment_model), whether it was trained on segments or on whole videos.
"""
from __future__ import annotations

import dataclasses
import os
import time

import numpy as np
import tensorflow as tf

from trainer_module.data import features as F
from trainer_module.data import input_pipeline
from trainer_module.data import parsing
from trainer_module.data import records
from trainer_module.data import segments as S
from trainer_module.errors import DataError
from trainer_module.evaluation import metrics as M
from trainer_module.export import segment_csv
from trainer_module.train import checkpoints
from trainer_module.train import model_flags as MF


@dataclasses.dataclass(frozen=True)
class Settings:
    """The segment task's settings of ``eval`` and ``inference`` (the dataset's flag names)."""

    max_pred: int = 100_000  # K: segments kept per class (the 2019 challenge's)
    label_ids_file: str | None = None  # the classes ranked (default: the dataset's 1,000)

    def __post_init__(self):
        if self.max_pred < 1:
            raise ValueError(f"`segment_max_pred` must be >= 1, got {self.max_pred}")

    def classes(self) -> frozenset:
        return S.load_class_ids(self.label_ids_file)


@dataclasses.dataclass
class Ranking:
    top: segment_csv.TopSegments
    videos: int
    seconds: float
    video_metrics: dict | None  # GAP etc. of each video's best segment, when labels were read

    @property
    def segments_per_sec(self) -> float:
        return self.top.segments / max(self.seconds, 1e-9)


def load_model(flags: MF.ModelFlags, checkpoint: str, field: str):
    """``flags``' model on one segment with the weights of ``checkpoint`` (a train_dir's
    checkpoint or an export's ``saved_model/variables/variables``)."""
    if checkpoints.has_float16_weights(checkpoint):
        raise ValueError(f"`{field}`: a float16 export (weights frozen into its graph) cannot be "
                         "rebuilt on segments; use the train_dir or a float32 .tgz")
    return checkpoints.restore_model(MF.segment_model(flags), checkpoint)


def export_checkpoint(model_dir: str) -> str:
    """The variables of an export (a train_dir's ``export/step_N`` or an unpacked .tgz)."""
    return os.path.join(model_dir, "saved_model", "variables", "variables")


def rank(model, files: list[str], spec: F.FeatureSpec, classes, k: int,
         per_segment: int | None, batch_size: int, with_labels: bool = False,
         skip_corrupt: bool = False, log=print) -> Ranking:
    """Scores every segment of ``files`` (``spec``: the model's features) and keeps the ``k``
    best per class of ``classes``, each segment competing for its ``per_segment`` best classes.

    Raises:
      DataError: no records, a video id in two records, or a record that does not parse (named).
    """
    read = S.read_spec(spec)
    report = records.ReadReport()
    ds = input_pipeline.make_segment_dataset(files, spec, batch_size, training=False, rated=False,
                                             with_labels=with_labels, skip_corrupt=skip_corrupt,
                                             report=report)
    top = segment_csv.TopSegments(classes, k, per_segment)
    acc = M.MetricsAccumulator(spec.num_classes, M.DEFAULT_TOP_K) if with_labels else None

    @tf.function(reduce_retracing=True)
    def predict(x):
        return model(x, training=False)

    start, videos = time.time(), 0
    logged = start
    with records.corruption_named(
            files, lambda b: parsing.parse_segments(b, read, False, with_labels)):
        for batch in ds:
            vids = batch[F.VIDEO_ID].numpy()
            seg_video = batch[S.SEGMENT_VIDEO].numpy()
            preds = predict({F.FEATURES: batch[F.FEATURES],
                             F.NUM_FRAMES: batch[F.NUM_FRAMES]}).numpy()  # [segments, classes]
            fresh = len(top.videos)
            top.add(vids, batch[S.SEGMENT_START].numpy(), preds)
            batch_videos = len(np.unique(seg_video))
            if len(top.videos) - fresh != batch_videos:
                raise DataError(f"a video id appears twice in {len(files)} files ({files[0]} "
                                "...): each video must be in one shard once")
            videos += batch_videos
            if acc is not None:
                labels = batch[F.LABELS_MULTI_HOT].numpy()  # [videos, classes]
                best = np.zeros_like(labels)
                np.maximum.at(best, seg_video, preds)  # a video's score: its best segment's
                acc.add(best, labels)
            if log and time.time() - logged > 10:
                logged = time.time()
                log(f"segments scored: {top.segments} of {videos} videos; "
                    f"{top.segments / max(logged - start, 1e-9):.0f} segments/s")
    for line in report.lines(videos, "videos") if log else ():
        log(line)
    if videos == 0:
        raise DataError(f"no records to score in {len(files)} files ({files[0]} ...): "
                        "empty split?")
    metrics = acc.result() if acc is not None and acc.positives_per_class.any() else None
    return Ranking(top, videos, time.time() - start, metrics)
