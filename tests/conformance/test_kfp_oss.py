"""The open-source Kubeflow Pipelines conformance run: ``yt8m pipeline compile --platform
kubeflow`` uploaded, and executed as KFP 2.x's API server, driver and launcher do
(tests/conformance/kfp_oss.py, each rule cited from kubeflow/pipelines' Go source), with a real
ML Metadata store served over gRPC and the pipeline root on emulated ``gs://``.

Executions share one store: the first has no baseline model; the second is cached by KFP's own
cache key up to the Trainer and evaluates against the first run's blessed model, found by the
``LatestBlessedModel`` task in ML Metadata; a third, with a run-time threshold no model reaches,
skips the export by its trigger condition; a fourth trains another model for fewer epochs, both
run-time parameters of the same uploaded spec; with new data, ExampleGen runs again. Negative controls fail at the documented point: the
Vertex PipelineJob at upload, an unadapted 2.1 spec at run creation, TFX's own entrypoint at the
first task, a directory marker at the launcher's download.
"""
import csv
import json
import os
import re

import pytest
import yaml

from kubeflow import oss_spec
from tests.conformance import kfp_oss
from tests.conformance.conftest import BUCKET, DATA
from tests.conformance.mlmd_server import MetadataServer
from yt8m_cli.main import main

pytestmark = pytest.mark.conformance

IMAGE = "local/yt8m-tfx:test"
ROOT = f"gs://{BUCKET}/root-kfp"
CACHED_IN_RUN_2 = {"ImportExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator",
                   "Transform", "Trainer"}
ALWAYS_RUN = {"ImportExampleGen-driver", "latest_blessed_model_resolver"}


@pytest.fixture(scope="module")
def cluster(cloud, tmp_path_factory):
    work = str(tmp_path_factory.mktemp("kfp"))
    server = MetadataServer(os.path.join(work, "mlmd.sqlite"))
    server.start()
    try:
        yield kfp_oss.Cluster(server, cloud, work)
    finally:
        server.stop()


def _compile(tmp_path, *flags, name="pipeline.yaml") -> str:
    out = str(tmp_path / name)
    assert main(["pipeline", "compile", "--data_dir", DATA, "--image", IMAGE, "--output", out,
                 "--batch_size", "16", "--num_epochs", "2", "--model", "LogisticModel",
                 *flags]) == 0
    return out


def _states(result) -> dict:
    return {name: task.state for name, task in result.tasks.items()}


def _markers_under_artifacts(cloud, result) -> list:
    """Zero-byte ``dir/`` objects under any output artifact of the run (what the launcher's
    download of a downstream input would trip on)."""
    uris = {a["uri"] for task in result.tasks.values() for artifacts in task.outputs.values()
            for a in artifacts}
    return [u for uri in uris for u in cloud.list(uri.rstrip("/") + "/") if u.endswith("/")]


