"""Executes a compiled PipelineJob (``yt8m pipeline compile``) the way the KFP v2 launcher does,
minus Kubernetes: the conformance run of the compiled pipeline.

Every task in dependency order; a container task as a subprocess running exactly its
container spec's ``command`` and ``args`` (``python`` is this interpreter, standing in for the
image's), with ``{{$}}`` replaced by an ExecutorInput built from the component's input and
output definitions and the upstream tasks' output artifacts (URIs and metadata); a
``preCacheCheck`` lifecycle hook (ExampleGen's driver) first, its output file left for the
executor as the launcher leaves it. Resolver tasks answer their ``outputArtifactQueries`` from
the artifacts that earlier runs and tasks produced. A task whose ``cachingOptions.enableCache``
is set reuses the outputs of an earlier execution with the same cache key (its component,
container, parameters, input artifacts and driver output); the others always run. A task's
``triggerPolicy.condition`` (the CEL that TFX compiles a ``tfx.dsl.Cond`` into) is evaluated on
its input artifacts as the KFP driver does: false means the task, and every task that depends
on it, is SKIPPED.

State (artifacts and cache entries) lives in ``state_dir`` as JSON, so a second ``run`` sees
the first run's outputs, as the metadata store of a Vertex AI project would.
"""
from __future__ import annotations

import ast
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
from typing import Callable

_PLACEHOLDER = re.compile(r"\{\{\$\.inputs\.artifacts\['(\w+)'\]\.metadata\['(\w+)'\]\}\}")
_PARAM_KIND = {"STRING": "stringValue", "INT": "intValue", "DOUBLE": "doubleValue"}


class TaskFailed(RuntimeError):
    """A task's process exited non-zero: names the task and the end of its log."""


@dataclasses.dataclass
class TaskResult:
    name: str
    state: str  # SUCCEEDED, CACHED, SKIPPED
    seconds: float
    outputs: dict  # output key -> list of runtime artifacts (dicts)
    log: str | None = None  # the task's output file (container tasks that ran)


@dataclasses.dataclass
class RunResult:
    job_id: str
    tasks: dict  # task name -> TaskResult

    def artifact(self, task: str, key: str) -> dict:
        """The single output artifact ``key`` of ``task`` (a dict: name, type, uri, metadata)."""
        artifacts = self.tasks[task].outputs.get(key, [])
        if len(artifacts) != 1:
            raise KeyError(f"{task}.{key}: {len(artifacts)} artifacts")
        return artifacts[0]


def _dependencies(task: dict) -> set[str]:
    return set(task.get("dependentTasks", [])) | {
        a["taskOutputArtifact"]["producerTask"]
        for a in task.get("inputs", {}).get("artifacts", {}).values() if "taskOutputArtifact" in a}


def _upstream(tasks: dict, names) -> set[str]:
    wanted, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(_dependencies(tasks[name]))
    return wanted


def topological_order(tasks: dict) -> list[str]:
    """Task names so that every task comes after the tasks it depends on (deterministic)."""
    deps = {name: _dependencies(t) for name, t in tasks.items()}
    order, done = [], set()
    while len(order) < len(tasks):
        ready = sorted(n for n in tasks if n not in done and deps[n] <= done)
        if not ready:
            raise ValueError(f"cycle among tasks {sorted(set(tasks) - done)}")
        order += ready
        done |= set(ready)
    return order


