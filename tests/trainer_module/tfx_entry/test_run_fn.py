"""tfx_entry/run_fn.py on its own, with TFX's own pieces and no pipeline: the Trainer's FnArgs
built by TFX (GenericExecutor._GetFnArgs) from an Examples artifact in ExampleGen's layout
(gzipped Split-train / Split-eval), a Transform graph written by tf.Transform from the
project's preprocessing_fn, the custom_config the pipeline compiles (pipeline/create.py).

Checked: the export (serving signature on raw records, transform_features, warm-up requests,
the Kaggle folder beside the SavedModel), epochs of one dataset each with progress.json beside
the checkpoints (a re-started Trainer of the same execution trains nothing more and exports
again), the run-time epochs, max_steps from the compiled config alone."""
import glob
import json
import os
import re

import apache_beam as beam
from google.protobuf import text_format
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils
from tfx.components.trainer import executor as trainer_executor
from tfx.proto import trainer_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import json_utils, proto_utils

from pipeline import create
from pipeline.config import PipelineConfig
from trainer_module.export import saved_model as export
from trainer_module.export import warmup
from trainer_module.tfx_entry import run_fn, run_time, transform
from trainer_module.train import run

RAW_SPEC = {"id": tf.io.FixedLenFeature([1], tf.string),
            "labels": tf.io.VarLenFeature(tf.int64),
            "mean_rgb": tf.io.FixedLenFeature([1024], tf.float32),
            "mean_audio": tf.io.FixedLenFeature([128], tf.float32)}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, tiny_data):
    """(Examples artifact, TransformGraph artifact, Schema artifact) of the tiny video data."""
    root = tmp_path_factory.mktemp("run_fn")
    examples = standard_artifacts.Examples()
    examples.uri = str(root / "examples")
    examples.split_names = artifact_utils.encode_split_names(["train", "eval"])
    for split, pattern in (("train", "train*"), ("eval", "validate*")):
        os.makedirs(root / "examples" / f"Split-{split}")
        path = str(root / "examples" / f"Split-{split}" / "data_tfrecord-00000-of-00001.gz")
        with tf.io.TFRecordWriter(path, "GZIP") as writer:  # ExampleGen's compression
            files = sorted(glob.glob(os.path.join(tiny_data, "video", pattern + ".tfrecord")))
            for record in tf.data.TFRecordDataset(files):
                writer.write(record.numpy())
    schema_proto = schema_utils.schema_from_feature_spec(RAW_SPEC)
    schema = standard_artifacts.Schema()
    schema.uri = str(root / "schema")
    os.makedirs(schema.uri)
    with open(os.path.join(schema.uri, "schema.pbtxt"), "w") as f:
        f.write(text_format.MessageToString(schema_proto))
    graph = standard_artifacts.TransformGraph()
    graph.uri = str(root / "transform_graph")
    config = PipelineConfig.of(data_dir=str(root), model="LogisticModel")
    custom = transform.transform_custom_config(config.model_flags().to_dict())
    metadata = dataset_metadata.DatasetMetadata(schema_proto)
    with beam.Pipeline() as p, tft_beam.Context(temp_dir=str(root / "tft_tmp")):
        transform_fn = (p | beam.Create([]), metadata) | tft_beam.AnalyzeDataset(
            lambda x: transform.preprocessing_fn(x, custom))
        _ = transform_fn | tft_beam.WriteTransformFn(graph.uri)
        _ = metadata | tft_beam.WriteMetadata(
            os.path.join(graph.uri, tft.TFTransformOutput.RAW_METADATA_DIR), p)
    return examples, graph, schema


def _fn_args(inputs, out, **config):
    examples, graph, schema = inputs
    extra = config.pop("extra", {})
    cc = create._custom_config(PipelineConfig.of(data_dir="/d", model="LogisticModel",
                                                 min_steps=0, **config))
    cc.update(extra)
    model, model_run = standard_artifacts.Model(), standard_artifacts.ModelRun()
    model.uri, model_run.uri = str(out / "model"), str(out / "model_run")
    fn_args = trainer_executor.GenericExecutor()._GetFnArgs(  # what the Trainer hands run_fn
        {"examples": [examples], "transform_graph": [graph], "schema": [schema]},
        {"model": [model], "model_run": [model_run]},
        {"train_args": proto_utils.proto_to_json(trainer_pb2.TrainArgs(splits=["train"])),
         "eval_args": proto_utils.proto_to_json(trainer_pb2.EvalArgs(splits=["eval"])),
         "custom_config": json_utils.dumps(cc)})
    return fn_args


def _train_records(inputs) -> int:
    files = glob.glob(os.path.join(inputs[0].uri, "Split-train", "*"))
    return sum(1 for _ in tf.data.TFRecordDataset(files, "GZIP"))


def test_the_trainer_exports_a_servable_model_and_resumes_its_epochs(inputs, tmp_path, capsys):
    fn_args = _fn_args(inputs, tmp_path, num_epochs=2, batch_size=8)
    run_fn.run_fn(fn_args)
    out = capsys.readouterr().out
    steps = 2 * -(-_train_records(inputs) // 8)
    progress = json.loads(open(os.path.join(fn_args.model_run_dir, "checkpoints",
                                            run.PROGRESS_FILE)).read())
    assert progress == {"epochs_done": 2, "num_epochs": 2, "global_step": steps}
    assert "epoch 1/2 done" in out and "epoch 2/2 done" in out
    assert f"done at global step {steps}:" in out
    serving = fn_args.serving_model_dir
    model = tf.saved_model.load(serving)
    assert {"serving_default", "transform_features"} <= set(model.signatures)
    assert len(warmup.replay(serving)) > 0  # every warm-up request served by serving_default
    kaggle = export.kaggle_dir(serving)
    assert os.path.exists(os.path.join(kaggle, "model_flags.json"))
    assert glob.glob(os.path.join(kaggle, "inference_model*"))  # the Kaggle MetaGraph
    # The same execution started again (a Vertex AI job retried): nothing left to train
    run_fn.run_fn(fn_args)
    out = capsys.readouterr().out
    assert f"resuming from global step {steps}" in out
    assert "2 of --num_epochs 2 epochs already trained; nothing to train" in out


def test_run_time_epochs_and_the_compiled_step_limit(inputs, tmp_path, capsys):
    fn_args = _fn_args(inputs, tmp_path, num_epochs=5, batch_size=8, max_steps=3,
                       export_metagraph=False,
                       extra={run_time.RUN_TIME_KEY: {"num_epochs": 1}})
    assert fn_args.train_steps is None  # TFX's TrainArgs carry no step limit
    run_fn.run_fn(fn_args)
    out = capsys.readouterr().out
    assert re.search(r"^starting global step 0: LogisticModel on 1 files, batch 8, 1 epochs$",
                     out, re.M)  # the run-time num_epochs over the compiled 5
    assert "done at global step 3:" in out  # max_steps from the compiled TrainConfig
    assert not glob.glob(os.path.join(export.kaggle_dir(fn_args.serving_model_dir),
                                      "inference_model*"))
