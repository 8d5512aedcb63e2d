"""Reads a finished local run back from MLMD: metrics, blessing, pushed model, CSV and .tgz."""
from __future__ import annotations

import os

from ml_metadata.metadata_store import metadata_store

from components.run_report import report_lib
from pipeline import create
from pipeline.config import PipelineConfig


def _newest(store, type_name: str):
    artifacts = store.get_artifacts_by_type(type_name)
    return max(artifacts, key=lambda a: a.id) if artifacts else None


def custom_property(artifact, name, kind="int_value"):
    if artifact is None or name not in artifact.custom_properties:
        return None
    return getattr(artifact.custom_properties[name], kind)


_STATES = {2: "RUNNING", 3: "COMPLETE", 4: "FAILED", 5: "CACHED", 6: "CANCELED"}


def run_executions(store, run=None) -> list[tuple[str, str, float, object]]:
    """(node id, state, wall seconds, execution) of a run's executions (the newest run when
    None), in execution order."""
    if run is None:
        runs = store.get_contexts_by_type("pipeline_run")
        if not runs:
            return []
        run = max(runs, key=lambda c: c.id)
    rows = []
    for execution in sorted(store.get_executions_by_context(run.id), key=lambda e: e.id):
        node = next((c.name.split(".", 1)[-1] for c in store.get_contexts_by_execution(execution.id)
                     if c.type_id != run.type_id and "." in c.name), "?")
        seconds = (execution.last_update_time_since_epoch
                   - execution.create_time_since_epoch) / 1000.0
        rows.append((node, _STATES.get(execution.last_known_state, "UNKNOWN"), seconds, execution))
    return rows


def component_times(store, run=None) -> list[tuple[str, str, float]]:
    """(node id, state, wall seconds) of every execution of a run (default: the newest)."""
    return [row[:3] for row in run_executions(store, run)]


def latest_outcome(config: PipelineConfig) -> dict:
    store = metadata_store.MetadataStore(create.sqlite_connection(config.resolved_metadata_path()))
    evaluation = _newest(store, "ModelEvaluation")
    blessing = _newest(store, "ModelBlessing")
    pushed = _newest(store, "PushedModel")
    submission = _newest(store, "yt8m.KaggleSubmission")
    archive = _newest(store, "yt8m.ModelArchive")
    report = _newest(store, "yt8m.RunReport")
    out = {"metrics": report_lib.evaluator_metrics(evaluation.uri) if evaluation else {},
           "blessed": bool(custom_property(blessing, "blessed")),
           "pushed": bool(custom_property(pushed, "pushed")),
           "pushed_dir": custom_property(pushed, "pushed_destination", "string_value"),
           "csv": custom_property(submission, "path", "string_value"),
           "csv_rows": custom_property(submission, "row_count"),
           "model_tgz": custom_property(archive, "path", "string_value"),
           "report": custom_property(report, "path", "string_value"),
           "components": component_times(store)}
    if out["pushed_dir"] and not os.path.exists(out["pushed_dir"]):
        out["pushed_dir"] = None
    return out
