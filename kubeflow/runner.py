"""Compiles ``create_pipeline(config)`` for Kubeflow Pipelines v2 / Vertex AI Pipelines.

The same pipeline as the local runner; only the runner-specific platform config (the Trainer's
CPU, memory and accelerator request) is attached here, because LocalDagRunner rejects it.
"""
from __future__ import annotations

import os

from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner

from pipeline import create
from pipeline.config import PipelineConfig

TRAINER_ID = "Trainer"
ResourceSpec = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec


def trainer_resources(config: PipelineConfig) -> ResourceSpec | None:
    """The Trainer step's ResourceSpec from the config (None when nothing is requested).

    With ``trainer_backend='vertex_training'`` the step only launches the training job, so the
    accelerator goes into the job's worker pools instead (pipeline/create.py).
    """
    if not (config.trainer_gpu_count or config.trainer_cpu_limit or config.trainer_memory_limit):
        return None
    spec = ResourceSpec()
    if config.trainer_cpu_limit:
        spec.cpu_limit = config.trainer_cpu_limit
    if config.trainer_memory_limit:
        spec.memory_limit = config.trainer_memory_limit
    if config.trainer_gpu_count:
        spec.accelerator.type = config.trainer_gpu_type
        spec.accelerator.count = config.trainer_gpu_count
    return spec


def kubeflow_pipeline(config: PipelineConfig):
    """create_pipeline(config) with the Kubeflow-only platform config attached."""
    pipeline = create.create_pipeline(config)
    resources = trainer_resources(config)
    if resources is not None and config.trainer_backend == "pipeline":
        for node in pipeline.components:
            if node.id == TRAINER_ID:
                node.with_platform_config(resources)
    return pipeline


def compile_pipeline(config: PipelineConfig, output_file: str) -> str:
    """Writes the PipelineJob JSON (``.json``) or the bare PipelineSpec (``.yaml``)."""
    directory, filename = os.path.split(os.path.abspath(output_file))
    os.makedirs(directory, exist_ok=True)
    runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
        config=kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(default_image=config.image),
        output_dir=directory, output_filename=filename)
    runner.run(kubeflow_pipeline(config), write_out=True)
    return output_file


def submit(pipeline_json: str, project: str, region: str, service_account: str | None = None,
           enable_caching: bool = True):
    """Submits a compiled PipelineJob to Vertex AI Pipelines (needs Google Cloud credentials)."""
    from google.cloud import aiplatform

    aiplatform.init(project=project, location=region)
    job = aiplatform.PipelineJob(display_name=os.path.basename(pipeline_json).rsplit(".", 1)[0],
                                 template_path=pipeline_json, enable_caching=enable_caching)
    job.submit(service_account=service_account)
    return job
