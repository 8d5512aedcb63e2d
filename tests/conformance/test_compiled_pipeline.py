"""The conformance run: the compiled Kubeflow / Vertex AI pipeline executed task by task.

``yt8m pipeline compile`` writes the PipelineJob; ``tests/conformance/spec_runner`` runs every task's
container command and args through TFX's v2 entrypoint as the KFP v2 launcher does, with the
pipeline root and the data on ``gs://`` (``gcs``: an emulator that TensorFlow, Beam and gRPC
reach through a local HTTPS gateway), and the Vertex AI Training job of the
``vertex_training`` backend run by a local JobService (``vertex``) as chief + worker processes.

Not emulated here, and why: the Dataflow runner (a Google service: the Beam stages run on the
DirectRunner inside each task), GPU requests (no GPU), Kubernetes pod resources, and the run
pages of the KFP and Vertex UIs (the artifact types they render are checked, and the values
written to them).
"""
import csv
import json
import os
import re

import pytest

from tests.conformance import spec_runner
from tests.conformance import vertex
from tests.conformance.conftest import BUCKET, DATA
from yt8m_cli.main import main

pytestmark = pytest.mark.conformance

IMAGE = "local/yt8m-tfx:test"
ALWAYS_RUN = {"latest_blessed_model_resolver-model-blessing-resolver",
              "latest_blessed_model_resolver-model-resolver"}


def _compile(tmp_path, *flags) -> str:
    out = str(tmp_path / "pipeline.json")
    assert main(["pipeline", "compile", "--data_dir", DATA, "--image", IMAGE, "--output", out,
                 "--batch_size", "16", "--num_epochs", "2", *flags]) == 0
    return out


def _runner(cloud, pipeline_json, tmp_path, env=None) -> spec_runner.SpecRunner:
    return spec_runner.SpecRunner(pipeline_json, str(tmp_path / "launcher"),
                                  env=env or cloud.env(), read_bytes=cloud.read)


def _states(result) -> dict:
    return {name: task.state for name, task in result.tasks.items()}


def _log(result, task) -> str:
    with open(result.tasks[task].log, encoding="utf-8") as f:
        return f.read()


def _csv_rows(text: str) -> dict:
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["VideoId", "LabelConfidencePairs"]
    return {r[0]: [int(t) for t in r[1].split()[::2]] for r in rows[1:]}


def _test_ids(tiny_data, level) -> set:
    import tensorflow as tf
    from trainer_module.data import features as F, parsing

    spec = F.FeatureSpec.default(level == "frame")
    files = tf.io.gfile.glob(os.path.join(tiny_data, level, "test*.tfrecord"))
    ids = set()
    for batch in tf.data.TFRecordDataset(files).batch(64):
        ids |= {i.decode() for i in parsing.parse_batch(batch, spec, with_labels=False)[
            F.VIDEO_ID].numpy()}
    return ids


def _evaluator_metrics(cloud, result, tmp_path) -> dict:
    from components.run_report import report_lib

    uri = result.artifact("Evaluator", "evaluation")["uri"]
    return report_lib.evaluator_metrics(cloud.download_dir(uri, str(tmp_path / "evaluation")))


