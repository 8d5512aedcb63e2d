"""The newest blessed model of a pipeline, read from an open-source KFP cluster's ML Metadata.

What the artifacts look like there (kubeflow/pipelines ``backend/src/v2``): every task's outputs
are recorded by the launcher as MLMD artifacts whose type name is the schema title
(``tfx.ModelBlessing``, ``tfx.Model``; ``metadata/client.go`` RecordArtifact / SchemaToArtifactType)
and whose metadata are custom properties (numbers as doubles, ``metadata/converter.go``
StructValueToMLMDValue), attributed to the ``system.Pipeline`` context named after the
pipeline (``metadata/client.go`` GetPipeline, PublishExecution). TFX's Evaluator records on its
blessing the input model it judged: ``current_model_id``, the model's runtime name, which on
open-source KFP is its MLMD id (``metadata/converter.go`` toRuntimeArtifact).
"""
from __future__ import annotations

import os

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

HOST_ENV, PORT_ENV = "METADATA_GRPC_SERVICE_HOST", "METADATA_GRPC_SERVICE_PORT"
PIPELINE_CONTEXT = "system.Pipeline"
BLESSING_TYPE, MODEL_TYPE = "tfx.ModelBlessing", "tfx.Model"
# Custom properties the KFP launcher adds to every artifact: not the model's own metadata.
KFP_PROPERTIES = ("display_name", "store_session_info")


def connect_from_env(environ=os.environ) -> metadata_store.MetadataStore:
    """The cluster's MLMD gRPC service, from the environment that KFP's
    ``metadata-grpc-configmap`` gives every task.

    Raises:
      ValueError: the environment does not name the service.
    """
    host, port = environ.get(HOST_ENV), environ.get(PORT_ENV)
    if not host or not port or not port.isdigit():
        raise ValueError(f"ML Metadata's gRPC address is not set: {HOST_ENV}={host!r}, "
                         f"{PORT_ENV}={port!r} (KFP's metadata-grpc-configmap provides them)")
    config = metadata_store_pb2.MetadataStoreClientConfig(host=host, port=int(port))
    return metadata_store.MetadataStore(config)


def _number(value: metadata_store_pb2.Value) -> float | None:
    kind = value.WhichOneof("value")
    if kind in ("int_value", "double_value"):
        return float(getattr(value, kind))
    if kind == "string_value":
        try:
            return float(value.string_value)
        except ValueError:
            return None
    return None


def latest_blessed_model(store, pipeline_name: str) -> metadata_store_pb2.Artifact | None:
    """The model of the newest LIVE ``tfx.ModelBlessing`` with ``blessed`` == 1 in the
    pipeline's context, or None (a first run, or nothing blessed yet)."""
    context = store.get_context_by_type_and_name(PIPELINE_CONTEXT, pipeline_name)
    if context is None:
        return None
    types = {t.id: t.name for t in store.get_artifact_types()}
    blessings = [a for a in store.get_artifacts_by_context(context.id)
                 if types.get(a.type_id) == BLESSING_TYPE
                 and a.state == metadata_store_pb2.Artifact.LIVE
                 and "blessed" in a.custom_properties
                 and _number(a.custom_properties["blessed"]) == 1.0]
    for blessing in sorted(blessings, key=lambda a: (a.create_time_since_epoch, a.id),
                           reverse=True):
        model_id = _number(blessing.custom_properties.get(
            "current_model_id", metadata_store_pb2.Value()))
        if model_id is None:
            continue
        models = store.get_artifacts_by_id([int(model_id)])
        if models and types.get(models[0].type_id) == MODEL_TYPE:
            return models[0]
    return None


def model_metadata(model: metadata_store_pb2.Artifact) -> dict:
    """The model's own custom properties as plain values (strings, numbers)."""
    out = {}
    for key, value in model.custom_properties.items():
        kind = value.WhichOneof("value")
        if key in KFP_PROPERTIES or kind not in ("string_value", "int_value", "double_value"):
            continue
        out[key] = getattr(value, kind)
    return out
