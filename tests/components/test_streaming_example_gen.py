"""StreamingImportExampleGen's executor (real Beam): every split copied record for record,
gzipped, with the payload format ImportExampleGen would record."""
import glob
import os

import tensorflow as tf
from tfx.components.util import examples_utils
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs as specs
from tfx.utils import proto_utils

from components.streaming_example_gen.component import StreamingExecutor
from components.streaming_example_gen.component import StreamingImportExampleGen
from trainer_module import synthetic_data


def _records(pattern, compression=None):
    files = sorted(glob.glob(pattern))
    return [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type=compression)]


def test_splits_are_copied_record_for_record(tmp_path):
    data = tmp_path / "data"
    synthetic_data.generate(synthetic_data.GeneratorConfig(
        output_dir=str(data), num_videos=40, num_shards=2, seed=1, frame_level=True,
        min_frames=2, max_frames=4), progress=False)
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "out")
    splits = [example_gen_pb2.Input.Split(name="train", pattern="frame/train*"),
              example_gen_pb2.Input.Split(name="eval", pattern="frame/validate*")]
    props = {specs.INPUT_BASE_KEY: str(data),
             specs.INPUT_CONFIG_KEY: proto_utils.proto_to_json(example_gen_pb2.Input(splits=splits)),
             specs.OUTPUT_CONFIG_KEY: proto_utils.proto_to_json(example_gen_pb2.Output()),
             specs.OUTPUT_DATA_FORMAT_KEY: example_gen_pb2.FORMAT_TF_SEQUENCE_EXAMPLE,
             specs.OUTPUT_FILE_FORMAT_KEY: example_gen_pb2.FORMAT_TFRECORDS_GZIP}
    StreamingExecutor().Do({}, {specs.EXAMPLES_KEY: [examples]}, props)

    for split, pattern in [("train", "train*"), ("eval", "validate*")]:
        expected = _records(str(data / "frame" / pattern))
        got = _records(os.path.join(examples.uri, f"Split-{split}", "*.gz"), "GZIP")
        assert len(expected) > 5 and sorted(got) == sorted(expected), split
    assert examples_utils.get_payload_format(examples) == example_gen_pb2.FORMAT_TF_SEQUENCE_EXAMPLE
    assert examples.split_names == '["train", "eval"]'


def test_component_is_an_import_example_gen_with_the_streaming_executor():
    component = StreamingImportExampleGen(input_base="/data")
    assert component.executor_spec.executor_class is StreamingExecutor
