"""Reads a finished local run back from MLMD: metrics, blessing, pushed model, CSV and .tgz."""
from __future__ import annotations

import contextlib
import fcntl
import os

from ml_metadata.proto import metadata_store_pb2

import yt8m
from components.run_report import report_lib
from pipeline import metadata
from pipeline.config import PipelineConfig
from trainer_module import io_utils


def custom_property(artifact, name, kind="int_value"):
    if artifact is None or name not in artifact.custom_properties:
        return None
    return getattr(artifact.custom_properties[name], kind)


_STATES = {2: "RUNNING", 3: "COMPLETE", 4: "FAILED", 5: "CACHED", 6: "CANCELED"}
LOCK_FILE = ".yt8m-run.lock"


@contextlib.contextmanager
def run_lock(metadata_path: str):
    """Holds the metadata store's run lock for one `yt8m pipeline run` (released when the
    process ends, however it ends).

    Raises:
      ValueError: another process holds it: two runs on one store would read each other's
        artifacts as their own.
    """
    path = os.path.join(os.path.dirname(os.path.abspath(metadata_path)), LOCK_FILE)
    with io_utils.exclusive_lock(path, lambda holder: (
            f"{metadata_path} is in use by another `yt8m pipeline run` (pid {holder}): wait for "
            "it to finish or use another `pipeline_root`")):
        yield


def run_in_progress(metadata_path: str) -> bool:
    """True while some process holds the run lock of this metadata store."""
    path = os.path.join(os.path.dirname(os.path.abspath(metadata_path)), LOCK_FILE)
    if not os.path.exists(path):
        return False
    with open(path, encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


def run_contexts(store) -> list:
    """Every pipeline run's context in the store, newest first."""
    return sorted(store.get_contexts_by_type("pipeline_run"), key=lambda c: c.id, reverse=True)


def run_executions(store, run=None, live: bool = True) -> list[tuple[str, str, float, object]]:
    """(node id, state, wall seconds, execution) of a run's executions (the newest run when
    None), in execution order. With ``live`` False (no run holds the store's lock), an execution
    still marked RUNNING belongs to a killed run: its state reads KILLED."""
    if run is None:
        runs = run_contexts(store)
        if not runs:
            return []
        run = runs[0]
    rows = []
    for execution in sorted(store.get_executions_by_context(run.id), key=lambda e: e.id):
        node = next((c.name.split(".", 1)[-1] for c in store.get_contexts_by_execution(execution.id)
                     if c.type_id != run.type_id and "." in c.name), "?")
        seconds = (execution.last_update_time_since_epoch
                   - execution.create_time_since_epoch) / 1000.0
        state = _STATES.get(execution.last_known_state, "UNKNOWN")
        if state == "RUNNING" and not live:
            state = "KILLED"
        rows.append((node, state, seconds, execution))
    return rows


def component_times(store, run=None, live: bool = True) -> list[tuple[str, str, float]]:
    """(node id, state, wall seconds) of every execution of a run (default: the newest)."""
    return [row[:3] for row in run_executions(store, run, live)]


def run_outputs(store, run) -> dict:
    """type name -> the newest output artifact of this run's own executions (cached included)."""
    executions = store.get_executions_by_context(run.id)
    events = [ev for ev in store.get_events_by_execution_ids([e.id for e in executions])
              if ev.type == metadata_store_pb2.Event.OUTPUT]
    artifacts = store.get_artifacts_by_id(sorted({ev.artifact_id for ev in events}))
    types = {t.id: t.name for t in store.get_artifact_types()}
    return {types.get(a.type_id, "?"): a for a in sorted(artifacts, key=lambda a: a.id)}


def latest_outcome(config: PipelineConfig) -> dict:
    """The outcome of the newest run (this process's, under run_lock): its own artifacts."""
    store = metadata.open_store(config.resolved_metadata_path())
    runs = run_contexts(store)
    outs = run_outputs(store, runs[0]) if runs else {}
    evaluation, blessing = outs.get("ModelEvaluation"), outs.get("ModelBlessing")
    pushed, submission = outs.get("PushedModel"), outs.get(yt8m.KaggleSubmission.TYPE_NAME)
    archive, report = outs.get(yt8m.ModelArchive.TYPE_NAME), outs.get(yt8m.RunReport.TYPE_NAME)
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
