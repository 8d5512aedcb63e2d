"""The pipeline image's container entrypoint on open-source Kubeflow Pipelines 2.x.

Compiled in as TFX's ``default_commands`` (``python -m kubeflow.entrypoint``), it takes the
arguments TFX's own v2 entrypoint takes and hands them to that entrypoint, unmodified TFX code,
after adapting the ExecutorInput that the open-source KFP driver builds. References are to
kubeflow/pipelines ``backend/src/v2``:

* Input artifacts come back from ML Metadata without their type schema
  (``metadata/client.go`` OutputArtifact.ToRuntimeArtifact: ``instanceSchema: ""``), which TFX
  cannot import: each gets the type its input is declared with (the component's inputs spec,
  passed by TFX as ``--json_serialized_inputs_spec_args`` under schema 2.1).
* Metadata went through MLMD custom properties (``metadata/converter.go``
  StructValueToMLMDValue): lists and structs come back wrapped as ``{"list": …}`` /
  ``{"struct": …}`` and are unwrapped; a null value would fail the launcher's record step, so
  null metadata are dropped from the executor's output. A ``system.Metrics`` output keeps only
  its numbers: both UIs list every metadata entry as a metric.
* The driver adds an ``executor-logs`` output of type ``system.Artifact`` that the launcher
  itself writes (``driver/driver.go`` provisionOutputs): it is not handed to TFX.
* The "no baseline" artifact of ``LatestBlessedModel`` is dropped, so the Evaluator gets an
  empty baseline, as after an empty resolver result.
* After the executor, zero-byte ``dir/`` marker objects that TensorFlow's GCS filesystem leaves
  under the task's own output URIs are deleted: the launcher downloads every input artifact
  (``component/launcher_v2.go`` downloadArtifacts) and fails on such a marker.
* ExampleGen's ``preCacheCheck`` hook is never run there: with ``--example_gen_driver`` this
  entrypoint runs TFX's ExampleGen driver as a task of its own and returns its output
  (span, version, fingerprint, resolved patterns) as the output parameter ``driver_output``; the
  ExampleGen task takes it as the input parameter ``yt8m_driver_output`` (so KFP's cache key
  sees the data) and hands it to TFX's entrypoint where the driver's output file would be.

On Vertex AI Pipelines the same entrypoint runs: inputs arrive typed there and no marker
breaks a download, so only the output tidying and ``LatestBlessedModel``'s absence matter.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

from components.latest_blessed_model.component import NO_BASELINE
from kubeflow import ui_types

EXECUTOR_LOGS = "executor-logs"
DRIVER_OUTPUT = "driver_output"  # the driver task's output parameter
DRIVER_INPUT = "yt8m_driver_output"  # ExampleGen's input parameter fed from it
_WRAPPERS = ("list", "struct")
METRICS = "system.Metrics"
TFX_BOOKKEEPING = ("tfx_version", "is_external")


def adapt_executor_input(executor_input: dict, inputs_spec: dict | None) -> dict:
    """The ExecutorInput as TFX's entrypoint needs it (see the module docstring); a new dict.

    Raises:
      ValueError: an input artifact without a type and no inputs spec to take it from.
    """
    out = json.loads(json.dumps(executor_input))
    declared = (inputs_spec or {}).get("artifacts", {})
    inputs = out.setdefault("inputs", {})
    for key, artifact_list in inputs.get("artifacts", {}).items():
        kept = []
        for artifact in artifact_list.get("artifacts", []):
            metadata = {k: _unwrap(v) for k, v in (artifact.get("metadata") or {}).items()}
            if metadata.get(NO_BASELINE):
                continue
            artifact["metadata"] = metadata
            if not _has_type(artifact.get("type")):
                if key not in declared:
                    raise ValueError(f"input artifact {key!r} has no type and the component's "
                                     "inputs spec does not declare it (compile with schema 2.1)")
                artifact["type"] = declared[key]["artifactType"]
            kept.append(artifact)
        artifact_list["artifacts"] = kept
    out.get("outputs", {}).get("artifacts", {}).pop(EXECUTOR_LOGS, None)
    inputs.get("parameterValues", {}).pop(DRIVER_INPUT, None)
    return out


def _has_type(artifact_type) -> bool:
    return bool(artifact_type) and any(artifact_type.get(k) for k in (
        "schemaTitle", "instanceSchema"))


def _unwrap(value):
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _WRAPPERS:
        return next(iter(value.values()))
    return value


def tidy_output_metadata(executor_output: dict, output_types: dict) -> dict:
    """The executor's output without null metadata values (KFP cannot record them); a
    ``system.Metrics`` output keeps only its numbers, which the UIs list as its metrics (TFX
    adds ``tfx_version`` and ``is_external`` to every output). ``output_types``: output key ->
    its artifact type."""
    for key, artifact_list in executor_output.get("artifacts", {}).items():
        metrics = ui_types.title(output_types.get(key)) == METRICS
        for artifact in artifact_list.get("artifacts", []):
            metadata = artifact.get("metadata")
            if metadata:
                artifact["metadata"] = {k: v for k, v in metadata.items() if v is not None and (
                    not metrics or (k not in TFX_BOOKKEEPING and _is_number(v)))}
    return executor_output


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def remove_directory_markers(uri: str) -> list[str]:
    """Deletes the zero-byte ``…/`` objects under a ``gs://`` URI, and only those (Beam's
    ``FileSystems.delete`` of a ``…/`` path would delete the whole folder); returns their URIs.
    Local paths have none."""
    if not uri.startswith("gs://"):
        return []
    from google.cloud import storage

    bucket_name, _, prefix = uri[len("gs://"):].partition("/")
    bucket = storage.Client().bucket(bucket_name)
    removed = []
    for blob in bucket.list_blobs(prefix=prefix.rstrip("/") + "/"):
        if blob.name.endswith("/") and blob.size == 0:
            blob.delete()
            removed.append(f"gs://{bucket_name}/{blob.name}")
    return removed


def _read_json_file(path: str) -> dict:
    from tfx.dsl.io import fileio

    with fileio.open(path, "rb") as f:
        return json.loads(f.read())


def _write_json_file(path: str, value: dict) -> None:
    from tfx.dsl.io import fileio

    fileio.makedirs(os.path.dirname(path))
    with fileio.open(path, "wb") as f:
        f.write(json.dumps(value).encode("utf-8"))


def run_example_gen_driver(executor_input: dict, inputs_spec_json: str | None) -> None:
    """TFX's file-based ExampleGen driver; its ExecutorOutput becomes ``driver_output``."""
    from tfx.orchestration.kubeflow.v2.file_based_example_gen import driver

    scratch = tempfile.mkdtemp(prefix="example-gen-driver-")
    task_root = os.path.dirname(executor_input["outputs"]["outputFile"])
    driver_input = {"inputs": executor_input.get("inputs", {}), "outputs": {
        "artifacts": {"examples": {"artifacts": [{
            "name": "examples", "uri": f"{task_root}/examples",
            "type": {"schemaTitle": "tfx.Examples"}}]}},
        "outputFile": os.path.join(scratch, "driver_output.json")}}
    driver.main(argparse.Namespace(json_serialized_invocation_args=json.dumps(driver_input),
                                   json_serialized_inputs_spec_args=inputs_spec_json))
    produced = _read_json_file(driver_input["outputs"]["outputFile"])
    handed_on = {"parameterValues": produced.get("parameterValues", {})}
    _write_json_file(executor_input["outputs"]["outputFile"], {
        "parameterValues": {DRIVER_OUTPUT: json.dumps(handed_on, sort_keys=True)}})


