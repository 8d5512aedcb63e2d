"""``create_pipeline(config)``: the YT8M TFX pipeline, pure and built from small helpers.

ImportExampleGen -> StatisticsGen -> SchemaGen [-> CurateSchema for frame level] ->
ExampleValidator -> Transform (materialize=False) -> Trainer -> Resolver(latest blessed) ->
Evaluator -> Pusher, and KaggleExport only when the Evaluator blessed the model (a
``tfx.dsl.Cond`` in the DAG) -> RunReport. The same function serves LocalDagRunner and
Kubeflow; the runner supplies ML Metadata (pipeline/metadata.py locally, the orchestrator's own
store on Kubeflow / Vertex AI). ExampleGen (no reshuffle) and StatisticsGen (sketches) keep memory bounded by design.
"""
from __future__ import annotations

import dataclasses

import tensorflow_data_validation as tfdv
from tfx import v1 as tfx
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2

from components.curate_schema.component import CurateSchema
from components.fixed_batch_evaluator.component import FixedBatchEvaluator
from components.kaggle_export.component import KaggleExport
from components.latest_blessed_model.component import LatestBlessedModel
from components.latest_blessed_model.strategy import LatestOtherBlessedModelStrategy
from components.run_report.component import RunReport
from components.streaming_example_gen.component import StreamingImportExampleGen
from components.trainer.component import Trainer, VertexTrainer
from pipeline import eval_config
from pipeline import parameters
from pipeline.config import PipelineConfig
from trainer_module.tfx_entry.transform import transform_custom_config

PREPROCESSING_FN = "trainer_module.tfx_entry.transform.preprocessing_fn"
RUN_FN = "trainer_module.tfx_entry.run_fn.run_fn"
BASELINE_ID = "latest_blessed_model_resolver"

def _custom_config(config: PipelineConfig) -> dict:
    """The run_fn's settings, as resolved when the config was built: the model flags and the
    whole TrainConfig (max_steps included: TrainArgs carries no step limit). ``explicit`` lets a
    run-time model keep the user's own settings (trainer_module/tfx_entry/run_time.py)."""
    explicit = {"hparams": dict(config.model.hparams),
                "training": {k: v for k, v in config.training.items() if v is not None}}
    return {"model_flags": config.model_flags().to_dict(),
            "training": dataclasses.asdict(config.train_config()),
            "explicit": explicit, "export_metagraph": config.export_metagraph}


def _make_example_gen(config: PipelineConfig):
    data = config.data
    splits = [example_gen_pb2.Input.Split(name=name, pattern=config.split_pattern(pattern))
              for name, pattern in (("train", data.train_pattern), ("eval", data.eval_pattern),
                                    ("test", data.test_pattern))]
    payload = (example_gen_pb2.FORMAT_TF_SEQUENCE_EXAMPLE if data.frame_features
               else example_gen_pb2.FORMAT_TF_EXAMPLE)
    return StreamingImportExampleGen(  # bounded memory: no in-memory reshuffle
        input_base=parameters.data_dir(config), input_config=example_gen_pb2.Input(splits=splits),
        payload_format=payload).with_id("ImportExampleGen")


def _make_schema_nodes(config: PipelineConfig, statistics):
    """SchemaGen (+ CurateSchema for frame level); returns (nodes, schema channel)."""
    schema_gen = tfx.components.SchemaGen(statistics=statistics, infer_feature_shape=True,
                                          exclude_splits=["test"])
    if not config.data.frame_features:
        return [schema_gen], schema_gen.outputs["schema"]
    curated = CurateSchema(schema=schema_gen.outputs["schema"])
    return [schema_gen, curated], curated.outputs["curated_schema"]


def _vertex_training_config(config: PipelineConfig) -> dict:
    """custom_config keys of the Vertex AI Training extension Trainer: where and on what to run."""
    deploy = config.deployment
    machine = {"machine_type": deploy.trainer_machine_type}
    if deploy.gpu_count:
        machine.update(accelerator_type=deploy.gpu_type,
                       accelerator_count=deploy.gpu_count)
    pool = {"machine_spec": machine, "replica_count": 1, "container_spec": {"image_uri": deploy.image}}
    pools = [pool]
    if deploy.trainer_worker_count > 1:
        pools.append({**pool, "replica_count": deploy.trainer_worker_count - 1})
    vertex = tfx.extensions.google_cloud_ai_platform
    return {vertex.ENABLE_VERTEX_KEY: True, vertex.VERTEX_REGION_KEY: deploy.region,
            vertex.TRAINING_ARGS_KEY: {"project": deploy.project,
                                       "worker_pool_specs": pools}}


def _make_trainer(config: PipelineConfig, example_gen, transform, schema):
    kwargs = dict(
        run_fn=RUN_FN, examples=example_gen.outputs["examples"],
        transform_graph=transform.outputs["transform_graph"], schema=schema,
        train_args=tfx.proto.TrainArgs(splits=["train"]),  # max_steps: in custom_config
        eval_args=tfx.proto.EvalArgs(splits=["eval"], num_steps=None))
    run_time = parameters.trainer(config)
    if config.deployment.trainer_backend == "vertex_training":
        return VertexTrainer(
            run_time, custom_config={**_custom_config(config), **_vertex_training_config(config)},
            **kwargs).with_id("Trainer")
    return Trainer(run_time, custom_config=_custom_config(config), **kwargs).with_id("Trainer")


