"""Submits a compiled PipelineSpec (``compile`` with platform ``kubeflow``) to a self-hosted
open-source Kubeflow Pipelines 2.x backend with ``kfp.Client``.

The upload is a new pipeline, or a new version of the pipeline of that name; the run is created
in an experiment (created when absent) with the pipeline root and parameter values, which
open-source KFP takes at run creation rather than from the uploaded file.
"""
from __future__ import annotations

import dataclasses
import os
import tempfile
import time

import yaml

from kubeflow import oss_spec

POLL_SECONDS = 10.0
TERMINAL = ("SUCCEEDED", "FAILED", "SKIPPED", "CANCELED", "CANCELLED")


@dataclasses.dataclass(frozen=True)
class KfpSubmitOptions:
    """One submission. ``pipeline_name`` defaults to the spec's name; ``version_name`` to a
    timestamped one; ``no_cache`` uploads the spec with every task's caching off (KFP applies a
    run's caching override only to a spec sent with the run, not to an uploaded version; and
    caching everything would cache the baseline lookup, so only "off" is offered)."""

    pipeline_yaml: str
    host: str
    experiment: str = "yt8m"
    namespace: str | None = None
    pipeline_name: str | None = None
    version_name: str | None = None
    run_name: str | None = None
    pipeline_root: str | None = None
    parameters: dict = dataclasses.field(default_factory=dict)
    no_cache: bool = False
    service_account: str | None = None


def read_spec(path: str) -> dict:
    """The PipelineSpec document of a compiled file, checked before anything is sent.

    Raises:
      ValueError: not a YAML PipelineSpec at schema 2.1.0 (e.g. a Vertex PipelineJob).
    """
    try:
        with open(path, encoding="utf-8") as f:
            documents = [d for d in yaml.safe_load_all(f) if d]
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not a readable YAML pipeline spec ({' '.join(str(e).split())})"
                         ) from None
    specs = [d for d in documents if isinstance(d, dict) and "pipelineInfo" in d and "root" in d]
    if not specs:
        wrapped = any(isinstance(d, dict) and "pipelineSpec" in d for d in documents)
        raise ValueError(f"{path}: " + (
            "a Vertex AI PipelineJob; open-source Kubeflow Pipelines takes the bare spec that "
            "compiling with `platform` 'kubeflow' writes" if wrapped else
            "no PipelineSpec in it (compile it with `platform` 'kubeflow')"))
    if not oss_spec.is_project_spec(specs[0]):
        raise ValueError(f"{path}: not a pipeline compiled by `yt8m pipeline compile` (its tasks "
                         "do not run the project's entrypoint)")
    if specs[0].get("schemaVersion") != "2.1.0":
        raise ValueError(f"{path}: schema {specs[0].get('schemaVersion')!r}; open-source Kubeflow "
                         "Pipelines takes 2.1.0 (compile it with `platform` 'kubeflow')")
    return specs[0]


def _client(options: KfpSubmitOptions):
    import kfp

    return kfp.Client(host=options.host, namespace=options.namespace or "kubeflow")


def _call(options: KfpSubmitOptions, what: str, fn, *args, **kwargs):
    """Runs one API call; a refused or unreachable server becomes a one-line error."""
    import kfp_server_api
    import urllib3

    try:
        return fn(*args, **kwargs)
    except kfp_server_api.ApiException as e:
        body = " ".join(str(e.body or "").split())[:300]
        raise ConnectionError(f"Kubeflow Pipelines at {options.host} refused to {what}: "
                              f"{e.status} {e.reason} {body}".strip()) from None
    except (urllib3.exceptions.HTTPError, TimeoutError) as e:
        reason = getattr(e, "reason", None) or e
        raise ConnectionError(f"Kubeflow Pipelines at {options.host}: cannot {what} "
                              f"({' '.join(str(reason).split())[:200]})") from None


def submit(options: KfpSubmitOptions, client=None):
    """Uploads the spec (new pipeline or new version) and creates the run; returns
    (client, run). Raises ValueError for a wrong file, ConnectionError for the server."""
    spec = read_spec(options.pipeline_yaml)
    if options.no_cache:
        return _submit_uncached(options, client)
    client = client or _call(options, "connect", _client, options)
    name = options.pipeline_name or spec["pipelineInfo"]["name"]
    pipeline_id = _call(options, "look up the pipeline", client.get_pipeline_id, name)
    version = options.version_name or f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    if pipeline_id is None:
        pipeline = _call(options, "upload the pipeline", client.upload_pipeline,
                         options.pipeline_yaml, pipeline_name=name,
                         namespace=options.namespace)
        pipeline_id = pipeline.pipeline_id
        versions = _call(options, "list the pipeline's versions", client.list_pipeline_versions,
                         pipeline_id, sort_by="created_at desc", page_size=1)
        version_id = versions.pipeline_versions[0].pipeline_version_id
    else:
        version_id = _call(options, "upload a pipeline version", client.upload_pipeline_version,
                           options.pipeline_yaml, version, pipeline_id=pipeline_id
                           ).pipeline_version_id
    experiment = _call(options, "create the experiment", client.create_experiment,
                       options.experiment, namespace=options.namespace)
    run = _call(options, "create the run", client.run_pipeline, experiment.experiment_id,
                options.run_name or version, pipeline_id=pipeline_id, version_id=version_id,
                params=dict(options.parameters), pipeline_root=options.pipeline_root,
                service_account=options.service_account)
    return client, run


def _submit_uncached(options: KfpSubmitOptions, client):
    """``submit`` of a copy of the spec whose tasks are all uncached."""
    with open(options.pipeline_yaml, encoding="utf-8") as f:
        documents = [d for d in yaml.safe_load_all(f) if d]
    for document in documents:
        for task in document.get("root", {}).get("dag", {}).get("tasks", {}).values():
            task.pop("cachingOptions", None)
    with tempfile.TemporaryDirectory() as folder:
        copy = os.path.join(folder, os.path.basename(options.pipeline_yaml))
        with open(copy, "w", encoding="utf-8") as f:
            yaml.safe_dump_all(documents, f, sort_keys=True)
        return submit(dataclasses.replace(options, pipeline_yaml=copy, no_cache=False), client)


def wait(client, run_id: str, log=print, poll_seconds: float | None = None,
         options: KfpSubmitOptions | None = None) -> str:
    """Prints each task's state as it changes until the run ends; returns the run's state."""
    seen: dict[str, str] = {}
    while True:
        run = (_call(options, "read the run's state", client.get_run, run_id) if options
               else client.get_run(run_id))
        details = getattr(run, "run_details", None)
        for task in (getattr(details, "task_details", None) or []):
            state = str(task.state)
            if seen.get(task.display_name) != state:
                seen[task.display_name] = state
                log(f"[{time.strftime('%H:%M:%S')}] {task.display_name}: {state}")
        state = str(run.state or "")
        if state.upper() in TERMINAL:
            log(f"run {run_id}: {state}")
            return state.upper()
        time.sleep(POLL_SECONDS if poll_seconds is None else poll_seconds)