def run_executor(args: argparse.Namespace, beam_args: list[str]) -> None:
    """Adapts the ExecutorInput, runs TFX's v2 entrypoint, then tidies the outputs."""
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor

    raw = json.loads(args.json_serialized_invocation_args)
    spec = json.loads(args.json_serialized_inputs_spec_args or "null")
    adapted = adapt_executor_input(raw, spec)
    output_file = adapted["outputs"]["outputFile"]
    driver_output = raw.get("inputs", {}).get("parameterValues", {}).get(DRIVER_INPUT)
    if driver_output:  # where TFX's entrypoint reads a driver's output (run_executor.py)
        _write_json_file(output_file, json.loads(driver_output))
    kubeflow_v2_run_executor.main((argparse.Namespace(
        executor_class_path=args.executor_class_path,
        json_serialized_invocation_args=json.dumps(adapted),
        json_serialized_inputs_spec_args=args.json_serialized_inputs_spec_args), beam_args))
    types = {k: (v.get("artifacts") or [{}])[0].get("type")
             for k, v in adapted["outputs"].get("artifacts", {}).items()}
    _write_json_file(output_file, tidy_output_metadata(_read_json_file(output_file), types))
    for artifact_list in adapted["outputs"].get("artifacts", {}).values():
        for artifact in artifact_list.get("artifacts", []):
            for marker in remove_directory_markers(artifact["uri"]):
                print(f"removed directory marker {marker}")


def _parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    from absl.flags import argparse_flags  # parses absl's flags too, as TFX's entrypoint does

    parser = argparse_flags.ArgumentParser(prog="kubeflow.entrypoint")
    parser.add_argument("--executor_class_path", default=None)
    parser.add_argument("--json_serialized_invocation_args", required=True)
    parser.add_argument("--json_serialized_inputs_spec_args", default=None)
    parser.add_argument("--example_gen_driver", action="store_true")
    return parser.parse_known_args(argv[1:])


def main(parsed: tuple[argparse.Namespace, list[str]]) -> None:
    args, beam_args = parsed
    if args.example_gen_driver:
        run_example_gen_driver(json.loads(args.json_serialized_invocation_args),
                               args.json_serialized_inputs_spec_args)
    else:
        run_executor(args, beam_args)


if __name__ == "__main__":
    from absl import app

    app.run(main, argv=sys.argv, flags_parser=_parse)
