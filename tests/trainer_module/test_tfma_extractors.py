"""The Evaluator's RebatchExtractor bounds records per batch and loses or reorders nothing."""
import apache_beam as beam
import numpy as np
import pyarrow as pa
import pytest
import tensorflow_model_analysis as tfma
from apache_beam.testing.util import assert_that
from tensorflow_model_analysis import constants

from pipeline import eval_config
from trainer_module import tfma_extractors


def _batch(start, n):
    return pa.RecordBatch.from_arrays([pa.array([f"v{i}".encode() for i in range(start, start + n)],
                                                pa.large_binary())], ["raw"])


def test_rebatch_splits_large_batches_in_order_and_keeps_small_ones():
    inputs = [{constants.ARROW_RECORD_BATCH_KEY: _batch(0, 150), "other": 1},
              {constants.ARROW_RECORD_BATCH_KEY: _batch(150, 20), "other": 2}]

    def check(outputs):
        sizes = sorted((o["other"], o[constants.ARROW_RECORD_BATCH_KEY].num_rows) for o in outputs)
        assert sizes == [(1, 22), (1, 64), (1, 64), (2, 20)]
        ids = sorted(v.as_py() for o in outputs
                     for v in o[constants.ARROW_RECORD_BATCH_KEY].column(0))
        assert ids == sorted(f"v{i}".encode() for i in range(170))  # every record exactly once

    extractor = tfma_extractors.RebatchExtractor(64)
    with beam.Pipeline() as p:
        assert_that(p | beam.Create(inputs) | extractor.ptransform, check)


def test_rebatch_rejects_a_zero_size():
    with pytest.raises(ValueError, match="inference_batch_size"):
        tfma_extractors.RebatchExtractor(0)


@pytest.mark.parametrize("frame_level,size", [(True, 64), (False, 256)])
def test_custom_extractors_put_rebatching_first(frame_level, size):
    spec = eval_config.make_eval_config(20, 0.0, 0.0, frame_level=frame_level).model_specs[0]
    assert spec.inference_batch_size == size
    config = tfma.EvalConfig(model_specs=[spec])  # no change threshold: no baseline needed
    extractors = tfma_extractors.custom_extractors(None, config, None)
    names = [e.stage_name for e in extractors]
    default = [e.stage_name for e in tfma.default_extractors(eval_config=config)]
    assert names == [tfma_extractors.REBATCH_EXTRACTOR_STAGE_NAME, default[0],
                     tfma_extractors.RAW_RECORDS_STAGE_NAME, *default[1:]]
    unbounded = tfma.EvalConfig(model_specs=[tfma.ModelSpec(label_key="l")])
    default = [e.stage_name for e in tfma.default_extractors(eval_config=unbounded)]
    assert ([e.stage_name for e in tfma_extractors.custom_extractors(None, unbounded, None)]
            == [default[0], tfma_extractors.RAW_RECORDS_STAGE_NAME, *default[1:]])


def test_raw_records_become_the_serving_input_feature():
    records = np.array([b"r0", b"r1"], dtype=object)
    extracts = {constants.INPUT_KEY: records, constants.FEATURES_KEY: {"id": np.array([1, 2])}}

    def check(outputs):
        (out,) = outputs
        assert sorted(out[constants.FEATURES_KEY]) == ["examples", "id"]
        assert list(out[constants.FEATURES_KEY]["examples"]) == [b"r0", b"r1"]

    with beam.Pipeline() as p:
        assert_that(p | beam.Create([extracts])
                    | tfma_extractors.RawRecordsAsFeatureExtractor().ptransform, check)
    assert sorted(extracts[constants.FEATURES_KEY]) == ["id"]  # the input extracts are unchanged
