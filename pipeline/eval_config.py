"""The Evaluator's TFMA config: YT8M metrics, a GAP value threshold and a no-regression gate."""
from __future__ import annotations

import json

import tensorflow_model_analysis as tfma

from trainer_module.data import features as F

METRIC_MODULE = "trainer_module.tfx_entry.tfma_metrics"
METRIC_CLASS = "YT8MMetrics"
EXTRACTORS_MODULE = "trainer_module.tfx_entry.tfma_extractors"  # the Evaluator's module_path


def make_eval_config(top_k: int, gap_threshold: float, change_tolerance: float,
                     frame_level: bool = False) -> tfma.EvalConfig:
    """GAP@top_k, Hit@1, PERR, mAP; blessed iff GAP >= gap_threshold and not worse than the
    last blessed model by more than change_tolerance. ``inference_batch_size`` is the
    records per batch the Evaluator reads (``components.fixed_batch_evaluator``)."""
    threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": gap_threshold}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -abs(change_tolerance)}))
    metrics = [tfma.MetricConfig(class_name=METRIC_CLASS, module=METRIC_MODULE,
                                 config=json.dumps({"top_k": top_k, "name": "yt8m"}))]
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name="serving_default", label_key=F.LABELS_MULTI_HOT,
                                    prediction_key="predictions",
                                    preprocessing_function_names=["transform_features"],
                                    inference_batch_size=F.inference_batch_records(frame_level))],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[tfma.MetricsSpec(metrics=metrics,
                                        thresholds={"gap": threshold})])
