"""Segment MAP@K for TFMA: the blessing metric of a segment pipeline (docs/segments.md).

Referenced from the EvalConfig as ``MetricConfig(class_name='SegmentMap',
module='trainer_module.tfx_entry.tfma_segment_metrics', config='{"k": 100000, "per_segment":
20}')`` with a ModelSpec on the segment model's ``segments_per_video`` signature
(export/saved_model.py) and its ``transform_features`` (the ratings, -1 padded). The combiner
ranks every segment of every video with the CLI's ``TopSegments`` (K per class, each segment
competing for its ``per_segment`` best classes; partial rankings merge into the whole's) and
scores the ranking with ``segment_metrics.segment_map`` against the ratings it collected: the
value ``yt8m eval --segment_labels`` computes for the same model and records.
"""
from __future__ import annotations

import numpy as np
from tensorflow_model_analysis.metrics import metric_types

from trainer_module import beam_trace
from trainer_module.data import features as F
from trainer_module.data import segments as S
from trainer_module.evaluation import segment_metrics as SM
from trainer_module.export import saved_model as export
from trainer_module.export import segment_csv
from trainer_module.tfx_entry import tfma_metrics

SEGMENT_MAP = "segment_map"
_FLUSH_VIDEOS = 64  # videos buffered before TopSegments takes them (one NumPy pass per flush)


def _scalar(value):
    return np.asarray(value).reshape(-1)[0]


class _Combiner(tfma_metrics.BufferingCombiner):
    """Beam CombineFn over StandardMetricInputs -> {segment_map key: MAP@K}."""

    def __init__(self, key, model_name: str, k: int, per_segment: int):
        self._key, self._model_name = key, model_name
        self._k, self._per_segment = k, per_segment
        self._classes = np.asarray(sorted(S.load_class_ids()), np.int64)

    def create_accumulator(self):
        return {"top": segment_csv.TopSegments(self._classes, self._k, self._per_segment),
                "ratings": {}, "ids": [], "starts": [], "scores": []}

    def _flush(self, state):
        if state["ids"]:
            scores = np.concatenate(state["scores"])  # [segments, segment classes]
            state["top"].add(state["ids"], np.asarray(state["starts"], np.int64), scores,
                             of_classes=True)
            state["ids"], state["starts"], state["scores"] = [], [], []
        return state

    def add_input(self, state, element):
        beam_trace.note("Evaluator")
        predictions = element.get_predictions(self._model_name)
        features = element.get_transformed_features(self._model_name)
        video = _scalar(features[F.VIDEO_ID])
        video = video.decode("utf-8") if isinstance(video, bytes) else str(video)
        frames = int(_scalar(features[F.NUM_FRAMES]))
        slots = min(-(-frames // S.SEGMENT_FRAMES), export.MAX_SEGMENTS)
        scores = np.asarray(predictions[export.SEGMENT_SCORES], np.float32)  # [60, classes]
        if scores.shape[-1] != len(self._classes):
            raise ValueError(f"{export.SEGMENT_SCORES}: {scores.shape[-1]} classes, the segment "
                             f"vocabulary has {len(self._classes)}")
        state["ids"] += [video] * slots
        state["starts"] += range(0, slots * S.SEGMENT_FRAMES, S.SEGMENT_FRAMES)
        state["scores"].append(scores[:slots])
        starts, labels, values = (np.asarray(features[k]).reshape(-1) for k in S.RATING_KEYS)
        for start, label, value in zip(starts.tolist(), labels.tolist(), values.tolist()):
            if label >= 0:  # -1: the signature's padding
                state["ratings"][(SM.segment_id(video, start), int(label))] = float(value)
        if len(state["ids"]) >= _FLUSH_VIDEOS * export.MAX_SEGMENTS:
            self._flush(state)
        return state

    def _merge(self, merged, other) -> None:
        merged["top"].merge(other["top"])
        merged["ratings"].update(other["ratings"])

    def extract_output(self, state):
        state = self._flush(state)
        return {self._key: SM.segment_map(state["top"].ranked(), state["ratings"], self._k).map}


def _computations(k: int = SM.DEFAULT_K, per_segment: int = 20, name: str = SEGMENT_MAP,
                  model_names=None, example_weighted=False, **_unused):
    computations = []
    for model_name in model_names or [""]:
        key = metric_types.MetricKey(name=name, model_name=model_name,
                                     example_weighted=example_weighted or None)
        preprocessor = metric_types.TransformedFeaturePreprocessor(  # the ratings, ids, frames
            feature_keys=[F.VIDEO_ID, F.NUM_FRAMES, *S.RATING_KEYS],
            model_names=[model_name] if model_name else None)
        computations.append(metric_types.MetricComputation(
            keys=[key], preprocessors=[preprocessor],
            combiner=_Combiner(key, model_name, k, per_segment)))
    return computations


class SegmentMap(metric_types.Metric):
    """Segment MAP@k (key ``segment_map``), each segment competing for its ``per_segment`` best
    classes, as ``yt8m eval --segment_labels``."""

    def __init__(self, k: int = SM.DEFAULT_K, per_segment: int = 20, name: str = SEGMENT_MAP):
        super().__init__(_computations, k=k, per_segment=per_segment, name=name)

    def get_config(self):
        return {k: self.kwargs[k] for k in ("k", "per_segment", "name")}