def test_two_executions_cache_as_kfp_does_and_find_the_baseline_in_mlmd(cluster, cloud, tmp_path,
                                                                        tiny_data):
    data = f"gs://{BUCKET}/data-kfp"  # its own copy: a third execution adds a shard to it
    cloud.upload_dir(tiny_data, data)
    spec, platform = kfp_oss.upload(_compile(tmp_path, "--platform", "kubeflow",
                                             "--pipeline_root", ROOT, "--data_dir", data))
    assert platform == {} and spec["defaultPipelineRoot"] == ROOT
    first = cluster.run(spec, pipeline_root=ROOT)
    assert set(_states(first).values()) == {"SUCCEEDED"}
    baseline = first.artifact("latest_blessed_model_resolver", "model")
    assert baseline["metadata"]["yt8m_no_baseline"] == 1.0
    evaluator_input = first.tasks["Evaluator"].executor_input["inputs"]["artifacts"]
    assert evaluator_input["baseline_model"]["artifacts"][0]["type"] == {"instanceSchema": ""}
    blessing = first.artifact("Evaluator", "blessing")["metadata"]
    assert blessing["blessed"] == 1.0 and "baseline_model_id" not in blessing  # no baseline
    model = first.artifact("Trainer", "model")
    assert blessing["current_model_id"] == model["name"]  # the model's MLMD id
    assert model["uri"].startswith(f"{ROOT}/yt8m/{first.run_id}/Trainer/")
    assert _markers_under_artifacts(cloud, first) == []  # TensorFlow left them, the entrypoint
    with open(first.tasks["Trainer"].log, encoding="utf-8") as f:  # removed them
        assert "removed directory marker" in f.read()
    _check_outputs(cluster, cloud, first, tmp_path)

    second = cluster.run(spec, pipeline_root=ROOT)
    states = _states(second)
    assert {n for n, s in states.items() if s == "CACHED"} == CACHED_IN_RUN_2
    assert {n for n, s in states.items() if s == "SUCCEEDED"} == ALWAYS_RUN | {
        "Evaluator", "Pusher", "KaggleExport", "RunReport"}
    found = second.artifact("latest_blessed_model_resolver", "model")
    assert found["uri"] == model["uri"] and "yt8m_no_baseline" not in found["metadata"]
    blessing = second.artifact("Evaluator", "blessing")["metadata"]
    assert blessing["blessed"] == 1.0 and blessing["baseline_model_id"] == found["name"]
    assert second.artifact("Trainer", "model")["name"] == model["name"]  # reused, not rerun
    _check_outputs(cluster, cloud, second, tmp_path)

    # Run-time parameters of the same uploaded spec. A threshold no model reaches: only the
    # Evaluator's cache key changes (the Trainer stays cached), it does not bless, KaggleExport's
    # CEL condition is false (a CANCELED execution in ML Metadata), the report still runs.
    strict = cluster.run(spec, pipeline_root=ROOT, parameters={"gap_threshold": 1.0})
    states = _states(strict)
    assert states["Trainer"] == "CACHED" and states["Evaluator"] == "SUCCEEDED"
    assert strict.tasks["Evaluator"].executor_input["inputs"]["parameterValues"][
        "yt8m_gap_threshold"] == 1.0
    assert strict.artifact("Evaluator", "blessing")["metadata"]["blessed"] == 0.0
    assert states["KaggleExport"] == "SKIPPED" and states["RunReport"] == "SUCCEEDED"
    canceled = [e for e in cluster.records.mlmd.get_executions()
                if e.last_known_state == e.CANCELED
                and e.custom_properties["task_name"].string_value == "KaggleExport"]
    assert len(canceled) == 1
    # Another model and fewer epochs: the Trainer trains them (half the steps of run 1).
    other = cluster.run(spec, pipeline_root=ROOT, until=("Trainer",),
                        parameters={"model": "MoeModel", "num_epochs": 1})
    assert _states(other)["Trainer"] == "SUCCEEDED"
    first_steps, other_steps = (_trained(run.tasks["Trainer"].log) for run in (first, other))
    assert first_steps[0] == "LogisticModel" and other_steps[0] == "MoeModel"
    assert first_steps[1] == 2 * other_steps[1] > 0
    with pytest.raises(kfp_oss.Refused, match="num_epochs requires type double or integer"):
        cluster.run(spec, pipeline_root=ROOT, parameters={"num_epochs": "one"})
    with pytest.raises(kfp_oss.Refused, match="not required by pipeline: epochs"):
        cluster.run(spec, pipeline_root=ROOT, parameters={"epochs": 1})

    # New data: the driver task's fingerprint changes ExampleGen's cache key, so it runs again.
    shard = next(f for f in sorted(os.listdir(os.path.join(tiny_data, "video")))
                 if f.startswith("train"))
    cloud.client().bucket(BUCKET).blob("data-kfp/video/train9999.tfrecord").upload_from_filename(
        os.path.join(tiny_data, "video", shard))
    third = cluster.run(spec, pipeline_root=ROOT, until=("ImportExampleGen",))
    assert _states(third) == {"ImportExampleGen-driver": "SUCCEEDED",
                              "ImportExampleGen": "SUCCEEDED"}


def _trained(log_path) -> tuple[str, int]:
    """(model, global step) from the Trainer's ``starting global step 0: <model> on ...`` and
    ``done at global step <n>:`` lines (train/run.py)."""
    with open(log_path, encoding="utf-8") as f:
        text = f.read()
    model = re.search(r"^starting global step 0: (\w+) on ", text, re.M)
    done = re.search(r"^done at global step (\d+):", text, re.M)
    return model.group(1), int(done.group(1))