def _make_baseline(config: PipelineConfig, trainer):
    """The latest blessed model: locally the latest but the model being evaluated (so that a
    re-run is cached throughout: components/latest_blessed_model/strategy.py); on Vertex AI TFX's
    Resolver (its compiler takes TFX's own strategies only); on open-source Kubeflow Pipelines
    (no resolver executors there) a task that asks the cluster's ML Metadata."""
    if config.deployment.platform == "kubeflow":
        return LatestBlessedModel(pipeline_name=config.pipeline_name).with_id(BASELINE_ID)
    channels = {"model": tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
                "model_blessing": tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing)}
    if config.deployment.platform == "local":
        return tfx.dsl.Resolver(strategy_class=LatestOtherBlessedModelStrategy,
                                candidate=trainer.outputs["model"], **channels).with_id(BASELINE_ID)
    return tfx.dsl.Resolver(strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
                            **channels).with_id(BASELINE_ID)


def _make_evaluator(config: PipelineConfig, example_gen, trainer):
    baseline = _make_baseline(config, trainer)
    evaluation = config.evaluation
    evaluator = FixedBatchEvaluator(
        examples=example_gen.outputs["examples"], model=trainer.outputs["model"],
        baseline_model=baseline.outputs["model"],
        thresholds=parameters.evaluator(config), example_splits=["eval"],
        module_path=eval_config.EXTRACTORS_MODULE,
        eval_config=eval_config.make_eval_config(
            evaluation.top_k, evaluation.gap_threshold, evaluation.gap_change_tolerance,
            frame_level=config.data.frame_features,
            segment_max_pred=evaluation.segment_max_pred if config.data.segment_labels else None)
    ).with_id("Evaluator")
    return baseline, evaluator


def create_pipeline(config: PipelineConfig) -> tfx.dsl.Pipeline:
    """Builds the pipeline for ``config`` (no I/O, no side effects)."""
    example_gen = _make_example_gen(config)
    statistics = tfx.components.StatisticsGen(  # sketches: bounded memory on per-frame bytes
        examples=example_gen.outputs["examples"],
        stats_options=tfdv.StatsOptions(use_sketch_based_topk_uniques=True))
    schema_nodes, schema = _make_schema_nodes(config, statistics.outputs["statistics"])
    validator = tfx.components.ExampleValidator(statistics=statistics.outputs["statistics"],
                                                schema=schema, exclude_splits=["test"])
    # No statistics inside Transform: the raw data's are StatisticsGen's (validated by
    # ExampleValidator), and with no analyzers and materialize=False the graph is built without
    # reading any data, whereas TFDV here would re-read the train split and, at frame level,
    # compute statistics over the dequantized frames (4x the bytes).
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"], schema=schema,
        preprocessing_fn=PREPROCESSING_FN, materialize=False, disable_statistics=True,
        splits_config=tfx.proto.SplitsConfig(analyze=["train"]),
        custom_config=transform_custom_config(config.model_flags().to_dict()))
    trainer = _make_trainer(config, example_gen, transform, schema)
    baseline, evaluator = _make_evaluator(config, example_gen, trainer)
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"], model_blessing=evaluator.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(
                base_directory=config.resolved_serving_dir())))
    with tfx.dsl.Cond(evaluator.outputs["blessing"].future()[0].custom_property("blessed") == 1):
        kaggle = KaggleExport(model=trainer.outputs["model"],
                              examples=example_gen.outputs["examples"],
                              top_k=config.evaluation.top_k, float16_weights=config.float16_tgz,
                              segment_max_pred=config.evaluation.segment_max_pred
                              if config.data.segment_labels else 0)
    run_report = RunReport(model=trainer.outputs["model"], examples=example_gen.outputs["examples"],
                           evaluation=evaluator.outputs["evaluation"],
                           vocabulary=config.data.vocabulary or "", top_k=config.evaluation.top_k)
    components = [example_gen, statistics, *schema_nodes, validator, transform, trainer,
                  baseline, evaluator, pusher, kaggle, run_report]
    beam_args = config.beam.resolved_beam_args()
    if beam_args:  # Beam components only: a Dataflow runner means nothing to the others
        for node in components:
            if is_beam_node(node):
                node.with_beam_pipeline_args(list(beam_args))
    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline_name, pipeline_root=config.pipeline_root,
        components=components, enable_cache=config.enable_cache)


def is_beam_node(node) -> bool:
    """True for a component whose executor runs a Beam pipeline (it takes Beam arguments)."""
    executor = getattr(getattr(node, "executor_spec", None), "executor_class", None)
    return isinstance(executor, type) and issubclass(executor, base_beam_executor.BaseBeamExecutor)
