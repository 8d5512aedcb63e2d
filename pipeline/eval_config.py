"""The Evaluator's TFMA config: YT8M metrics, a value threshold and a no-regression gate on the
blessing metric: GAP, or segment MAP@K for a segment model (docs/segments.md)."""
from __future__ import annotations

import json

import tensorflow_model_analysis as tfma

from trainer_module.data import features as F
from trainer_module.export import saved_model as export
from trainer_module.tfx_entry import tfma_metrics
from trainer_module.tfx_entry import tfma_segment_metrics

METRIC_MODULE, METRIC_CLASS = tfma_metrics.__name__, tfma_metrics.YT8MMetrics.__name__
SEGMENT_METRIC_MODULE = tfma_segment_metrics.__name__
SEGMENT_METRIC_CLASS = tfma_segment_metrics.SegmentMap.__name__
EXTRACTORS_MODULE = "trainer_module.tfx_entry.tfma_extractors"  # the Evaluator's module_path


def make_eval_config(top_k: int, gap_threshold: float, change_tolerance: float,
                     frame_level: bool = False, segment_max_pred: int | None = None
                     ) -> tfma.EvalConfig:
    """GAP@top_k, Hit@1, PERR, mAP; blessed iff GAP >= gap_threshold and not worse than the
    last blessed model by more than change_tolerance. ``inference_batch_size`` is the
    records per batch the Evaluator reads (``components.fixed_batch_evaluator``).

    ``segment_max_pred`` (a segment model): the video metrics of each video's best segment
    plus ``segment_map`` (MAP@segment_max_pred, each segment competing for its top_k classes),
    which takes the thresholds."""
    threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": gap_threshold}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -abs(change_tolerance)}))
    metrics = [tfma.MetricConfig(class_name=METRIC_CLASS, module=METRIC_MODULE,
                                 config=json.dumps({"top_k": top_k, "name": "yt8m"}))]
    blessing, signature = tfma_metrics.GAP, export.SIGNATURE
    if segment_max_pred:
        blessing, signature = tfma_segment_metrics.SEGMENT_MAP, export.PER_VIDEO_SIGNATURE
        metrics.append(tfma.MetricConfig(
            class_name=SEGMENT_METRIC_CLASS, module=SEGMENT_METRIC_MODULE,
            config=json.dumps({"k": segment_max_pred, "per_segment": top_k, "name": blessing})))
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name=signature, label_key=F.LABELS_MULTI_HOT,
                                    prediction_key="predictions",
                                    preprocessing_function_names=["transform_features"],
                                    inference_batch_size=F.inference_batch_records(frame_level))],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[tfma.MetricsSpec(metrics=metrics,
                                        thresholds={blessing: threshold})])