class SpecRunner:
    """Runs one compiled PipelineJob JSON; see the module docstring."""

    def __init__(self, pipeline_json: str, state_dir: str, env: dict | None = None,
                 log: Callable[[str], None] = print, python: str = sys.executable,
                 read_bytes: Callable[[str], bytes] | None = None):
        """``env``: the tasks' environment; ``read_bytes``: how this process reads a task's
        output file (default tf.io.gfile, in this process's own environment)."""
        with open(pipeline_json, encoding="utf-8") as f:
            self.job = json.load(f)
        self.spec = self.job["pipelineSpec"]
        self.root = self.job["runtimeConfig"]["gcsOutputDirectory"].rstrip("/")
        self.state_dir, self.env, self.log, self.python = state_dir, env, log, python
        self._read = read_bytes or _gfile_bytes
        os.makedirs(state_dir, exist_ok=True)
        self._store_path = os.path.join(state_dir, "artifacts.json")
        self._cache_path = os.path.join(state_dir, "cache.json")
        self.store = _read_json(self._store_path, [])  # every artifact ever produced
        self.cache = _read_json(self._cache_path, {})  # cache key -> outputs

    def run(self, job_id: str | None = None, until: tuple[str, ...] = (),
            parameters: dict | None = None) -> RunResult:
        """Runs every task, or only ``until``'s tasks and what they depend on; ``parameters``:
        pipeline parameter values over the compiled ones (``runtimeConfig.parameters``), as
        ``PipelineJob(parameter_values=…)`` gives them."""
        self._values = self._pipeline_parameters(parameters or {})
        job_id = job_id or f"{self.spec['pipelineInfo']['name']}-{uuid.uuid4().hex[:8]}"
        tasks = self.spec["root"]["dag"]["tasks"]
        wanted = _upstream(tasks, until) if until else set(tasks)
        results: dict[str, TaskResult] = {}
        self._logs = os.path.join(self.state_dir, "logs", job_id)
        os.makedirs(self._logs, exist_ok=True)
        for name in (n for n in topological_order(tasks) if n in wanted):
            start = time.time()
            result = self._run_task(job_id, name, tasks[name], results)
            result.seconds = time.time() - start
            results[name] = result
            self.log(f"{name}: {result.state} in {result.seconds:.1f}s")
        return RunResult(job_id, results)

    # --- one task -------------------------------------------------------------------------
    def _run_task(self, job_id, name, task, results) -> TaskResult:
        component = self.spec["components"][task["componentRef"]["name"]]
        executor = self.spec["deploymentSpec"]["executors"][component["executorLabel"]]
        if any(results[d].state == "SKIPPED" for d in _dependencies(task)):
            return TaskResult(name, "SKIPPED", 0.0, {})
        inputs = self._input_artifacts(task, component, results)
        condition = task.get("triggerPolicy", {}).get("condition")
        if condition and not evaluate_condition(condition, inputs):
            return TaskResult(name, "SKIPPED", 0.0, {})
        if "resolver" in executor:
            outputs = self._resolve(executor["resolver"], component, inputs)
            return TaskResult(name, "SUCCEEDED", 0.0, outputs)
        task_dir = f"{self.root}/{job_id}/{name}_{uuid.uuid4().hex[:12]}"
        executor_input = {
            "inputs": {"parameters": self._parameters(task, component), "artifacts": inputs},
            "outputs": {"artifacts": self._new_outputs(component, task_dir),
                        "outputFile": f"{task_dir}/executor_output.json"}}
        container = executor["container"]
        driver_output = None
        hook = container.get("lifecycle", {}).get("preCacheCheck")
        if hook:
            self._exec(name + " (preCacheCheck)", hook["command"], hook["args"], executor_input)
            driver_output = json.loads(self._read(executor_input["outputs"]["outputFile"]))
        key = _cache_key(component, container, executor_input, driver_output)
        if task.get("cachingOptions", {}).get("enableCache") and key in self.cache:
            return TaskResult(name, "CACHED", 0.0, self.cache[key])
        log = self._exec(name, container["command"], container["args"], executor_input)
        produced = json.loads(self._read(executor_input["outputs"]["outputFile"])).get(
            "artifacts", {})
        outputs = {}
        for key_name, declared in executor_input["outputs"]["artifacts"].items():
            artifact = dict(declared["artifacts"][0])
            returned = (produced.get(key_name) or {}).get("artifacts") or [{}]
            artifact["metadata"] = returned[0].get("metadata", {})
            artifact["uri"] = returned[0].get("uri") or artifact["uri"]
            outputs[key_name] = [artifact]
            self.store.append({**artifact, "created": time.time(), "state": "LIVE"})
        self.cache[key] = outputs
        _write_json(self._store_path, self.store)
        _write_json(self._cache_path, self.cache)
        return TaskResult(name, "SUCCEEDED", 0.0, outputs, log)

    def _exec(self, label, command, args, executor_input) -> str:
        payload = json.dumps(executor_input)
        argv = [self.python if c == "python" else c for c in command]
        argv += [a.replace("{{$}}", payload) for a in args]
        leftover = [a for a in argv if "{{$" in a]
        if leftover:
            raise ValueError(f"{label}: unsupported placeholder in {leftover[0][:120]}")
        log_path = os.path.join(self._logs, f"{label.split(' ')[0]}{'.driver' * (' ' in label)}.log")
        # A fresh temp folder per task, removed afterwards, as a container's own /tmp would be
        # (TFX's Beam executors leave a ~50 MB repackaged copy of TFX there).
        scratch = tempfile.mkdtemp(prefix="task-", dir=self.state_dir)
        env = {**(os.environ if self.env is None else self.env), "TMPDIR": scratch}
        try:
            with open(log_path, "w", encoding="utf-8") as out:
                proc = subprocess.run(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                      check=False, cwd=self.state_dir)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if proc.returncode != 0:
            with open(log_path, encoding="utf-8") as f:
                tail = f.read()[-4000:]
            raise TaskFailed(f"task {label} exited {proc.returncode} ({log_path}):\n{tail}")
        return log_path

    # --- executor input ----------------------------------------------------------------------
    def _pipeline_parameters(self, given: dict) -> dict:
        """{name: typed value} of the root's parameters: the compiled values, ``given`` over
        them; an undeclared name or one without a value is an error."""
        declared = self.spec["root"].get("inputDefinitions", {}).get("parameters", {})
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise ValueError(f"unknown pipeline parameters {unknown}")
        values = dict(self.job["runtimeConfig"].get("parameters", {}))
        for name, value in given.items():
            kind = _PARAM_KIND[declared[name]["type"]]
            values[name] = {kind: int(value) if kind == "intValue" else value}
        missing = sorted(set(declared) - set(values))
        if missing:
            raise ValueError(f"pipeline parameters without a value: {missing}")
        return values

    def _parameters(self, task, component) -> dict:
        declared = component.get("inputDefinitions", {}).get("parameters", {})
        out = {}
        for pname, value in task.get("inputs", {}).get("parameters", {}).items():
            if "componentInputParameter" in value:
                constant = self._values[value["componentInputParameter"]]
            else:
                constant = value["runtimeValue"]["constantValue"]
            kind = _PARAM_KIND[declared[pname]["type"]]
            raw = next(iter(constant.values()))
            out[pname] = {kind: int(raw) if kind == "intValue" else raw}
        return out

    def _input_artifacts(self, task, component, results) -> dict:
        declared = component.get("inputDefinitions", {}).get("artifacts", {})
        out = {}
        for key, ref in task.get("inputs", {}).get("artifacts", {}).items():
            source = ref["taskOutputArtifact"]
            artifacts = results[source["producerTask"]].outputs.get(source["outputArtifactKey"], [])
            typed = [{**a, "type": _type_of(declared[key])} for a in artifacts]
            out[key] = {"artifacts": typed}
        return out

    def _new_outputs(self, component, task_dir) -> dict:
        declared = component.get("outputDefinitions", {}).get("artifacts", {})
        return {key: {"artifacts": [{
            "name": f"projects/local/locations/local/metadataStores/default/artifacts/"
                    f"{uuid.uuid4().hex}",
            "type": _type_of(spec), "uri": f"{task_dir}/{key}", "metadata": {}}]}
            for key, spec in declared.items()}

    # --- resolver -----------------------------------------------------------------------------
    def _resolve(self, resolver, component, inputs) -> dict:
        declared = component.get("outputDefinitions", {}).get("artifacts", {})
        outputs = {}
        for key, query in resolver["outputArtifactQueries"].items():
            expression = _PLACEHOLDER.sub(
                lambda m: str(_metadata_of(inputs, m.group(1), m.group(2))), query["filter"])
            matches = [a for a in self.store if _matches(a, expression)]
            newest = sorted(matches, key=lambda a: a["created"])[-1:]
            outputs[key] = [{**a, "type": _type_of(declared[key])} for a in newest]
            for a in outputs[key]:
                a.pop("created", None), a.pop("state", None)
        return outputs


