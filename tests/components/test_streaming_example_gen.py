"""StreamingImportExampleGen's executor (real Beam): every input shard copied record for record
into its own gzipped output file, with the payload format ImportExampleGen would record; a
damaged shard is named; hash-bucket output splits still work."""
import glob
import os

import pytest
import tensorflow as tf
from tfx.components.util import examples_utils
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs as specs
from tfx.utils import proto_utils

from components.streaming_example_gen.component import StreamingExecutor
from components.streaming_example_gen.component import StreamingImportExampleGen
from trainer_module.data import synthetic as synthetic_data
from trainer_module.errors import DataError


def _records(pattern, compression=None):
    files = sorted(glob.glob(pattern))
    return [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type=compression)]


def _generate(data, num_shards=2):
    synthetic_data.generate(synthetic_data.GeneratorConfig(
        output_dir=str(data), num_videos=40, num_shards=num_shards, seed=1, frame_level=True,
        min_frames=2, max_frames=4), progress=False)


def _run(data, out, splits, output_config=None):
    examples = standard_artifacts.Examples()
    examples.uri = str(out)
    props = {specs.INPUT_BASE_KEY: str(data),
             specs.INPUT_CONFIG_KEY: proto_utils.proto_to_json(example_gen_pb2.Input(splits=splits)),
             specs.OUTPUT_CONFIG_KEY: proto_utils.proto_to_json(output_config or example_gen_pb2.Output()),
             specs.OUTPUT_DATA_FORMAT_KEY: example_gen_pb2.FORMAT_TF_SEQUENCE_EXAMPLE,
             specs.OUTPUT_FILE_FORMAT_KEY: example_gen_pb2.FORMAT_TFRECORDS_GZIP}
    StreamingExecutor().Do({}, {specs.EXAMPLES_KEY: [examples]}, props)
    return examples


def test_each_input_shard_becomes_one_output_file_record_for_record(tmp_path):
    data = tmp_path / "data"
    _generate(data, num_shards=3)
    splits = [example_gen_pb2.Input.Split(name="train", pattern="frame/train*"),
              example_gen_pb2.Input.Split(name="eval", pattern="frame/validate*")]
    examples = _run(data, tmp_path / "out", splits)

    for split, pattern in [("train", "train*"), ("eval", "validate*")]:
        inputs = sorted(glob.glob(str(data / "frame" / pattern)))
        outputs = sorted(glob.glob(os.path.join(examples.uri, f"Split-{split}", "*")))
        assert [os.path.basename(p) for p in outputs] == [
            f"data_tfrecord-{i:05d}-of-{len(inputs):05d}.gz" for i in range(len(inputs))]
        for source, copy in zip(inputs, outputs):  # same records, same order, file by file
            expected = _records(source)
            assert len(expected) > 1 and _records(copy, "GZIP") == expected, (split, source)
    assert examples_utils.get_payload_format(examples) == example_gen_pb2.FORMAT_TF_SEQUENCE_EXAMPLE
    assert examples.split_names == '["train", "eval"]'


def test_a_damaged_shard_is_named(tmp_path):
    data = tmp_path / "data"
    _generate(data)
    shard = sorted(glob.glob(str(data / "frame" / "validate*")))[0]
    with open(shard, "r+b") as f:  # cut the file inside its third record
        f.truncate(sum(len(r) + 16 for r in _records(shard)[:2]) + 20)
    splits = [example_gen_pb2.Input.Split(name="eval", pattern="frame/validate*")]
    with pytest.raises(DataError, match=rf"^{shard}: record 2: truncated record") as info:
        _run(data, tmp_path / "out", splits)
    assert "[Op:" not in str(info.value)
    assert not glob.glob(str(tmp_path / "out" / "Split-eval" / "*.gz"))  # nothing half-written


def test_hash_bucket_output_splits_stream_every_record(tmp_path):
    data = tmp_path / "data"
    _generate(data)
    output = example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(splits=[
        example_gen_pb2.SplitConfig.Split(name="train", hash_buckets=3),
        example_gen_pb2.SplitConfig.Split(name="eval", hash_buckets=1)]))
    examples = _run(data, tmp_path / "out",
                    [example_gen_pb2.Input.Split(name="single_split", pattern="frame/train*")], output)
    got = [r for split in ("train", "eval")
           for r in _records(os.path.join(examples.uri, f"Split-{split}", "*.gz"), "GZIP")]
    assert sorted(got) == sorted(_records(str(data / "frame" / "train*")))
    assert examples.split_names == '["train", "eval"]'


def test_component_is_an_import_example_gen_with_the_streaming_executor():
    component = StreamingImportExampleGen(input_base="/data")
    assert component.executor_spec.executor_class is StreamingExecutor


def test_gzipped_input_shards_are_read_and_other_compressions_refused(tmp_path):
    data = tmp_path / "data"
    _generate(data)
    shard = sorted(glob.glob(str(data / "frame" / "train*")))[0]
    gz_dir = tmp_path / "gz" / "frame"
    gz_dir.mkdir(parents=True)
    with tf.io.TFRecordWriter(str(gz_dir / "train0000.tfrecord.gz"), "GZIP") as writer:
        for record in _records(shard):
            writer.write(record)
    examples = _run(tmp_path / "gz", tmp_path / "out",
                    [example_gen_pb2.Input.Split(name="train", pattern="frame/train*")])
    assert _records(os.path.join(examples.uri, "Split-train", "*.gz"), "GZIP") == _records(shard)
    (gz_dir / "train0001.tfrecord.bz2").write_bytes(b"")
    with pytest.raises(DataError, match=r"train0001\.tfrecord\.bz2: bzip2 compression is not "
                                        r"supported"):
        _run(tmp_path / "gz", tmp_path / "out2",
             [example_gen_pb2.Input.Split(name="train", pattern="frame/train*")])
