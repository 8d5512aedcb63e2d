"""The artifact types that the pipeline UIs draw, written as the KFP SDK writes them.

TFX 1.16 compiles every output type as ``instanceSchema: "title: system.Metrics\\ntype:
object\\n"``. The KFP SDK writes its own ``Metrics``, ``HTML`` and ``Markdown`` outputs as
``schemaTitle`` plus ``schemaVersion`` (``kfp.dsl.Metrics.schema_title`` / ``schema_version``);
Vertex AI Pipelines resolves a schema title and version to its ``system.*`` schemas, which its
run page visualizes (tensorflow/tfx#5640: TFX's output gets no HTML / Markdown view there). The
open-source KFP launcher turns either form into the same ML Metadata type name
(``backend/src/v2/component/launcher_v2.go`` getArtifactSchema: ``"title: " + schemaTitle``;
``metadata/client.go`` SchemaToArtifactType), and its UI filters artifacts by that name
(``frontend/src/components/viewers/MetricsVisualizations.tsx``). TFX's entrypoint imports a
``schemaTitle`` as it does an instance schema's title (``kubeflow_v2_entrypoint_utils.
_retrieve_class_path``), here the ``system`` module's classes.
"""
from __future__ import annotations

import yaml
from kfp import dsl

KFP_TYPES = {cls.schema_title: cls.schema_version for cls in (dsl.Metrics, dsl.HTML, dsl.Markdown)}


def title(artifact_type: dict | None) -> str | None:
    """The schema title of an artifact type in either form (``schemaTitle`` or an
    ``instanceSchema``'s ``title``), None when it has none."""
    if not artifact_type:
        return None
    if artifact_type.get("schemaTitle"):
        return artifact_type["schemaTitle"]
    return (yaml.safe_load(artifact_type.get("instanceSchema") or "") or {}).get("title")


def apply(spec: dict) -> list[str]:
    """Rewrites, in place, every component input and output of a UI type to the KFP SDK's form;
    returns the ``component.key`` names changed."""
    changed = []
    for name, component in sorted(spec.get("components", {}).items()):
        for side in ("inputDefinitions", "outputDefinitions"):
            for key, definition in sorted(component.get(side, {}).get("artifacts", {}).items()):
                ui = title(definition.get("artifactType"))
                if ui in KFP_TYPES:
                    definition["artifactType"] = {"schemaTitle": ui,
                                                  "schemaVersion": KFP_TYPES[ui]}
                    changed.append(f"{name}.{key}")
    return changed
