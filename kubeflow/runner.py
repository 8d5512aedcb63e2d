"""Compiles ``create_pipeline(config)`` for Vertex AI Pipelines (a PipelineJob) or a
self-hosted open-source Kubeflow Pipelines 2.x backend (a bare PipelineSpec, kubeflow/oss_spec.py),
and submits a compiled PipelineJob to Vertex AI (kubeflow/oss_submit.py submits to KFP).

The same pipeline as the local runner; only the runner-specific platform config (the Trainer's
CPU, memory and accelerator request) is attached here, because LocalDagRunner rejects it.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time

import yaml
from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner

from kubeflow import oss_spec
from kubeflow import ui_types
from pipeline import create
from pipeline import parameters
from pipeline.config import PipelineConfig
from trainer_module import io_utils

TRAINER_ID = "Trainer"
ResourceSpec = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec


def trainer_resources(config: PipelineConfig) -> ResourceSpec | None:
    """The Trainer step's ResourceSpec from the config (None when nothing is requested).

    With ``trainer_backend='vertex_training'`` the step only launches the training job, so the
    accelerator goes into the job's worker pools instead (pipeline/create.py).
    """
    deploy = config.deployment
    if not (deploy.gpu_count or deploy.cpu_limit or deploy.memory_limit):
        return None
    spec = ResourceSpec()
    if deploy.cpu_limit:
        spec.cpu_limit = deploy.cpu_limit
    if deploy.memory_limit:
        spec.memory_limit = deploy.memory_limit
    if deploy.gpu_count:  # Kubernetes takes a resource name; the model goes elsewhere
        spec.accelerator.type = (oss_spec.GPU_RESOURCE if deploy.platform == "kubeflow"
                                 else deploy.gpu_type)
        spec.accelerator.count = deploy.gpu_count
    return spec


def kubeflow_pipeline(config: PipelineConfig):
    """create_pipeline(config) with the Kubeflow-only platform config attached."""
    pipeline = create.create_pipeline(config)
    resources = trainer_resources(config)
    if resources is not None and config.deployment.trainer_backend == "pipeline":
        for node in pipeline.components:
            if node.id == TRAINER_ID:
                node.with_platform_config(resources)
    return pipeline


def _remote_paths(config: PipelineConfig) -> dict:
    """The paths the platform's workers read or write: {field: value}."""
    return {"data_dir": config.data.data_dir, "pipeline_root": config.pipeline_root,
            "serving_dir": config.serving_dir, "vocabulary": config.data.vocabulary}


def check_compilable(config: PipelineConfig) -> None:
    """Refuses what cannot run on the platform: no image, or paths that its workers cannot
    reach or that TensorFlow and Beam cannot write.

    Raises:
      ValueError: naming the config field and what it needs.
    """
    if not config.deployment.image:
        raise ValueError("`image` is required: the container image every task runs (built from "
                         "this project's Dockerfile)")
    for field, value in _remote_paths(config).items():
        if value and value.startswith("minio://"):
            raise ValueError(f"`{field}` {value!r}: TensorFlow and Beam cannot read or write "
                             "minio:// (KFP's default root); use a gs:// bucket")
        if value and not value.startswith("gs://"):
            raise ValueError(f"`{field}` must be a gs:// URI that the pipeline's workers can read, "
                             f"got {value!r}")


