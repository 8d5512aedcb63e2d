"""The local runner's ML Metadata store: one sqlite file per pipeline root.

Supplied by the runner (``local_runner``), never by ``create_pipeline``: on Kubeflow / Vertex AI
the orchestrator brings its own store.
"""
from __future__ import annotations

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2


def sqlite_connection(path: str) -> metadata_store_pb2.ConnectionConfig:
    """MLMD sqlite connection config, built without touching the filesystem."""
    conn = metadata_store_pb2.ConnectionConfig()
    conn.sqlite.filename_uri = path
    conn.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    return conn


def open_store(path: str) -> metadata_store.MetadataStore:
    """The store at ``path`` (created when absent)."""
    return metadata_store.MetadataStore(sqlite_connection(path))
