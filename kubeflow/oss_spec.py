"""The compiled pipeline as a self-hosted open-source Kubeflow Pipelines 2.x backend takes it.

TFX's KubeflowV2DagRunner writes a Vertex AI PipelineJob. Open-source KFP (kubeflow/pipelines,
``backend/src``) needs, read from its source:

* a bare PipelineSpec (``apiserver/template/template.go`` isPipelineSpec: the PipelineJob
  wrapper is an "unknown template format") at schema 2.1.0 (``apiserver/template/
  v2_template.go``), the pipeline root and parameters given when the run is created
  (``defaultPipelineRoot`` and each root parameter's ``defaultValue`` are the compiled values);
* container and importer executors only (``v2/compiler/argocompiler/dag.go``): the baseline is a
  container task (pipeline/create.py), checked here for every executor;
* no lifecycle hooks (nothing in ``v2/`` runs ``preCacheCheck``): ExampleGen's driver becomes a
  task of its own whose output is an input parameter of ExampleGen, so KFP's cache key
  (``v2/cacheutils/cache.go`` GenerateCacheKey: parameter values are in it) sees the data's
  span, version and fingerprint; it is never cached, and neither is the baseline task;
* an accelerator as a Kubernetes resource name: the driver copies the type verbatim into the
  pod's limits (``v2/driver/driver.go`` initPodSpecPatch), so the Trainer asks for
  ``nvidia.com/gpu`` and the accelerator model goes into a node selector in the spec's
  Kubernetes platform section (``kubernetes_platform`` KubernetesExecutorConfig).
"""
from __future__ import annotations

import copy
import json

from kubeflow import entrypoint

SCHEMA_VERSION = "2.1.0"
ENTRYPOINT = ["python", "-m", "kubeflow.entrypoint"]
GPU_RESOURCE = "nvidia.com/gpu"
GKE_ACCELERATOR_LABEL = "cloud.google.com/gke-accelerator"
EXAMPLE_GEN = "ImportExampleGen"
DRIVER_SUFFIX = "-driver"


def is_project_spec(spec) -> bool:
    """True for a PipelineSpec that ``yt8m pipeline compile`` wrote (its tasks run the project's
    entrypoint), False for another pipeline's or anything else (any JSON shape)."""
    if not (isinstance(spec, dict) and isinstance(spec.get("pipelineInfo"), dict)):
        return False
    deployment = spec.get("deploymentSpec")
    executors = deployment.get("executors") if isinstance(deployment, dict) else None
    if not isinstance(executors, dict):
        return False
    containers = (e.get("container") for e in executors.values() if isinstance(e, dict))
    return any(isinstance(c, dict) and c.get("command") == ENTRYPOINT for c in containers)


def gke_accelerator(gpu_type: str) -> str:
    """GKE's node label value for a Vertex-style accelerator name: NVIDIA_TESLA_T4 ->
    nvidia-tesla-t4, NVIDIA_L4 -> nvidia-l4."""
    return gpu_type.lower().replace("_", "-")


def build(job: dict, pipeline_root: str, never_cache: tuple[str, ...] = (),
          gpu_type: str | None = None, trainer: str = "Trainer") -> list[dict]:
    """The YAML documents to write: the PipelineSpec, and the platform spec when needed.

    Args:
      job: the PipelineJob dict that KubeflowV2DagRunner returns (compiled at schema 2.1).
      pipeline_root: the compiled default root (a run may give another).
      never_cache: task names whose caching is switched off.
      gpu_type: the Trainer's accelerator model (Vertex naming), for the node selector.
      trainer: the Trainer's task name.

    Raises:
      ValueError: an executor the open-source backend cannot run, or another schema.
    """
    spec = copy.deepcopy(job["pipelineSpec"])
    if spec.get("schemaVersion") != SCHEMA_VERSION:
        raise ValueError(f"open-source Kubeflow Pipelines takes schema {SCHEMA_VERSION} only, "
                         f"got {spec.get('schemaVersion')!r}")
    spec["defaultPipelineRoot"] = pipeline_root
    _parameter_defaults(spec, job.get("runtimeConfig", {}).get("parameterValues", {}))
    tasks = spec["root"]["dag"]["tasks"]
    for name in never_cache:
        tasks[name].pop("cachingOptions", None)
    if EXAMPLE_GEN in tasks:
        _split_example_gen_driver(spec, EXAMPLE_GEN)
    check_runnable(spec)
    documents = [spec]
    if gpu_type:
        executor = spec["components"][tasks[trainer]["componentRef"]["name"]]["executorLabel"]
        documents.append({"platforms": {"kubernetes": {"deploymentSpec": {"executors": {
            executor: {
                "nodeSelector": {"labels": {GKE_ACCELERATOR_LABEL: gke_accelerator(gpu_type)}},
                "tolerations": [{"key": GPU_RESOURCE, "operator": "Exists",
                                 "effect": "NoSchedule"}]}}}}}})
    return documents


