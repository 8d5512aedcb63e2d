"""The Evaluator's extractors: TFMA's defaults with the serialized records as a feature."""
import apache_beam as beam
import numpy as np
import pytest
import tensorflow_model_analysis as tfma
from apache_beam.testing.util import assert_that
from tensorflow_model_analysis import constants

from pipeline import eval_config
from trainer_module.tfx_entry import tfma_extractors


@pytest.mark.parametrize("frame_level,size", [(True, 64), (False, 256)])
def test_custom_extractors_add_raw_records_after_the_features(frame_level, size):
    spec = eval_config.make_eval_config(20, 0.0, 0.0, frame_level=frame_level).model_specs[0]
    assert spec.inference_batch_size == size
    config = tfma.EvalConfig(model_specs=[spec])  # no change threshold: no baseline needed
    extractors = tfma_extractors.custom_extractors(None, config, None)
    names = [e.stage_name for e in extractors]
    default = [e.stage_name for e in tfma.default_extractors(eval_config=config)]
    assert names == [default[0], tfma_extractors.RAW_RECORDS_STAGE_NAME, *default[1:]]


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