def compile_pipeline(config: PipelineConfig, output_file: str) -> str:
    """Vertex (any ``platform`` but 'kubeflow'): writes the PipelineJob JSON (``.json``) or the
    bare PipelineSpec (``.yaml``). Kubeflow: writes the bare PipelineSpec at schema 2.1 (and its
    Kubernetes platform spec) as YAML, the file KFP's UI and ``kfp.Client`` upload.

    Raises:
      ValueError: see ``check_compilable`` and ``oss_spec.build``.
    """
    check_compilable(config)
    if config.deployment.platform == "local":  # a compiled pipeline runs on a platform
        config = config.replace(platform="vertex")
    kubeflow = config.deployment.platform == "kubeflow"
    if kubeflow and not output_file.endswith((".yaml", ".yml")):
        raise ValueError(f"`output` {output_file!r}: open-source Kubeflow Pipelines uploads a "
                         "YAML PipelineSpec; name a .yaml file")
    directory, filename = os.path.split(os.path.abspath(output_file))
    os.makedirs(directory, exist_ok=True)
    runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
        config=kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(
            default_image=config.deployment.image, use_pipeline_spec_2_1=kubeflow,
            default_commands=list(oss_spec.ENTRYPOINT)),  # kubeflow/entrypoint.py, both
        output_dir=directory, output_filename=filename)
    job = runner.run(kubeflow_pipeline(config), parameter_values=parameters.defaults(config),
                     write_out=False)
    ui_types.apply(job["pipelineSpec"])
    with io_utils.atomic_path(output_file) as tmp, open(tmp, "w", encoding="utf-8") as f:
        if kubeflow:
            yaml.safe_dump_all(oss_spec.build(job, config.pipeline_root,
                                              never_cache=(create.BASELINE_ID,),
                                              gpu_type=config.deployment.gpu_type), f,
                           sort_keys=True)
        elif output_file.endswith((".yaml", ".yml")):
            # The bare spec, as TFX's writer would write it; that writer's YAML comments fail on
            # schema-2.0 pipeline parameters (KeyError 'parameterType').
            yaml.safe_dump_all([job["pipelineSpec"]], f, sort_keys=True)
        else:
            json.dump(job, f, sort_keys=True)
    return output_file


@dataclasses.dataclass(frozen=True)
class SubmitOptions:
    """A Vertex AI PipelineJob submission.

    ``enable_caching`` None keeps every task's compiled caching (TFX compiles the resolver tasks
    without it, so that a run never gets a stale baseline model); True / False set it for all.
    ``parameter_values``: run-time parameters over the compiled values (pipeline/parameters.py).
    """

    pipeline_json: str
    project: str
    region: str
    service_account: str | None = None
    network: str | None = None
    experiment: str | None = None
    enable_caching: bool | None = None
    parameter_values: dict = dataclasses.field(default_factory=dict)


def read_job(path: str) -> dict:
    """The compiled PipelineJob at ``path``, checked before any cloud call.

    Raises:
      ValueError: unreadable, not JSON, or not a pipeline this project compiled.
    """
    import tensorflow as tf

    try:
        with tf.io.gfile.GFile(path) as f:
            compiled = json.load(f)
    except (OSError, ValueError, tf.errors.OpError) as e:
        raise ValueError(f"{path}: not a readable compiled pipeline "
                         f"({' '.join(str(e).split())[:200]})") from None
    if not (isinstance(compiled, dict) and oss_spec.is_project_spec(compiled.get("pipelineSpec"))):
        raise ValueError(f"{path}: not a pipeline compiled by `yt8m pipeline compile` (no "
                         "pipelineSpec whose tasks run the project's entrypoint)")
    return compiled


def pipeline_job(options: SubmitOptions, credentials=None):
    """The PipelineJob for a compiled file: its display name and labels kept as compiled."""
    from google.cloud import aiplatform

    compiled = read_job(options.pipeline_json)
    spec = compiled["pipelineSpec"]
    return aiplatform.PipelineJob(
        display_name=compiled.get("displayName") or spec["pipelineInfo"]["name"],
        template_path=options.pipeline_json, labels=compiled.get("labels") or None,
        parameter_values=dict(options.parameter_values) or None,
        enable_caching=options.enable_caching, project=options.project,
        location=options.region, credentials=credentials)


def submit(options: SubmitOptions, credentials=None):
    """Submits a compiled PipelineJob to Vertex AI Pipelines (Google Cloud credentials)."""
    job = pipeline_job(options, credentials)
    job.submit(service_account=options.service_account, network=options.network,
               experiment=options.experiment)
    return job


TERMINAL = {"PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED", "PIPELINE_STATE_CANCELLED"}


def wait(job, log=print, poll_seconds: float = 10.0) -> str:
    """Prints each task's state as it changes until the run ends; returns the run's state."""
    seen: dict[str, str] = {}
    while True:
        state = job.state.name  # refreshes the job from Vertex AI
        for task in job.task_details:
            task_state = task.state.name
            if seen.get(task.task_name) != task_state:
                seen[task.task_name] = task_state
                log(f"[{time.strftime('%H:%M:%S')}] {task.task_name}: {task_state}")
        if state in TERMINAL:
            log(f"run {job.resource_name}: {state}")
            return state
        time.sleep(poll_seconds)
