"""FixedBatchEvaluator: inside its executor, TFX's Evaluator reads the examples through TFXIO
sources whose batches have a fixed size (real tfx_bsl TFXIO under a real Beam pipeline), and the
Evaluator executor's module is left as it was afterwards."""
import inspect

import apache_beam as beam
import pytest
import tensorflow as tf
from apache_beam.testing import util as beam_util
from tfx.components.evaluator import executor as evaluator_executor
from tfx.components.util import examples_utils
from tfx.components.util import tfxio_utils
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from components.fixed_batch_evaluator import component as C
from pipeline import eval_config


def _examples(tmp_path, n):
    split = tmp_path / "Split-eval"
    split.mkdir()
    with tf.io.TFRecordWriter(str(split / "data.gz"), options="GZIP") as w:
        for i in range(n):
            w.write(tf.train.Example(features=tf.train.Features(feature={"id": tf.train.Feature(
                bytes_list=tf.train.BytesList(value=[str(i).encode()]))})).SerializeToString())
    examples = standard_artifacts.Examples()
    examples.uri, examples.split_names = str(tmp_path), '["eval"]'
    examples_utils.set_payload_format(examples, example_gen_pb2.FORMAT_TF_EXAMPLE)
    return examples, str(split / "*")


def _read_batches(examples, pattern, matcher):
    factory = evaluator_executor.tfxio_utils.get_tfxio_factory_from_artifact(
        examples=[examples], telemetry_descriptors=["test"], raw_record_column_name="__raw__")
    tfxio = factory(pattern)
    assert tfxio.raw_record_column_name == "__raw__"  # all but BeamSource is the TFXIO's own
    with beam.Pipeline() as p:
        sizes = p | tfxio.BeamSource() | beam.Map(lambda batch: batch.num_rows)
        beam_util.assert_that(sizes, matcher)


def test_sources_read_fixed_batches_inside_the_block_only(tmp_path):
    examples, pattern = _examples(tmp_path, 150)
    with C.fixed_source_batches(64):
        _read_batches(examples, pattern, beam_util.equal_to([64, 64, 22]))
    assert evaluator_executor.tfxio_utils is tfxio_utils  # restored

    def auto_batches(sizes):  # TFX's own sizing: Beam grows the batches from 1 record
        assert sum(sizes) == 150 and min(sizes) < 64, sizes
    _read_batches(examples, pattern, auto_batches)


def test_module_restored_when_the_evaluator_fails():
    with pytest.raises(RuntimeError, match="evaluation failed"):  # passed through, not swallowed
        with C.fixed_source_batches(8):
            raise RuntimeError("evaluation failed")
    assert evaluator_executor.tfxio_utils is tfxio_utils


def test_tfx_evaluator_still_reads_through_the_wrapped_names():
    """The wrapping relies on these two calls of TFX's Evaluator executor; a TFX upgrade that
    changes them must fail here rather than silently lose the fixed batches."""
    source = inspect.getsource(evaluator_executor.Executor.Do)
    assert "tfxio_utils.get_tfxio_factory_from_artifact(" in source
    assert "tfxio.BeamSource()" in source
    assert C.FixedBatchEvaluator.EXECUTOR_SPEC.executor_class is C.FixedBatchExecutor


def test_source_batch_is_the_eval_configs_inference_batch_size():
    for frame_level, size in [(True, 64), (False, 256)]:
        config = eval_config.make_eval_config(20, 0.0, 0.0, frame_level=frame_level)
        props = {"eval_config": proto_utils.proto_to_json(config)}
        assert C.source_batch_records(props) == size
    assert C.source_batch_records({}) == 0  # nothing configured: TFX's own batching