def _parameter_defaults(spec: dict, values: dict) -> None:
    """The PipelineJob's parameter values as the root's declared defaults: a bare spec has no
    runtimeConfig, and run creation refuses a parameter with neither value nor default
    (``apiserver/template/v2_template.go`` validatePipelineJobInputs); the KFP UI's form shows
    them."""
    declared = spec["root"].get("inputDefinitions", {}).get("parameters", {})
    for name, definition in declared.items():
        if name not in values:
            raise ValueError(f"pipeline parameter {name!r} has no compiled value")
        definition["defaultValue"] = values[name]
        definition["isOptional"] = True


def check_runnable(spec: dict) -> None:
    """Raises ValueError naming the first executor that is neither a container nor an importer
    (open-source KFP refuses the run: ``backend/src/v2/compiler/argocompiler/dag.go``)."""
    for label, executor in sorted(spec["deploymentSpec"]["executors"].items()):
        kinds = set(executor) - {"container", "importer"}
        if kinds:
            raise ValueError(f"executor {label!r} is a {sorted(kinds)[0]} executor, which "
                             "open-source Kubeflow Pipelines cannot run")
        hooks = executor.get("container", {}).get("lifecycle")
        if hooks:
            raise ValueError(f"executor {label!r} has lifecycle hooks {sorted(hooks)}, which "
                             "open-source Kubeflow Pipelines never runs")


def _split_example_gen_driver(spec: dict, name: str) -> None:
    """Moves ExampleGen's preCacheCheck driver into a task of its own (module docstring)."""
    tasks, components = spec["root"]["dag"]["tasks"], spec["components"]
    executors = spec["deploymentSpec"]["executors"]
    task = tasks[name]
    component = components[task["componentRef"]["name"]]
    container = executors[component["executorLabel"]]["container"]
    if not container.pop("lifecycle", None):
        return
    driver = name + DRIVER_SUFFIX
    parameters = copy.deepcopy(component.get("inputDefinitions", {}).get("parameters", {}))
    inputs_spec = {"parameters": parameters}
    components[driver] = {
        "executorLabel": f"{driver}_executor",
        "inputDefinitions": copy.deepcopy(inputs_spec),
        "outputDefinitions": {"parameters": {
            entrypoint.DRIVER_OUTPUT: {"parameterType": "STRING"}}}}
    executors[f"{driver}_executor"] = {"container": {
        "image": container["image"], "command": list(ENTRYPOINT),
        "args": ["--example_gen_driver", "--json_serialized_invocation_args", "{{$}}",
                 "--json_serialized_inputs_spec_args", json.dumps(inputs_spec, sort_keys=True)]}}
    tasks[driver] = {"componentRef": {"name": driver}, "taskInfo": {"name": driver},
                     "inputs": {"parameters": copy.deepcopy(task["inputs"]["parameters"])}}
    component["inputDefinitions"]["parameters"][entrypoint.DRIVER_INPUT] = {
        "parameterType": "STRING"}
    task["inputs"]["parameters"][entrypoint.DRIVER_INPUT] = {"taskOutputParameter": {
        "producerTask": driver, "outputParameterKey": entrypoint.DRIVER_OUTPUT}}
    task["dependentTasks"] = sorted(set(task.get("dependentTasks", [])) | {driver})
