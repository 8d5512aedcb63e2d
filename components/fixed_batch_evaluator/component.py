"""FixedBatchEvaluator: TFX's Evaluator reading its examples in batches of a fixed size.

TFX's Evaluator reads every split through ``tfxio.BeamSource()`` without a batch size, so Beam's
``BatchElements`` grows the batches with the input, up to tfx_bsl's cap of 1,000 records (a
1,000-record batch of full-length frame-level records is ~350 MB of bytes before decoding, and
TFMA keeps each batch's extracts until its examples are combined). A 180-video split never
reaches that cap, a large split always does: the Evaluator's memory grew with the data. TFX has
no setting for it, so this executor runs TFX's own ``Do`` with the examples' TFXIO factory
wrapped to fix ``BeamSource``'s batch size at the eval config's ``ModelSpec.inference_batch_size``
(``pipeline/eval_config.py``: 64 frame-level or 256 video-level records). The wrapping replaces the name
``tfxio_utils`` inside the evaluator executor's module only, for the duration of one ``Do`` (a
local runner runs one component at a time; on Kubeflow every component has its own process).
Everything else, outputs and properties included, is TFX's Evaluator.

It also takes the blessing thresholds as run-time parameters (``yt8m_gap_threshold``,
``yt8m_gap_change_tolerance``: execution properties of their own, components/run_parameters.py),
written into the eval config's thresholds of the blessing metric (``gap``, or ``segment_map``
for a segment model) before TFX's ``Do``.
"""
from __future__ import annotations

import contextlib
import types

import tensorflow_model_analysis as tfma
from tfx.components.evaluator import component as evaluator_component
from tfx.components.evaluator import executor as evaluator_executor
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_component_specs as specs
from tfx.utils import proto_utils

from components import run_parameters
from trainer_module.tfx_entry import tfma_metrics
from trainer_module.tfx_entry import tfma_segment_metrics

# the metrics a threshold may be on: GAP, or a segment model's segment MAP
BLESSING_KEYS = (tfma_metrics.GAP, tfma_segment_metrics.SEGMENT_MAP)
THRESHOLD, TOLERANCE = "yt8m_gap_threshold", "yt8m_gap_change_tolerance"
EvaluatorSpec = run_parameters.extend_spec(specs.EvaluatorSpec, "YT8MEvaluatorSpec",
                                           {THRESHOLD: float, TOLERANCE: float})


class _FixedBatchTFXIO:
    """A TFXIO whose BeamSource() reads batches of ``batch_size`` records; otherwise the TFXIO."""

    def __init__(self, tfxio, batch_size: int):
        self._tfxio, self._batch_size = tfxio, batch_size

    def BeamSource(self, batch_size=None):  # noqa: N802 (TFXIO's name)
        return self._tfxio.BeamSource(batch_size or self._batch_size)

    def __getattr__(self, name):
        return getattr(self._tfxio, name)


@contextlib.contextmanager
def fixed_source_batches(batch_size: int):
    """Within the block, the evaluator executor's TFXIO sources read ``batch_size`` records per
    batch."""
    tfxio_utils = evaluator_executor.tfxio_utils

    def factory_from_artifact(*args, **kwargs):
        make = tfxio_utils.get_tfxio_factory_from_artifact(*args, **kwargs)
        return lambda file_pattern: _FixedBatchTFXIO(make(file_pattern), batch_size)

    wrapped = types.SimpleNamespace(**vars(tfxio_utils))
    wrapped.get_tfxio_factory_from_artifact = factory_from_artifact
    evaluator_executor.tfxio_utils = wrapped
    try:
        yield
    finally:
        evaluator_executor.tfxio_utils = tfxio_utils


def source_batch_records(exec_properties: dict) -> int:
    """The largest ``inference_batch_size`` of the Evaluator's model specs; 0 when unset."""
    config_json = exec_properties.get(specs.EVAL_CONFIG_KEY)
    if not config_json:
        return 0
    config = proto_utils.json_to_proto(config_json, tfma.EvalConfig())
    return max((spec.inference_batch_size for spec in config.model_specs), default=0)


def apply_thresholds(exec_properties: dict) -> dict:
    """The exec properties TFX's Evaluator takes: the run-time thresholds written into every
    threshold on a BLESSING_KEYS metric of the eval config (value: lower bound; change:
    -tolerance)."""
    rest, given = run_parameters.pop_parameters(exec_properties, (THRESHOLD, TOLERANCE))
    if not given:
        return rest
    config = proto_utils.json_to_proto(rest[specs.EVAL_CONFIG_KEY], tfma.EvalConfig())
    threshold, tolerance = given.get(THRESHOLD), given.get(TOLERANCE)
    if threshold is not None and not 0 <= threshold <= 1:
        raise ValueError(f"run-time parameter `gap_threshold` must be in [0, 1], got {threshold}")
    if tolerance is not None and not tolerance >= 0:
        raise ValueError(f"run-time parameter `gap_change_tolerance` must be >= 0, got "
                         f"{tolerance}")
    for metrics_spec in config.metrics_specs:
        for key in BLESSING_KEYS:
            if key not in metrics_spec.thresholds:
                continue
            bound = metrics_spec.thresholds[key]
            if threshold is not None:
                bound.value_threshold.lower_bound.value = float(threshold)
            if tolerance is not None:
                bound.change_threshold.absolute.value = -float(tolerance)
    return {**rest, specs.EVAL_CONFIG_KEY: proto_utils.proto_to_json(config)}


class FixedBatchExecutor(evaluator_executor.Executor):
    """TFX's Evaluator executor with fixed-size input batches and run-time thresholds (see the
    module docstring)."""

    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802 (TFX's name)
        exec_properties = apply_thresholds(exec_properties)
        batch = source_batch_records(exec_properties)
        if not batch:  # no size configured: TFX's own batching
            return super().Do(input_dict, output_dict, exec_properties)
        with fixed_source_batches(batch):
            return super().Do(input_dict, output_dict, exec_properties)


class FixedBatchEvaluator(evaluator_component.Evaluator):
    """TFX's Evaluator (same outputs and arguments) with fixed-size input batches;
    ``thresholds``: {"yt8m_gap_threshold": …, "yt8m_gap_change_tolerance": …} (values or
    RuntimeParameters), none by default."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(FixedBatchExecutor)

    def __init__(self, thresholds: dict | None = None, **kwargs):
        super().__init__(**kwargs)
        if thresholds:
            run_parameters.add_parameters(self, EvaluatorSpec, thresholds)
