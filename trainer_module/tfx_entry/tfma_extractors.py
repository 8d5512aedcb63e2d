"""The Evaluator's extractors: TFMA's defaults with the serialized records offered by name.

``RawRecordsAsFeatureExtractor`` (right after TFMA's features extractor) offers the
serialized records as the feature ``examples``, the serving signatures' input name. TFMA then
calls the signatures by keyword; otherwise it calls them positionally, which a SavedModel
signature refuses: TF formats the whole batch into the error message, drops it and retries
through the flat signature, so the Evaluator's heap grew with the split (figures in
benchmarks/README.md). The records per batch are fixed where they are read
(``components.fixed_batch_evaluator``).
"""
from __future__ import annotations

import apache_beam as beam
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis import constants

from trainer_module.export import saved_model as export

RAW_RECORDS_STAGE_NAME = "RawRecordsAsFeature"
FEATURES_STAGE_NAME = "ExtractFeatures"  # TFMA's features extractor
SERVING_INPUT = export.EXAMPLES_INPUT  # the serving and transform signatures' input


def _with_raw_records(extracts: dict) -> dict:
    """Adds the batch's serialized records [batch] to its features as ``SERVING_INPUT``."""
    out = dict(extracts)
    out[constants.FEATURES_KEY] = {**extracts[constants.FEATURES_KEY],
                                   SERVING_INPUT: extracts[constants.INPUT_KEY]}
    return out


def RawRecordsAsFeatureExtractor() -> tfma.extractors.Extractor:  # noqa: N802 (TFMA style)
    """Extractor that offers the serialized records as the feature ``SERVING_INPUT``."""
    return tfma.extractors.Extractor(stage_name=RAW_RECORDS_STAGE_NAME,
                                     ptransform=beam.Map(_with_raw_records))


def custom_extractors(eval_shared_model, eval_config, tensor_adapter_config):
    """TFX Evaluator UDF: TFMA's features extractor, RawRecordsAsFeatureExtractor, then the rest
    of TFMA's default extractors."""
    extractors = tfma.default_extractors(eval_shared_model=eval_shared_model,
                                         eval_config=eval_config,
                                         tensor_adapter_config=tensor_adapter_config)
    if not extractors or extractors[0].stage_name != FEATURES_STAGE_NAME:
        raise ValueError(f"expected TFMA's default extractors to start with {FEATURES_STAGE_NAME}, "
                         f"got {[e.stage_name for e in extractors]}")
    return [extractors[0], RawRecordsAsFeatureExtractor(), *extractors[1:]]