def _check_outputs(cluster, cloud, result, tmp_path):
    pushed = result.artifact("Pusher", "pushed_model")["metadata"]
    assert pushed["pushed"] == 1.0 and cloud.list(pushed["pushed_destination"] +
                                                  "/saved_model.pb")
    submission = result.artifact("KaggleExport", "submission")["metadata"]
    rows = list(csv.reader(cloud.read(submission["path"]).decode().splitlines()))
    assert rows[0] == ["VideoId", "LabelConfidencePairs"]
    assert submission["row_count"] == len(rows) - 1 > 0
    metrics = result.artifact("RunReport", "metrics")["metadata"]
    assert 0 < metrics["gap"] <= 1 and "hit_at_one" in metrics
    # What the KFP UI shows: it finds each artifact by its ML Metadata type name and lists a
    # system.Metrics artifact's custom properties but display_name and the reserved ones
    # (frontend/src/components/viewers/MetricsVisualizations.tsx ScalarMetricsSection,
    # frontend/src/lib/ReservedArtifactProperties.ts).
    shown = {}
    for key in ("metrics", "report_page", "summary"):
        [artifact] = cluster.records.mlmd.get_artifacts_by_id(
            [int(result.artifact("RunReport", key)["name"])])
        [kind] = cluster.records.mlmd.get_artifact_types_by_id([artifact.type_id])
        shown[key] = (kind.name, artifact)
    assert [shown[k][0] for k in ("metrics", "report_page", "summary")] == [
        "system.Metrics", "system.HTML", "system.Markdown"]
    table = {k: v for k, v in shown["metrics"][1].custom_properties.items()
             if k not in ("display_name", "store_session_info")}
    assert {"gap", "hit_at_one", "perr", "map"} <= set(table)
    assert not [k for k in table if k.endswith("_diff") or k in ("tfx_version", "is_external")]
    assert {v.WhichOneof("value") for v in table.values()} == {"double_value"}
    assert table["gap"].double_value == metrics["gap"]
    assert cloud.read(shown["report_page"][1].uri).decode().lstrip().lower().startswith(
        "<!doctype html")
    assert "| GAP@20 |" in cloud.read(shown["summary"][1].uri).decode()


def test_the_vertex_pipeline_job_is_refused_at_upload(tmp_path):
    with pytest.raises(kfp_oss.Refused, match="unknown template format"):
        kfp_oss.upload(_compile(tmp_path, "--pipeline_root", ROOT, name="pipeline.json"))
    with pytest.raises(kfp_oss.Refused, match="schema version 2.1.0, but .* 2.0.0"):
        kfp_oss.upload(_compile(tmp_path, "--pipeline_root", ROOT, name="vertex.yaml"))


def test_an_unadapted_spec_is_refused_at_run_creation(cluster, tmp_path):
    """TFX's own compile at schema 2.1 uploads, but its resolvers stop the run's creation."""
    from kubeflow import runner
    from pipeline.config import PipelineConfig
    from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner

    config = PipelineConfig.of(data_dir=DATA, pipeline_root=ROOT, image=IMAGE, platform="vertex")
    compiler = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
        config=kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(
            default_image=IMAGE, use_pipeline_spec_2_1=True),
        output_dir=str(tmp_path), output_filename="tfx.yaml")
    compiler.run(runner.kubeflow_pipeline(config), write_out=True)
    spec, _ = kfp_oss.upload(str(tmp_path / "tfx.yaml"))
    # TFX keeps the parameters' values in the PipelineJob wrapper only: the bare spec has none
    with pytest.raises(kfp_oss.Refused, match="parameter data_dir is not optional, yet has "
                                              "neither default value nor user provided value"):
        cluster.run(spec, pipeline_root=ROOT)
    values = {"data_dir": DATA, "model": "GatedDnnModel", "num_epochs": 1, "gap_threshold": 0.0,
              "gap_change_tolerance": 0.0}
    with pytest.raises(kfp_oss.Refused, match="resolver executors not implemented"):
        cluster.run(spec, pipeline_root=ROOT, parameters=values)


def test_an_unadapted_image_fails_at_its_first_task(cluster, tmp_path):
    """The same spec with TFX's own entrypoint (an image without the project's): the driver's
    ``executor-logs`` output stops the first TFX task."""
    spec, _ = kfp_oss.upload(_compile(tmp_path, "--platform", "kubeflow",
                                      "--pipeline_root", ROOT))
    tfx_entrypoint = ["python", "-m",
                      "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor"]
    for executor in spec["deploymentSpec"]["executors"].values():
        if "--example_gen_driver" not in executor["container"]["args"]:
            executor["container"]["command"] = tfx_entrypoint
    with pytest.raises(kfp_oss.TaskFailed, match="(?s)task ImportExampleGen exited 1.*"
                                                 "system.Artifact"):
        cluster.run(spec, pipeline_root=ROOT, until=("ImportExampleGen",))