def _check_outputs(cloud, result, tmp_path, tiny_data, level):
    """Pushed model, CSV, .tgz through `yt8m inference`, metrics and report, all on gs://."""
    assert result.artifact("Evaluator", "blessing")["metadata"]["blessed"] == 1
    pushed = result.artifact("Pusher", "pushed_model")["metadata"]
    assert pushed["pushed"] == 1 and pushed["pushed_destination"].startswith(
        f"gs://{BUCKET}/") and "/serving_model/" in pushed["pushed_destination"]
    assert cloud.list(pushed["pushed_destination"] + "/saved_model.pb")

    submission = result.artifact("KaggleExport", "submission")
    rows = _csv_rows(cloud.read(submission["metadata"]["path"]).decode())
    assert set(rows) == _test_ids(tiny_data, level)  # one row per test video
    assert submission["metadata"]["row_count"] == len(rows)

    archive = result.artifact("KaggleExport", "model_archive")["metadata"]["path"]
    tgz = tmp_path / "model.tgz"
    tgz.write_bytes(cloud.read(archive))
    local_csv = tmp_path / "from_tgz.csv"
    pattern = os.path.join(tiny_data, level, "test*.tfrecord")
    assert main(["inference", "--input_data_pattern", pattern, "--input_model_tgz", str(tgz),
                 "--output_file", str(local_csv)]) == 0
    again = _csv_rows(local_csv.read_text())
    assert set(again) == set(rows)
    assert sum(again[v][0] == rows[v][0] for v in rows) == len(rows)  # same top class

    evaluator = _evaluator_metrics(cloud, result, tmp_path)
    shown = result.artifact("RunReport", "metrics")
    assert shown["type"] == {"schemaTitle": "system.Metrics", "schemaVersion": "0.0.1"}
    # Only the model's metrics: the UIs list every metadata entry as one.
    assert set(shown["metadata"]) == {k for k in evaluator if not k.endswith("_diff")}
    for key in ("gap", "hit_at_one", "perr", "map"):
        assert shown["metadata"][key] == pytest.approx(evaluator[key], abs=1e-9), key
    page = result.artifact("RunReport", "report_page")
    assert page["type"] == {"schemaTitle": "system.HTML", "schemaVersion": "0.0.1"}
    html = cloud.read(page["uri"]).decode()  # the file at the URI itself, as the UIs read it
    assert html.lstrip().lower().startswith("<!doctype html") and "GAP" in html
    summary = result.artifact("RunReport", "summary")
    assert summary["type"] == {"schemaTitle": "system.Markdown", "schemaVersion": "0.0.1"}
    assert f"| GAP@20 | {evaluator['gap']:.4f} |" in cloud.read(summary["uri"]).decode()


def test_video_pipeline_runs_and_caches_as_compiled(cloud, tmp_path, tiny_data):
    pipeline_json = _compile(tmp_path, "--pipeline_root", f"gs://{BUCKET}/root-video",
                             "--model", "LogisticModel")
    runner = _runner(cloud, pipeline_json, tmp_path)
    first = runner.run()
    assert set(_states(first).values()) == {"SUCCEEDED"}
    assert "Using the in-place Transform" in _log(first, "Transform")  # reads no data
    assert result_model_uri(first).startswith(f"gs://{BUCKET}/root-video/")
    _check_outputs(cloud, first, tmp_path, tiny_data, "video")
    assert first.tasks["latest_blessed_model_resolver-model-resolver"].outputs["model"] == []

    # Second execution on the first one's outputs, as the compiled caching says: cached up to
    # the Trainer; the resolvers (compiled without caching) now find run 1's blessed model, so
    # the Evaluator (a new baseline) and what follows it run again.
    second = _runner(cloud, pipeline_json, tmp_path).run()
    states = _states(second)
    assert {n for n, s in states.items() if s == "CACHED"} == {
        "ImportExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform",
        "Trainer"}
    assert {n for n, s in states.items() if s == "SUCCEEDED"} == ALWAYS_RUN | {
        "Evaluator", "Pusher", "KaggleExport", "RunReport"}
    baseline = second.tasks["latest_blessed_model_resolver-model-resolver"].outputs["model"]
    assert [a["name"] for a in baseline] == [first.artifact("Trainer", "model")["name"]]
    # From then on every execution with caching is reused.
    third = _runner(cloud, pipeline_json, tmp_path).run()
    assert {n for n, s in _states(third).items() if s != "CACHED"} == ALWAYS_RUN

    # The blessing gate is in the DAG: with a threshold no model reaches (a run-time parameter
    # of the same compiled job), the Evaluator runs, does not bless, and KaggleExport's trigger
    # condition skips it.
    strict = _runner(cloud, pipeline_json, tmp_path).run(parameters={"gap_threshold": 1.0})
    states = _states(strict)
    assert states["Trainer"] == "CACHED" and states["Evaluator"] == "SUCCEEDED"
    assert strict.artifact("Evaluator", "blessing")["metadata"]["blessed"] == 0
    assert strict.artifact("Pusher", "pushed_model")["metadata"]["pushed"] == 0
    assert states["KaggleExport"] == "SKIPPED" and strict.tasks["KaggleExport"].outputs == {}
    assert states["RunReport"] == "SUCCEEDED"


