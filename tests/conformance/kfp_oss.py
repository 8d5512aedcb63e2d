"""Open-source Kubeflow Pipelines 2.x, minus Kubernetes and Argo: the conformance run's launcher.

Each rule below is the behaviour of kubeflow/pipelines (HEAD 7b70c7b) as read in its Go source,
cited as ``file:line`` under ``backend/src/`` (``v2/…`` for the driver and launcher). What is
real here: ML Metadata (tests/conformance/mlmd_server.py, a SQLite store served over gRPC to
this launcher and to the tasks), the object store (``gs://`` on the local GCS emulator,
tests/conformance/gcs.py), the task processes (each compiled command and args, ``python``
being this interpreter, as in the image). Stand-ins, each named where it is used: the API
server's cache table (a dict), the pod's local paths (a scratch folder in place of ``/gcs`` and
``/tmp/kfp``), Argo's DAG (topological order with its ``depends``/``when`` rules).

Rules: upload (``apiserver/template/template.go:62-120``, ``v2_template.go:234-243``); run
creation (``v2/compiler/argocompiler/dag.go:337-353``); per task the container driver
(``v2/driver/container.go``: inputs resolved from MLMD, CEL condition, outputs provisioned,
cache fingerprint, execution created) and the launcher (``v2/component/launcher_v2.go``:
inputs downloaded, command run, executor output read, outputs uploaded and recorded).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import yaml
from google.protobuf import json_format, struct_pb2
from kfp.pipeline_spec import pipeline_spec_pb2
from ml_metadata.proto import metadata_store_pb2 as mlmd

from tests.conformance import spec_runner
from tests.conformance.kfp_mlmd import Records, TaskFailed

PIPELINE_CONTEXT, RUN_CONTEXT = "system.Pipeline", "system.PipelineRun"
DAG_EXECUTION, CONTAINER_EXECUTION = "system.DAGExecution", "system.ContainerExecution"
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


class Refused(Exception):
    """The API server refused an upload or a run (its message, as the server words it)."""


@dataclasses.dataclass
class Task:
    name: str
    state: str  # SUCCEEDED, CACHED, SKIPPED (not triggered or a dependency did not succeed)
    execution_id: int = 0
    outputs: dict = dataclasses.field(default_factory=dict)  # key -> [RuntimeArtifact dict]
    log: str | None = None
    executor_input: dict | None = None


@dataclasses.dataclass
class RunResult:
    run_id: str
    tasks: dict

    def artifact(self, task: str, key: str) -> dict:
        artifacts = self.tasks[task].outputs.get(key, [])
        if len(artifacts) != 1:
            raise KeyError(f"{task}.{key}: {len(artifacts)} artifacts")
        return artifacts[0]


# --- the API server ---------------------------------------------------------------------------
def upload(path: str) -> tuple[dict, dict]:
    """The pipeline upload: returns (PipelineSpec, PlatformSpec) as dicts.

    ``template.go:62-80`` inferTemplateFormat: a document is a v2 spec only if it parses
    strictly as a PipelineSpec with a name and a root (``template.go:112-120``), otherwise the
    upload fails with "unknown template format" (``template.go:170``). ``v2_template.go:
    220-243``: one PipelineSpec, schema 2.1.0 only, a DNS-style name; a document with
    ``platforms`` is the platform spec.
    """
    with open(path, encoding="utf-8") as f:
        documents = [d for d in yaml.safe_load_all(f) if d]
    spec, platform = None, {}
    for document in documents:
        if isinstance(document, dict) and "platforms" in document:
            platform = document
            continue
        try:
            parsed = json_format.ParseDict(document, pipeline_spec_pb2.PipelineSpec())
        except (json_format.ParseError, TypeError, AttributeError):
            continue
        if parsed.pipeline_info.name and parsed.HasField("root"):
            if spec is not None:
                raise Refused("multiple pipeline specs provided")
            spec = document
    if spec is None:
        raise Refused("unknown template format")
    if spec.get("schemaVersion") != "2.1.0":
        raise Refused("KFP only supports schema version 2.1.0, but the pipeline spec has "
                      f"version {spec.get('schemaVersion')}")
    if not _NAME.fullmatch(spec["pipelineInfo"]["name"]):
        raise Refused("invalid v2 pipeline spec: name should consist of lower case alphanumeric "
                      "characters, '-' or '.'")
    return spec, platform


def check_run_creation(spec: dict) -> None:
    """Run creation compiles the spec to an Argo workflow: only container and importer executors
    (``v2/compiler/argocompiler/dag.go:337-353``, ``v2/compiler/visitor.go:126-134``)."""
    for label, executor in spec["deploymentSpec"]["executors"].items():
        if "resolver" in executor:
            raise Refused(f"executor {label}: resolver executors not implemented")
        if "customJob" in executor:
            raise Refused(f"executor {label}: custom job executors is Google Cloud only, it's "
                          "not supported")
        if not {"container", "importer"} & set(executor):
            raise Refused(f"executor(label={label!r}): non-container and non-importer executor "
                          "not implemented")


# --- the cluster ------------------------------------------------------------------------------
class Cluster:
    """One KFP installation: ML Metadata, the object store, the cache table, the task env."""

    def __init__(self, metadata_server, cloud, work_dir: str, python: str = sys.executable):
        self.records = Records(metadata_server.client())
        self.cloud, self.work_dir, self.python = cloud, work_dir, python
        self.env = {**cloud.env(), **metadata_server.env()}  # argocompiler/common.go:31-40
        self.cache: dict[str, int] = {}  # the API server's task table (v2/cacheutils/cache.go)

    # -- runs ----------------------------------------------------------------------------------
    def run(self, spec: dict, pipeline_root: str | None = None, parameters: dict | None = None,
            until: tuple[str, ...] = (), run_id: str | None = None) -> RunResult:
        """Creates and executes a run; ``until``: only those tasks and what they depend on."""
        # v2_template.go:377-379 validates the inputs, then the workflow is compiled (:389-...)
        root_params = self._root_parameters(spec, parameters or {})
        check_run_creation(spec)
        run_id = run_id or str(uuid.uuid4())
        root = (pipeline_root or spec.get("defaultPipelineRoot") or "").rstrip("/")
        if not root:
            raise Refused("no pipeline root: give one when the run is created")
        name = spec["pipelineInfo"]["name"]
        # v2/metadata/client.go:391-404,410-470 GetPipeline: pipeline and run contexts; the run's
        # root is {root}/{pipeline name}/{run id}.
        self._run_root = f"{root}/{name}/{run_id}"
        self.records.contexts = [self.records.context(PIPELINE_CONTEXT, name, {}),
                                  self.records.context(RUN_CONTEXT, run_id, {"pipeline_root": self._run_root})]
        self._pipeline_name = name
        self._dag_id = self.records.put_execution(DAG_EXECUTION, {"display_name": "root",
                                                           "inputs": root_params},
                                           mlmd.Execution.RUNNING, [])
        tasks = spec["root"]["dag"]["tasks"]
        wanted = spec_runner._upstream(tasks, until) if until else set(tasks)
        results: dict[str, Task] = {}
        self._logs = os.path.join(self.work_dir, "logs", run_id)
        os.makedirs(self._logs, exist_ok=True)
        for task_name in (n for n in spec_runner.topological_order(tasks) if n in wanted):
            start = time.time()
            results[task_name] = self._task(spec, task_name, tasks[task_name], results,
                                            root_params)
            print(f"[kfp] {task_name}: {results[task_name].state} in {time.time() - start:.1f}s")
        return RunResult(run_id, results)

    def _root_parameters(self, spec, given) -> dict:
        """Run creation (``apiserver/template/v2_template.go:449-538`` validatePipelineJobInputs):
        a name the spec does not declare, a declared one without value or default, a number
        given for a string (or the reverse) are refused; then the workflow compiler fills the
        defaults (``v2/compiler/argocompiler/argo.go:102-113``)."""
        declared = spec["root"].get("inputDefinitions", {}).get("parameters", {})
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise Refused(f"parameter(s) provided are not required by pipeline: "
                          f"{', '.join(unknown)}")
        out = {}
        for pname, definition in declared.items():
            if pname in given:
                kind = definition.get("parameterType")
                number = isinstance(given[pname], (int, float)) and not isinstance(
                    given[pname], bool)
                if kind in ("NUMBER_DOUBLE", "NUMBER_INTEGER") and not number:
                    raise Refused(f"input parameter {pname} requires type double or integer, "
                                  "but the parameter value is not of number value type")
                if kind == "STRING" and not isinstance(given[pname], str):
                    raise Refused(f"input parameter {pname} requires type string, but the input "
                                  "parameter is not of string value type")
                out[pname] = given[pname]
            elif "defaultValue" in definition:
                out[pname] = definition["defaultValue"]
            elif not definition.get("isOptional"):
                raise Refused(f"parameter {pname} is not optional, yet has neither default value "
                              "nor user provided value")
        return out

    # -- one task: the container driver (v2/driver/container.go) -------------------------------
    def _task(self, spec, name, task, results, root_params) -> Task:
        component = spec["components"][task["componentRef"]["name"]]
        container = spec["deploymentSpec"]["executors"][component["executorLabel"]]["container"]
        # argocompiler/dag.go:316,713-726: a task runs only when every dependency Succeeded; a
        # cached task still succeeds (argocompiler/container.go:441-446), a skipped one not.
        if any(results[d].state == "SKIPPED" for d in spec_runner._dependencies(task)):
            return Task(name, "SKIPPED")
        inputs = {"parameterValues": self._resolve_parameters(task, component, results,
                                                              root_params),
                  "artifacts": self._resolve_artifacts(task, results)}
        condition = task.get("triggerPolicy", {}).get("condition")
        # container.go:83-91: the CEL condition over the ExecutorInput; false: a CANCELED
        # execution (client.go:658-663) and the executor step is skipped
        # (argocompiler/container.go:328-331).
        if condition and not spec_runner.evaluate_condition(condition, inputs["artifacts"]):
            self.records.put_execution(CONTAINER_EXECUTION, {"task_name": name},
                                mlmd.Execution.CANCELED, [])
            return Task(name, "SKIPPED")
        task_root = f"{self._run_root}/{name}/{uuid.uuid4()}"
        scratch = tempfile.mkdtemp(prefix=f"{name}-", dir=self.work_dir)
        outputs = self._provision_outputs(component, task_root, scratch)
        executor_input = {"inputs": inputs, "outputs": outputs}
        fingerprint = None
        if task.get("cachingOptions", {}).get("enableCache"):
            fingerprint = self._fingerprint(component, container, executor_input)
        input_ids = {k: [int(a["name"]) for a in v["artifacts"]]
                     for k, v in inputs["artifacts"].items()}
        properties = {"task_name": name, "display_name": name, "parent_dag_id": self._dag_id,
                      "inputs": inputs["parameterValues"], "image": container["image"]}
        if fingerprint:
            properties["cache_fingerprint"] = fingerprint
        cached = self.cache.get(fingerprint) if fingerprint else None
        if cached is not None:  # container.go:205-236 reuseCachedOutputs (driver/cache.go:35-80)
            outputs_by_key = self.records.output_artifacts(cached)
            missing = set(outputs["artifacts"]) - set(outputs_by_key)
            if missing:
                raise TaskFailed(f"{name}: unable to find artifact with name {sorted(missing)} "
                                 "in mlmd output artifacts")
            execution_id = self.records.put_execution(
                CONTAINER_EXECUTION, {**properties, "cached_execution_id": str(cached),
                                      "outputs": self.records.execution_outputs(cached)},
                mlmd.Execution.CACHED, input_ids,
                [(k, a["name"]) for k, v in outputs_by_key.items() for a in v])
            shutil.rmtree(scratch, ignore_errors=True)
            return Task(name, "CACHED", execution_id, outputs_by_key)
        execution_id = self.records.put_execution(CONTAINER_EXECUTION, properties,
                                           mlmd.Execution.RUNNING, input_ids)
        try:
            produced, log = self._launch(name, component, container, executor_input, scratch)
        except TaskFailed:
            self.records.update_state(execution_id, mlmd.Execution.FAILED)
            raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        params, recorded = produced
        self.records.publish(execution_id, params, recorded)
        if fingerprint:  # launcher_v2.go:298-317 CreateExecutionCache after success
            self.cache[fingerprint] = execution_id
        return Task(name, "SUCCEEDED", execution_id, self.records.output_artifacts(execution_id), log,
                    executor_input)

    def _resolve_parameters(self, task, component, results, root_params) -> dict:
        """resolve.go:375-460: a constant, a root parameter or an upstream task's output
        parameter (from its execution's ``outputs``); only ``parameterValues`` are filled."""
        out = {}
        for pname, value in task.get("inputs", {}).get("parameters", {}).items():
            if "runtimeValue" in value:
                out[pname] = _value(value["runtimeValue"]["constant"])
            elif "componentInputParameter" in value:
                out[pname] = root_params[value["componentInputParameter"]]
            elif "taskOutputParameter" in value:
                source = value["taskOutputParameter"]
                producer = results[source["producerTask"]].execution_id
                out[pname] = self.records.execution_outputs(producer)[source["outputParameterKey"]]
            else:
                raise TaskFailed(f"parameter {pname}: unsupported input {sorted(value)}")
        declared = component.get("inputDefinitions", {}).get("parameters", {})
        for pname, definition in declared.items():  # resolve.go:162-200
            if pname not in out and not definition.get("isOptional") \
                    and "defaultValue" not in definition:
                raise TaskFailed(f"neither value nor default value provided for non-optional "
                                 f"parameter {pname!r}")
        return out

    def _resolve_artifacts(self, task, results) -> dict:
        """resolve.go:700-816: upstream outputs read back from MLMD, ``name`` the MLMD id,
        ``type`` an empty instance schema (metadata/client.go:245-259,1113-1147)."""
        out = {}
        for key, ref in task.get("inputs", {}).get("artifacts", {}).items():
            source = ref["taskOutputArtifact"]
            producer = results[source["producerTask"]]
            artifacts = self.records.output_artifacts(producer.execution_id).get(
                source["outputArtifactKey"], [])
            out[key] = {"artifacts": [{**a, "type": {"instanceSchema": ""}} for a in artifacts]}
        return out

    def _provision_outputs(self, component, task_root, scratch) -> dict:
        """driver.go:733-800 provisionOutputs: each output at {task root}/{name}, ``name`` the
        output key, the declared type; ``executor-logs`` (system.Artifact) added as logs are
        published by default (cmd/driver/main.go:101); output parameters in local files;
        ``outputFile`` local (launcher_v2.go:1239-1253 LocalPathForURI)."""
        declared = dict(component.get("outputDefinitions", {}).get("artifacts", {}))
        declared["executor-logs"] = {"artifactType": {"schemaTitle": "system.Artifact"}}
        artifacts = {key: {"artifacts": [{"name": key, "uri": f"{task_root}/{key}",
                                          "type": spec["artifactType"]}]}
                     for key, spec in declared.items()}
        parameters = {pname: {"outputFile": f"{scratch}/tmp/kfp/outputs/{pname}"}
                      for pname in component.get("outputDefinitions", {}).get("parameters", {})}
        return {"artifacts": artifacts, "parameters": parameters,
                "outputFile": f"{_local(task_root, scratch)}/output_metadata.json"}

    def _fingerprint(self, component, container, executor_input) -> str:
        """cacheutils/cache.go:173-229 GenerateCacheKey, hashed as GenerateFingerPrint
        (cache.go:151-171): input artifact names, parameter values, output specs without URIs,
        output parameter types, image, raw command and args."""
        outputs = {k: {kk: vv for kk, vv in v["artifacts"][0].items() if kk != "uri"}
                   for k, v in executor_input["outputs"]["artifacts"].items()}
        key = {"inputArtifactNames": {k: {"artifactNames": [a["name"] for a in v["artifacts"]]}
                                      for k, v in executor_input["inputs"]["artifacts"].items()},
               "inputParameterValues": executor_input["inputs"]["parameterValues"],
               "outputArtifactsSpec": outputs,
               "outputParametersSpec": {
                   k: v["parameterType"] for k, v in
                   component.get("outputDefinitions", {}).get("parameters", {}).items()},
               "containerSpec": {"image": container["image"],
                                 "cmdArgs": container["command"] + container.get("args", [])}}
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()

    # -- one task: the launcher (v2/component/launcher_v2.go) ----------------------------------
    def _launch(self, name, component, container, executor_input, scratch):
        self._download_inputs(executor_input, scratch)  # launcher_v2.go:927-1004
        for artifact_list in executor_input["outputs"]["artifacts"].values():  # :1280-1307
            local = _local(artifact_list["artifacts"][0]["uri"], scratch)
            os.makedirs(os.path.dirname(local), exist_ok=True)
        for parameter in executor_input["outputs"]["parameters"].values():
            os.makedirs(os.path.dirname(parameter["outputFile"]), exist_ok=True)
        # launcher_v2.go:1051-1075: {{$}} is the ExecutorInput (protojson) with the declared
        # parameter defaults added (addDefaultParams, :1310-1331).
        with_defaults = json.loads(json.dumps(executor_input))
        for pname, definition in component.get("inputDefinitions", {}).get(
                "parameters", {}).items():
            if "defaultValue" in definition:
                with_defaults["inputs"]["parameterValues"].setdefault(pname,
                                                                      definition["defaultValue"])
        payload = json_format.MessageToJson(json_format.ParseDict(
            with_defaults, pipeline_spec_pb2.ExecutorInput()), indent=None)
        argv = [self.python if c == "python" else c for c in container["command"]]
        argv += [a.replace("{{$}}", payload) for a in container.get("args", [])]
        # Logs go to the executor-logs artifact's local path (launcher_v2.go:632-655).
        logs_uri = executor_input["outputs"]["artifacts"]["executor-logs"]["artifacts"][0]["uri"]
        log_path = _local(logs_uri, scratch)
        env = {**self.env, "TMPDIR": scratch}
        with open(log_path, "w", encoding="utf-8") as out:
            proc = subprocess.run(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  cwd=scratch, check=False)
        kept_log = os.path.join(self._logs, f"{name}.log")
        shutil.copyfile(log_path, kept_log)
        if proc.returncode != 0:
            with open(kept_log, encoding="utf-8") as f:
                tail = f.read()[-4000:]
            raise TaskFailed(f"task {name} exited {proc.returncode} ({kept_log}):\n{tail}")
        output_file = executor_input["outputs"]["outputFile"]
        produced = {}  # launcher_v2.go:1208-1236: a missing file is an empty ExecutorOutput
        if os.path.exists(output_file):
            with open(output_file, encoding="utf-8") as f:
                produced = json_format.MessageToDict(json_format.Parse(
                    f.read(), pipeline_spec_pb2.ExecutorOutput()))
        params = dict(produced.get("parameterValues", {}))  # :484-515 collectOutputParameters
        for pname, parameter in executor_input["outputs"]["parameters"].items():
            if pname not in params:
                with open(parameter["outputFile"], encoding="utf-8") as f:
                    params[pname] = f.read()
        recorded = self._upload_outputs(executor_input, produced, scratch)
        return (params, recorded), kept_log

    def _download_inputs(self, executor_input, scratch) -> None:
        """launcher_v2.go:927-1004 downloadArtifacts with object_store.go:146-268: every input
        artifact's objects, each to {local dir}/{key relative to the URI}; a zero-byte
        ``dir/`` marker at the URI becomes a file at the artifact's own path, and the next
        object under it then fails (kubeflow/pipelines#13476)."""
        for key, artifact_list in executor_input["inputs"]["artifacts"].items():
            for artifact in artifact_list["artifacts"]:
                uri = artifact["uri"]
                if not uri.startswith("gs://"):
                    continue
                bucket, _, prefix = uri[len("gs://"):].partition("/")
                local_dir = _local(uri, scratch)
                client = self.cloud.client()
                for blob in client.list_blobs(bucket, prefix=prefix):
                    if not (blob.name == prefix.rstrip("/")
                            or blob.name.startswith(prefix.rstrip("/") + "/")):
                        continue
                    relative = os.path.relpath(blob.name, prefix)
                    local = os.path.normpath(os.path.join(local_dir, relative))
                    try:
                        os.makedirs(os.path.dirname(local), exist_ok=True)
                        # by name: the listing's media links name the host that wrote them
                        client.bucket(bucket).blob(blob.name).download_to_filename(local)
                    except OSError as e:
                        raise TaskFailed(f"failed to download input artifact {key!r} from "
                                         f"remote storage URI {uri!r}: downloadFile(): unable "
                                         f"to complete copying {blob.name!r} to local storage "
                                         f"{local!r}: {e}") from None

    def _upload_outputs(self, executor_input, produced, scratch) -> list:
        """launcher_v2.go:778-855: each output merged with the executor's (uri, metadata:
        :1188-1206), its local file uploaded if any, then recorded (RecordArtifact)."""
        recorded = []
        for key, artifact_list in executor_input["outputs"]["artifacts"].items():
            artifact = dict(artifact_list["artifacts"][0])
            returned = produced.get("artifacts", {}).get(key, {}).get("artifacts")
            if returned and key != "executor-logs":
                artifact["uri"] = returned[0].get("uri") or artifact["uri"]
                artifact["metadata"] = {**artifact.get("metadata", {}),
                                        **returned[0].get("metadata", {})}
            local = _local(artifact["uri"], scratch) if artifact["uri"].startswith("gs://") \
                else None
            if local and os.path.isfile(local):
                bucket, _, name = artifact["uri"][len("gs://"):].partition("/")
                self.cloud.client().bucket(bucket).blob(name).upload_from_filename(local)
            recorded.append((key, self.records.record_artifact(key, artifact)))
        return recorded


# --- conversions ------------------------------------------------------------------------------
def _local(uri: str, scratch: str) -> str:
    """launcher_v2.go:1239-1253 LocalPathForURI, under the task's scratch folder (the pod)."""
    if uri.startswith("gs://"):
        return f"{scratch}/gcs/{uri[len('gs://'):]}"
    raise TaskFailed(f"failed to generate local path for URI {uri}: unsupported storage scheme")


def _value(constant) -> object:
    """A ``runtimeValue.constant`` (a protobuf Value in JSON) as a plain value."""
    return json_format.MessageToDict(json_format.ParseDict(constant, struct_pb2.Value()))
