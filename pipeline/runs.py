"""Local pipeline runs read back from ML Metadata: a summary per run and a run's lineage."""
from __future__ import annotations

import dataclasses
import datetime
import json

from ml_metadata.proto import metadata_store_pb2

import yt8m
from components.run_report import report_lib
from pipeline import outcome

_INPUT = metadata_store_pb2.Event.INPUT
_OUTPUT = metadata_store_pb2.Event.OUTPUT
REPORT_TYPE = yt8m.RunReport.TYPE_NAME


@dataclasses.dataclass
class RunSummary:
    run_id: str
    started: str
    seconds: float
    components: list  # (node, state, seconds)
    model: str | None
    metrics: dict
    blessed: bool | None
    pushed_version: str | None
    artifacts: dict  # type name -> uri (outputs of this run, cached ones included)


def find_run(store, run_id: str | None, having: str | None = None):
    """The run context named ``run_id`` (or a unique prefix of it); the newest when None.
    With ``having``, only runs that produced an artifact of that type name count."""
    runs = outcome.run_contexts(store)
    if having:
        runs = [r for r in runs if having in outcome.run_outputs(store, r)]
    if not runs:
        raise ValueError("the metadata store holds no pipeline runs"
                         f"{' with a ' + having if having else ''}")
    if run_id is None:
        return runs[0]
    matches = [r for r in runs if r.name == run_id] or [r for r in runs if r.name.startswith(run_id)]
    if len(matches) != 1:
        raise ValueError(f"run {run_id!r} {'is ambiguous' if matches else 'not found'}"
                         f"{' among runs with a ' + having if having else ''}; "
                         "`yt8m runs` lists the run ids")
    return matches[0]


def summarize(store, run, with_metrics: bool = True, live: bool = True) -> RunSummary:
    """One run; with ``live`` False (no process holds the store's run lock), executions still
    marked RUNNING show as KILLED."""
    executions = sorted(store.get_executions_by_context(run.id), key=lambda e: e.id)
    start = min((e.create_time_since_epoch for e in executions), default=0)
    end = max((e.last_update_time_since_epoch for e in executions), default=0)
    model = None
    exec_types = {t.id: t.name for t in store.get_execution_types()}
    for e in executions:
        if not exec_types.get(e.type_id, "").endswith("Trainer"):
            continue
        if "yt8m_model" in e.custom_properties:  # the run-time parameter (pipeline/parameters.py)
            model = e.custom_properties["yt8m_model"].string_value
        elif "custom_config" in e.custom_properties:
            try:
                cc = json.loads(e.custom_properties["custom_config"].string_value)
                model = cc.get("model_flags", {}).get("model")
            except json.JSONDecodeError:
                pass
    outs = outcome.run_outputs(store, run)
    evaluation, blessing = outs.get("ModelEvaluation"), outs.get("ModelBlessing")
    pushed = outs.get("PushedModel")
    metrics = report_lib.evaluator_metrics(evaluation.uri) if (evaluation and with_metrics) else {}
    return RunSummary(
        run_id=run.name,
        started=datetime.datetime.fromtimestamp(start / 1000).isoformat(timespec="seconds"),
        seconds=(end - start) / 1000.0,
        components=outcome.component_times(store, run, live),
        model=model, metrics=metrics,
        blessed=bool(outcome.custom_property(blessing, "blessed")) if blessing else None,
        pushed_version=(outcome.custom_property(pushed, "pushed_version", "string_value")
                        if pushed and outcome.custom_property(pushed, "pushed") else None),
        artifacts={k: a.uri for k, a in outs.items()})


def list_runs(store, with_metrics: bool = True, live: bool = True) -> list[RunSummary]:
    """Every run, newest first."""
    return [summarize(store, run, with_metrics, live) for run in outcome.run_contexts(store)]


def lineage(store, run, live: bool = True) -> list[dict]:
    """Per execution of the run: node, state, input and output artifacts (type, uri)."""
    types = {t.id: t.name for t in store.get_artifact_types()}
    rows = []
    for node, state, seconds, execution in outcome.run_executions(store, run, live):
        events = store.get_events_by_execution_ids([execution.id])
        artifacts = {a.id: a for a in store.get_artifacts_by_id([ev.artifact_id for ev in events])}
        rows.append({"node": node, "state": state, "seconds": seconds,
                     "inputs": _side(types, events, artifacts, _INPUT),
                     "outputs": _side(types, events, artifacts, _OUTPUT)})
    return rows


def _side(types: dict, events, artifacts: dict, kind) -> list[tuple[str, str]]:
    """(type name, uri) of the artifacts of ``events`` of one ``kind`` (input or output)."""
    return [(types.get(artifacts[ev.artifact_id].type_id, "?"), artifacts[ev.artifact_id].uri)
            for ev in events if ev.type == kind]


def report_of(store, run_id: str | None):
    """(ReportData, GAP history over every run, details) of the run's RunReport artifact."""
    name = find_run(store, run_id, having=REPORT_TYPE).name
    summaries = list_runs(store)  # newest first; each run read once
    chosen = next(s for s in summaries if s.run_id == name)
    data = report_lib.load(chosen.artifacts[REPORT_TYPE])
    history = [(s.run_id[:19], s.metrics["gap"]) for s in reversed(summaries)
               if s.metrics.get("gap") is not None]
    return data, history, {"run": chosen.run_id, "model": chosen.model, "blessed": chosen.blessed,
                           "pushed version": chosen.pushed_version}
