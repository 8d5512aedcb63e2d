"""The Evaluator's extractors: TFMA's defaults behind a bounded batch size.

The TFX Evaluator reads its split through a TFXIO source that lets Beam grow batches up to
1,000 records and gives no way to set the size. For frame-level records that is up to
1,000 x 300 x 1152 dequantized floats (1.4 GB) inside the transform graph and the model at once,
and batches grow with the split (Beam tunes them as it goes). The Evaluator hands this module
(``module_path``) to TFX; ``custom_extractors`` puts ``RebatchExtractor`` first, which slices each
Arrow RecordBatch (zero-copy) into batches of at most ``ModelSpec.inference_batch_size`` records,
so memory per batch depends on that setting only (``features.inference_batch_records``).

``RawRecordsAsFeatureExtractor`` (right after TFMA's features extractor) also offers the
serialized records as the feature ``examples``, the serving signatures' input name. TFMA then
calls the signatures by keyword; otherwise it calls them positionally, which a SavedModel
signature refuses: TF formats the whole batch into the error message, drops it and retries
through the flat signature (measured: ~13 GB of throw-away text for an 1,800-video frame-level
eval split, and the Evaluator's heap grew with the split).
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import apache_beam as beam  # noqa: E402
import tensorflow_model_analysis as tfma  # noqa: E402
from tensorflow_model_analysis import constants  # noqa: E402

from trainer_module import export  # noqa: E402

REBATCH_EXTRACTOR_STAGE_NAME = "RebatchInputs"
RAW_RECORDS_STAGE_NAME = "RawRecordsAsFeature"
FEATURES_STAGE_NAME = "ExtractFeatures"  # TFMA's features extractor
SERVING_INPUT = export.EXAMPLES_INPUT  # the serving and transform signatures' input


def _slices(extracts: dict, max_records: int):
    """Yields copies of extracts whose Arrow RecordBatch holds at most max_records rows."""
    batch = extracts.get(constants.ARROW_RECORD_BATCH_KEY)
    if batch is None or batch.num_rows <= max_records:
        yield extracts
        return
    for start in range(0, batch.num_rows, max_records):
        part = dict(extracts)
        part[constants.ARROW_RECORD_BATCH_KEY] = batch.slice(start, max_records)
        yield part


def RebatchExtractor(max_records: int) -> tfma.extractors.Extractor:  # noqa: N802 (TFMA style)
    """Extractor that splits incoming batches into batches of <= max_records records."""
    if max_records < 1:
        raise ValueError(f"inference_batch_size must be >= 1, got {max_records}")
    return tfma.extractors.Extractor(
        stage_name=REBATCH_EXTRACTOR_STAGE_NAME,
        ptransform=beam.FlatMap(_slices, max_records))


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
    """TFX Evaluator UDF: RebatchExtractor, TFMA's features extractor,
    RawRecordsAsFeatureExtractor, then the rest of TFMA's default extractors.

    The batch size is the largest ``ModelSpec.inference_batch_size`` (candidate and baseline
    share one config; 0 = TFMA's own batching).
    """
    extractors = tfma.default_extractors(eval_shared_model=eval_shared_model,
                                         eval_config=eval_config,
                                         tensor_adapter_config=tensor_adapter_config)
    if not extractors or extractors[0].stage_name != FEATURES_STAGE_NAME:
        raise ValueError(f"expected TFMA's default extractors to start with {FEATURES_STAGE_NAME}, "
                         f"got {[e.stage_name for e in extractors]}")
    extractors = [extractors[0], RawRecordsAsFeatureExtractor(), *extractors[1:]]
    batch = max((spec.inference_batch_size for spec in eval_config.model_specs), default=0)
    return ([RebatchExtractor(batch)] if batch > 0 else []) + extractors