def test_tfx_cannot_type_an_input_the_driver_built():
    """What the open-source driver hands a task (an input with an empty instance schema)
    stops TFX's entrypoint before any executor runs (tensorflow/tfx#7768); the project's
    entrypoint types it from the inputs spec."""
    from kfp.pipeline_spec import pipeline_spec_pb2
    from google.protobuf import json_format
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_entrypoint_utils as utils
    from kubeflow import entrypoint

    executor_input = {"inputs": {"artifacts": {"examples": {"artifacts": [{
        "name": "7", "uri": "gs://b/x", "type": {"instanceSchema": ""},
        "metadata": {"split_names": '["train"]', "tags": {"list": ["a"]}}}]}}}}
    spec = {"artifacts": {"examples": {"artifactType": {
        "instanceSchema": "title: tfx.Examples\ntype: object\n"}}}}
    parsed = json_format.ParseDict(executor_input, pipeline_spec_pb2.ExecutorInput())
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'get'"):
        utils.parse_raw_artifact_dict(parsed.inputs.artifacts)
    adapted = entrypoint.adapt_executor_input(executor_input, spec)
    artifact = adapted["inputs"]["artifacts"]["examples"]["artifacts"][0]
    assert artifact["type"] == spec["artifacts"]["examples"]["artifactType"]
    assert artifact["metadata"]["tags"] == ["a"]  # MLMD's wrapper removed
    parsed = json_format.ParseDict(adapted, pipeline_spec_pb2.ExecutorInput())
    examples = utils.parse_raw_artifact_dict(parsed.inputs.artifacts)["examples"][0]
    assert type(examples).__name__ == "Examples" and examples.uri == "gs://b/x"


def test_a_directory_marker_fails_the_launchers_download(cluster, cloud, tmp_path, monkeypatch):
    """kubeflow/pipelines#13476: a zero-byte ``model/`` object at an artifact's root."""
    from kubeflow import entrypoint

    bucket = cloud.client().bucket(BUCKET)
    for name, data in (("marker/model/", b""), ("marker/model/Format-Serving/", b""),
                       ("marker/model/Format-Serving/saved_model.pb", b"pb")):
        bucket.blob(name).upload_from_string(data)
    uri = f"gs://{BUCKET}/marker/model"
    executor_input = {"inputs": {"artifacts": {"model": {"artifacts": [{"uri": uri}]}}}}
    with pytest.raises(kfp_oss.TaskFailed, match="failed to download input artifact 'model'"):
        cluster._download_inputs(executor_input, str(tmp_path / "a"))
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", cloud.emulator_url)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "local-project")
    removed = entrypoint.remove_directory_markers(uri)
    assert sorted(removed) == [f"{uri}/", f"{uri}/Format-Serving/"]
    cluster._download_inputs(executor_input, str(tmp_path / "b"))
    local = tmp_path / "b" / "gcs" / BUCKET / "marker" / "model" / "Format-Serving"
    assert (local / "saved_model.pb").read_bytes() == b"pb"


def test_compile_for_kubeflow(tmp_path):
    """Schema 2.1 bare spec; the GPU as a Kubernetes resource plus a node selector; no resolver,
    no lifecycle hook; the baseline and ExampleGen's driver never cached."""
    path = _compile(tmp_path, "--platform", "kubeflow", "--pipeline_root", ROOT,
                    "--gpu_type", "NVIDIA_TESLA_T4", "--gpu_count", "2")
    with open(path, encoding="utf-8") as f:
        spec, platform = list(yaml.safe_load_all(f))
    assert spec["schemaVersion"] == "2.1.0" and "pipelineSpec" not in spec
    executors = spec["deploymentSpec"]["executors"]
    trainer = executors["Trainer_executor"]["container"]
    assert trainer["resources"]["accelerator"] == {"type": "nvidia.com/gpu", "count": "2"}
    assert trainer["command"] == oss_spec.ENTRYPOINT
    selector = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"][
        "Trainer_executor"]["nodeSelector"]["labels"]
    assert selector == {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"}
    assert all(set(e) == {"container"} and "lifecycle" not in e["container"]
               for e in executors.values())
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    assert parameters["num_epochs"] == {"parameterType": "NUMBER_INTEGER", "defaultValue": 2.0,
                                        "isOptional": True}  # as the KFP SDK writes a default
    assert parameters["data_dir"]["defaultValue"] == DATA
    tasks = spec["root"]["dag"]["tasks"]
    assert {n for n, t in tasks.items() if not t.get("cachingOptions")} == ALWAYS_RUN
    driven = tasks["ImportExampleGen"]["inputs"]["parameters"]["yt8m_driver_output"]
    assert driven["taskOutputParameter"]["producerTask"] == "ImportExampleGen-driver"
    json.dumps(spec)  # plain data


@pytest.mark.parametrize("flags, message", [
    (["--trainer_backend", "vertex_training", "--project", "p", "--region", "r"],
     "customJob executors are Google Cloud only"),
    (["--pipeline_root", "minio://mlpipeline/v2/artifacts"], "cannot read or write minio://"),
    (["--output", "pipeline.json"], "uploads a YAML PipelineSpec"),
])
def test_compile_refuses_what_open_source_kfp_cannot_run(tmp_path, capsys, flags, message):
    args = ["pipeline", "compile", "--platform", "kubeflow", "--data_dir", DATA, "--image",
            IMAGE, "--pipeline_root", ROOT, *flags]
    if "--output" not in flags:
        args += ["--output", str(tmp_path / "p.yaml")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
