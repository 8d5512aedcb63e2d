"""StreamingImportExampleGen: ImportExampleGen that copies its input shards with bounded memory.

TFX's ExampleGen writes every split through ``beam.Reshuffle()``. On the local DirectRunner a
reshuffle is a GroupByKey held in memory, so ExampleGen's peak RSS grew with the dataset
(~3 GB for 600 MB of frame-level records); it also writes each split as a single gzipped file,
which no reader can split, so every downstream Beam component read a split as one bundle.
YT8M shards are already in random order and every Trainer shuffles its input, so this executor
copies each input file of a split, record for record, into one gzipped output file of that split
(``data_tfrecord-00003-of-00016.gz``): memory stays bounded, the input's sharding is kept for
every downstream reader, and on Dataflow the files are copied in parallel. Each output file is
written under a temporary name and renamed when complete, so a retried copy is idempotent.

When ``output_config`` splits one input by hash buckets, records have to be routed one by one:
that case streams them through ImportExampleGen's own reading, still without the reshuffle.
Splits, payload and file format properties are those of ImportExampleGen.
"""
from __future__ import annotations

import os

import apache_beam as beam
import tensorflow as tf
from apache_beam.io.filesystem import CompressionTypes
from tfx.components.example_gen import utils
from tfx.components.example_gen import write_split
from tfx.components.example_gen.import_example_gen import component as import_component
from tfx.components.example_gen.import_example_gen import executor as import_executor
from tfx.components.util import examples_utils
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils
from tfx.types import standard_component_specs as specs
from tfx.utils import proto_utils

from trainer_module import beam_trace
from trainer_module import io_utils
from trainer_module.data import input_pipeline
from trainer_module.data import records
from trainer_module.errors import DataError

def _compression(path: str) -> str | None:
    """TFRecord compression of an input file, detected by extension as ImportExampleGen's
    ``ReadFromTFRecord`` does (Beam's AUTO)."""
    kind = CompressionTypes.detect_compression_type(path)
    if kind == CompressionTypes.UNCOMPRESSED:
        return None
    if kind == CompressionTypes.GZIP:
        return "GZIP"
    raise DataError(f"{path}: {kind} compression is not supported for TFRecord input "
                    "(gzip or none)")


def shard_name(index: int, count: int) -> str:
    """Output file name of input file ``index`` of ``count`` in a split."""
    return f"{write_split.DEFAULT_FILE_NAME}-{index:05d}-of-{count:05d}.gz"


class _CopyShard(beam.DoFn):
    """(index, input path) -> one gzipped TFRecord file of the split; yields the record count."""

    def __init__(self, output_dir: str, count: int):
        self._output_dir = output_dir
        self._count = count

    def process(self, element):
        beam_trace.note("ImportExampleGen")
        index, path = element
        output = os.path.join(self._output_dir, shard_name(index, self._count))
        copied = 0
        with io_utils.atomic_path(output) as tmp, tf.io.TFRecordWriter(tmp, "GZIP") as writer:
            try:
                for record in records.iterate_records(path, _compression(path)):
                    writer.write(record)
                    copied += 1
            except records.READ_ERRORS as e:
                raise DataError(f"{path}: record {copied}: {records.summarize(e)}") from None
        yield copied


@beam.ptransform_fn
def _CopySplit(pipeline, files: list[str], output_split_path: str):  # noqa: N802 (Beam naming)
    """Every file of a split copied into its own output file; a PCollection of record counts."""
    return (pipeline
            | "Files" >> beam.Create(list(enumerate(files)))
            | "Copy" >> beam.ParDo(_CopyShard(output_split_path, len(files))))


@beam.ptransform_fn
def _WriteSplitWithoutReshuffle(records_, output_split_path: str):  # noqa: N802 (Beam naming)
    """write_split.WriteSplit without its Reshuffle (TFRecord output only)."""
    return (records_
            | "MaybeSerialize" >> beam.ParDo(write_split.MaybeSerialize())
            | "Write" >> beam.io.WriteToTFRecord(
                f"{output_split_path}/{write_split.DEFAULT_FILE_NAME}", file_name_suffix=".gz"))


class StreamingExecutor(import_executor.Executor):
    """ImportExampleGen's executor that copies shards (``_CopySplit``) instead of reshuffling."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:  # noqa: N802 (TFX API)
        self._log_startup(input_dict, output_dict, exec_properties)
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(exec_properties[specs.INPUT_CONFIG_KEY], input_config)
        output_config = example_gen_pb2.Output()
        proto_utils.json_to_proto(exec_properties[specs.OUTPUT_CONFIG_KEY], output_config)
        examples = output_dict[specs.EXAMPLES_KEY]
        artifact_utils.get_single_instance(examples).split_names = (
            artifact_utils.encode_split_names(
                utils.generate_output_split_names(input_config, output_config)))
        with self._make_beam_pipeline() as pipeline:
            if output_config.split_config.splits:  # hash buckets: route record by record
                for split, recs in self.GenerateExamplesByBeam(pipeline, exec_properties).items():
                    _ = recs | f"WriteSplit[{split}]" >> _WriteSplitWithoutReshuffle(
                        artifact_utils.get_split_uri(examples, split))
            else:  # one output split per input pattern: copy the shards
                for split in input_config.splits:
                    files = input_pipeline.list_files(
                        os.path.join(exec_properties[specs.INPUT_BASE_KEY], split.pattern),
                        f"ImportExampleGen split {split.name!r}")
                    _ = pipeline | f"CopySplit[{split.name}]" >> _CopySplit(
                        files, artifact_utils.get_split_uri(examples, split.name))
        payload = exec_properties.get(specs.OUTPUT_DATA_FORMAT_KEY)
        file_format = exec_properties.get(specs.OUTPUT_FILE_FORMAT_KEY)
        for artifact in examples:
            if payload:
                examples_utils.set_payload_format(artifact, payload)
            if file_format:
                examples_utils.set_file_format(artifact,
                                               write_split.to_file_format_str(file_format))


class StreamingImportExampleGen(import_component.ImportExampleGen):
    """ImportExampleGen whose input shards are copied one to one, with bounded memory."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(StreamingExecutor)
