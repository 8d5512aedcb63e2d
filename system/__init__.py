"""Artifact types that the Kubeflow Pipelines and Vertex AI Pipelines run pages render.

Both UIs draw an artifact by its schema title: ``system.Metrics`` (its metadata numbers as
scalar metrics), ``system.HTML`` and ``system.Markdown`` (the file at the artifact's URI).
TFX 1.16 compiles a custom artifact type with the title ``TYPE_NAME`` and, inside the
container, imports that title as a class path, so the titles need this importable ``system``
module. TFX's own ``tfx.Metrics`` is compiled as ``tfx.Metrics``, which neither UI renders.
"""
from tfx import types


class Metrics(types.Artifact):
    """Scalar metrics, kept in the artifact's metadata (custom properties)."""

    TYPE_NAME = "system.Metrics"


class HTML(types.Artifact):
    """An HTML page stored at the artifact's URI itself (a file, not a folder)."""

    TYPE_NAME = "system.HTML"


class Markdown(types.Artifact):
    """A Markdown page stored at the artifact's URI itself."""

    TYPE_NAME = "system.Markdown"


ALL = (Metrics, HTML, Markdown)