def result_model_uri(result) -> str:
    return result.artifact("Trainer", "model")["uri"]


def test_frame_pipeline_runs(cloud, tmp_path, tiny_data):
    pipeline_json = _compile(
        tmp_path, "--pipeline_root", f"gs://{BUCKET}/root-frame", "--frame_features",
        "--model", "DbofModel", "--dbof_cluster_size", "16", "--dbof_hidden_size", "16",
        "--iterations", "8")
    result = _runner(cloud, pipeline_json, tmp_path).run()
    assert set(_states(result).values()) == {"SUCCEEDED"} and "CurateSchema" in result.tasks
    assert "Using the in-place Transform" in _log(result, "Transform")
    _check_outputs(cloud, result, tmp_path, tiny_data, "frame")


def test_vertex_training_backend_runs_a_multi_worker_custom_job(cloud, tmp_path):
    """The Trainer step sends a CustomJob to (local) Vertex AI Training; its two worker pools
    run as a chief and a worker process that train one model together."""
    env = cloud.env()
    service = vertex.JobService(env, cloud.cert, cloud.key, str(tmp_path))
    cloud.gateway.route("-aiplatform.googleapis.com", service.start())
    try:
        pipeline_json = _compile(
            tmp_path, "--pipeline_root", f"gs://{BUCKET}/root-vertex", "--model", "LogisticModel",
            "--trainer_backend", "vertex_training", "--project", "local-project", "--region",
            "us-central1", "--trainer_worker_count", "2", "--trainer_machine_type",
            "n1-standard-4")
        result = _runner(cloud, pipeline_json, tmp_path, env).run(
            until=("Trainer",), parameters={"num_epochs": 1})
    finally:
        service.stop()
    assert result.tasks["Trainer"].state == "SUCCEEDED"
    assert len(service.jobs) == 1
    job = service.jobs[0]
    assert job.request["parent"] == "projects/local-project/locations/us-central1"
    pools = job.request["customJob"]["jobSpec"]["workerPoolSpecs"]
    assert [int(p["replicaCount"]) for p in pools] == [1, 1]
    for pool in pools:
        assert pool["machineSpec"]["machineType"] == "n1-standard-4"
        assert pool["containerSpec"]["imageUri"] == IMAGE
        command = pool["containerSpec"]["command"]
        assert command[:3] == ["python", "-m", "tfx.scripts.run_executor"]
        assert command[command.index("--executor_class_path") + 1] == (
            "tfx.components.trainer.executor.GenericExecutor")
        properties = json.loads(command[command.index("--exec-properties") + 1])
        assert "yt8m_num_epochs" not in properties  # folded into the run_fn's config
        assert json.loads(properties["custom_config"])["run_time"] == {
            "model": "LogisticModel", "num_epochs": 1}
    assert [(r.task_type, r.returncode) for r in job.replicas] == [("chief", 0), ("worker", 0)]
    digests = set()
    for replica in job.replicas:
        with open(replica.log, encoding="utf-8") as f:
            text = f.read()
        digests.add(re.search(r"of 2: weights digest (\S+) ", text).group(1))
    assert len(digests) == 1  # both replicas ended with the same weights
    model_run = result.artifact("Trainer", "model_run")["uri"]
    written = cloud.list(model_run)
    assert len([u for u in written if u.endswith(".index")]) == 1  # the chief's checkpoint only
    assert len([u for u in written if "tfevents" in u]) == 1  # the chief's summaries only
    assert cloud.list(result_model_uri(result) + "/Format-Serving/saved_model.pb")