def evaluate_condition(expression: str, artifacts: dict) -> bool:
    """A KFP ``triggerPolicy.condition`` on a task's input artifacts: the CEL subset TFX's
    compiler writes (``inputs.artifacts['K'].artifacts[0].metadata['blessed'] == 1.0``, ``.uri``,
    numbers, strings, ``== < >``, ``!``, ``&&``, ``||``, ``+``), evaluated without ``eval``.

    Raises:
      ValueError: any other construct; KeyError: a missing artifact or metadata key (KFP fails
        the task as well).
    """
    python = re.sub(r"!(?!=)", " not ", expression.replace("&&", " and ").replace("||", " or "))
    tree = ast.parse(python.strip(), mode="eval")
    return bool(_cel(tree.body, {"inputs": {"artifacts": artifacts}}))


def _cel(node, names):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
        return node.value
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if isinstance(node, ast.Attribute):
        return _cel(node.value, names)[node.attr]
    if isinstance(node, ast.Subscript):
        return _cel(node.value, names)[_cel(node.slice, names)]
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        lhs, rhs = _cel(node.left, names), _cel(node.comparators[0], names)
        ops = {ast.Eq: lambda a, b: a == b, ast.Lt: lambda a, b: a < b,
               ast.Gt: lambda a, b: a > b}
        if type(node.ops[0]) in ops:
            return ops[type(node.ops[0])](lhs, rhs)
    if isinstance(node, ast.BoolOp):
        values = (_cel(v, names) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _cel(node.operand, names)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _cel(node.left, names) + _cel(node.right, names)
    raise ValueError(f"unsupported condition construct {ast.dump(node)[:80]}")


def _metadata_of(inputs, key, field):
    artifacts = inputs.get(key, {}).get("artifacts", [])
    return artifacts[0]["metadata"].get(field, "") if artifacts else ""


def _title(artifact_or_type: dict) -> str:
    schema = artifact_or_type.get("instanceSchema", "")
    match = re.search(r"^title:\s*(\S+)", schema, re.M)
    return match.group(1) if match else artifact_or_type.get("schemaTitle", "")


def _matches(artifact: dict, expression: str) -> bool:
    """A Vertex ML Metadata filter of ``AND``-joined equalities, as TFX's resolvers compile."""
    for clause in expression.split(" AND "):
        field, _, value = clause.strip().partition("=")
        value = value.strip('"')
        if field == "schema_title":
            ok = _title(artifact["type"]) == value
        elif field == "state":
            ok = artifact.get("state") == value
        elif field == "name":
            ok = artifact["name"] == value
        elif field.startswith("metadata.") and field.endswith(".number_value"):
            got = artifact.get("metadata", {}).get(field[len("metadata."):-len(".number_value")])
            ok = got is not None and float(got) == float(value)
        else:
            raise ValueError(f"unsupported resolver filter clause {clause!r}")
        if not ok:
            return False
    return True


def _type_of(definition: dict) -> dict:
    return dict(definition["artifactType"])


def _cache_key(component, container, executor_input, driver_output) -> str:
    inputs = {k: [(a["name"], a["uri"]) for a in v["artifacts"]]
              for k, v in executor_input["inputs"]["artifacts"].items()}
    blob = json.dumps([component, container.get("image"), container["command"], container["args"],
                       executor_input["inputs"]["parameters"], inputs,
                       (driver_output or {}).get("parameterValues")], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _read_json(path, default):
    if not os.path.exists(path):
        return default
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _write_json(path, obj) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def _gfile_bytes(uri: str) -> bytes:
    import tensorflow as tf  # only when no read_bytes is given: importing the runner stays light

    with tf.io.gfile.GFile(uri, "rb") as f:
        return f.read()
