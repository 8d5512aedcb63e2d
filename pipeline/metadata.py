"""The local runner's ML Metadata store: one sqlite file per pipeline root.

Supplied by the runner (``local_runner``), never by ``create_pipeline``: on Kubeflow / Vertex AI
the orchestrator brings its own store.
"""
from __future__ import annotations

import os

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2


FILENAME = "metadata.sqlite"


def default_path(pipeline_root: str) -> str:
    """Where the local runner keeps a pipeline root's store unless told otherwise."""
    return os.path.join(pipeline_root, FILENAME)


def sqlite_connection(path: str) -> metadata_store_pb2.ConnectionConfig:
    """MLMD sqlite connection config, built without touching the filesystem."""
    conn = metadata_store_pb2.ConnectionConfig()
    conn.sqlite.filename_uri = path
    conn.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    return conn


def open_store(path: str, must_exist: bool = False) -> metadata_store.MetadataStore:
    """The store at ``path``: created when absent, or with ``must_exist`` (reading the runs of
    an earlier run) FileNotFoundError; a file that is no store is a ValueError naming it."""
    if must_exist and not os.path.isfile(path):
        raise FileNotFoundError(f"no pipeline metadata at {path}: run `yt8m pipeline run` first "
                                "or pass the `pipeline_root` of an earlier run")
    try:
        return metadata_store.MetadataStore(sqlite_connection(path))
    except RuntimeError as e:  # ml_metadata's own error for a file that is no sqlite store
        raise ValueError(f"{path}: not a readable pipeline metadata store "
                         f"({str(e).split(' query:')[0]})") from None
