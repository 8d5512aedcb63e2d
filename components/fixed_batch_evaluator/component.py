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


class FixedBatchExecutor(evaluator_executor.Executor):
    """TFX's Evaluator executor with fixed-size input batches (see the module docstring)."""

    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802 (TFX's name)
        batch = source_batch_records(exec_properties)
        if not batch:  # no size configured: TFX's own batching
            return super().Do(input_dict, output_dict, exec_properties)
        with fixed_source_batches(batch):
            return super().Do(input_dict, output_dict, exec_properties)


class FixedBatchEvaluator(evaluator_component.Evaluator):
    """TFX's Evaluator (same spec, outputs and arguments) with fixed-size input batches."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(FixedBatchExecutor)
