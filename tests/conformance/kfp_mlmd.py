"""ML Metadata as open-source KFP's driver and launcher write and read it
(``backend/src/v2/metadata/client.go`` and ``converter.go``, HEAD 7b70c7b): contexts,
executions with their events, artifacts with their metadata as custom properties.
"""
from __future__ import annotations

import yaml
from google.protobuf import json_format, struct_pb2
from ml_metadata.proto import metadata_store_pb2 as mlmd


class TaskFailed(RuntimeError):
    """A task's driver or launcher failed: names the task and the end of its log."""


class Records:
    """The KFP launcher's MLMD calls over one gRPC client; ``contexts``: the run's pipeline
    and run contexts, set when the run starts."""

    def __init__(self, client):
        self.mlmd = client
        self.contexts: list = []

    def record_artifact(self, name, artifact) -> int:
        """client.go:1199-1276 RecordArtifact: the type named by the schema's title (an empty
        title stops the launcher: glog.Fatal, :1206-1209); metadata as custom properties
        (converter.go:110-172: numbers double, booleans int, lists/structs wrapped, null an
        error); ``display_name`` and ``store_session_info`` added."""
        schema = artifact["type"].get("instanceSchema") or (
            "title: " + artifact["type"]["schemaTitle"] if artifact["type"].get("schemaTitle")
            else "")
        title = (yaml.safe_load(schema) or {}).get("title") if schema else None
        if not title:
            raise TaskFailed(f"output {name}: No title specified (launcher exits)")
        type_id = self.mlmd.put_artifact_type(mlmd.ArtifactType(name=title))
        props = {k: _mlmd_value(name, k, v) for k, v in (artifact.get("metadata") or {}).items()}
        props.setdefault("display_name", mlmd.Value(string_value=name))
        props.setdefault("store_session_info", mlmd.Value(string_value="{}"))
        out = mlmd.Artifact(type_id=type_id, uri=artifact["uri"], state=mlmd.Artifact.LIVE)
        for k, v in props.items():
            out.custom_properties[k].CopyFrom(v)
        return self.mlmd.put_artifacts([out])[0]

    def publish(self, execution_id, params, recorded) -> None:
        """client.go:558-636 PublishExecution: output parameters in ``outputs``, OUTPUT events
        named by the output key, the pipeline and run contexts."""
        execution = self.mlmd.get_executions_by_id([execution_id])[0]
        execution.last_known_state = mlmd.Execution.COMPLETE
        execution.custom_properties["outputs"].struct_value.CopyFrom(_struct(params))
        pairs = [(mlmd.Artifact(id=i, type_id=self.mlmd.get_artifacts_by_id([i])[0].type_id),
                  _event(mlmd.Event.OUTPUT, key)) for key, i in recorded]
        for artifact, _ in pairs:
            artifact.CopyFrom(self.mlmd.get_artifacts_by_id([artifact.id])[0])
        self.mlmd.put_execution(execution, pairs, self.contexts,
                                reuse_context_if_already_exist=True)

    def put_execution(self, type_name, properties, state, input_ids, output_ids=()) -> int:
        """client.go:638-777 CreateExecution (INPUT events by input name, both contexts)."""
        type_id = self.mlmd.put_execution_type(mlmd.ExecutionType(name=type_name))
        execution = mlmd.Execution(type_id=type_id, last_known_state=state)
        for k, v in properties.items():
            if isinstance(v, dict):
                execution.custom_properties[k].struct_value.CopyFrom(_struct(v))
            elif isinstance(v, int):
                execution.custom_properties[k].int_value = v
            else:
                execution.custom_properties[k].string_value = str(v)
        pairs = []
        for key, ids in (input_ids.items() if isinstance(input_ids, dict) else []):
            pairs += [(self.mlmd.get_artifacts_by_id([i])[0], _event(mlmd.Event.INPUT, key))
                      for i in ids]
        pairs += [(self.mlmd.get_artifacts_by_id([int(i)])[0], _event(mlmd.Event.OUTPUT, key))
                  for key, i in output_ids]
        execution_id, _, _ = self.mlmd.put_execution(execution, pairs, self.contexts,
                                                     reuse_context_if_already_exist=True)
        return execution_id

    def update_state(self, execution_id, state) -> None:
        execution = self.mlmd.get_executions_by_id([execution_id])[0]
        execution.last_known_state = state
        self.mlmd.put_executions([execution])

    def output_artifacts(self, execution_id) -> dict:
        """client.go:1113-1147 + converter.go:186-221: outputs by event name, as
        RuntimeArtifacts (name = MLMD id, metadata from custom properties)."""
        events = [e for e in self.mlmd.get_events_by_execution_ids([execution_id])
                  if e.type == mlmd.Event.OUTPUT]
        out: dict[str, list] = {}
        for event in events:
            artifact = self.mlmd.get_artifacts_by_id([event.artifact_id])[0]
            out.setdefault(event.path.steps[0].key, []).append({
                "name": str(artifact.id), "uri": artifact.uri,
                "metadata": {k: _plain(v) for k, v in artifact.custom_properties.items()}})
        return out

    def execution_outputs(self, execution_id) -> dict:
        execution = self.mlmd.get_executions_by_id([execution_id])[0]
        if "outputs" not in execution.custom_properties:
            return {}
        return json_format.MessageToDict(execution.custom_properties["outputs"].struct_value)

    def context(self, type_name, name, properties) -> mlmd.Context:
        existing = self.mlmd.get_context_by_type_and_name(type_name, name)
        if existing is not None:
            return existing
        type_id = self.mlmd.put_context_type(mlmd.ContextType(name=type_name))
        context = mlmd.Context(type_id=type_id, name=name)
        for k, v in properties.items():
            context.custom_properties[k].string_value = v
        context.id = self.mlmd.put_contexts([context])[0]
        return context


def _struct(values: dict) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(values)
    return out


def _mlmd_value(output: str, key: str, value) -> mlmd.Value:
    """converter.go:138-172 StructValueToMLMDValue."""
    if isinstance(value, bool):
        return mlmd.Value(int_value=int(value))
    if isinstance(value, (int, float)):
        return mlmd.Value(double_value=float(value))
    if isinstance(value, str):
        return mlmd.Value(string_value=value)
    if isinstance(value, (list, dict)):
        out = mlmd.Value()
        out.struct_value.CopyFrom(_struct({"list" if isinstance(value, list) else "struct": value}))
        return out
    raise TaskFailed(f"unable to produce MLMD artifact for output {output!r}: failed to convert "
                     f"RuntimeArtifact to MLMD artifact: unknown/unsupported value type "
                     f"{type(value).__name__} ({key})")


def _plain(value: mlmd.Value):
    """converter.go:196-221: string, double, int (as a number) and struct values."""
    kind = value.WhichOneof("value")
    if kind == "struct_value":
        return json_format.MessageToDict(value.struct_value)
    if kind == "int_value":
        return float(value.int_value)
    return getattr(value, kind)


def _event(kind, key: str) -> mlmd.Event:
    """client.go:539-547 eventPath: the artifact's name in this execution is the path key."""
    event = mlmd.Event(type=kind)
    event.path.steps.add().key = key
    return event
