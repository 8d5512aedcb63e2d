"""`yt8m pipeline submit --platform kubeflow` against a local stand-in of the KFP API server:
what ``kfp.Client`` sends (upload, version, experiment, run with its root and parameters), what
``--wait`` prints and returns, and the one-line errors."""
import pytest
import yaml

from tests.kubeflow.kfp_api import PREFIX, KfpApi
from yt8m_cli.main import main

ROOT = "gs://bucket/root"


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch):
    from kubeflow import oss_submit

    monkeypatch.setattr(oss_submit, "POLL_SECONDS", 0.01)


@pytest.fixture
def spec_file(tmp_path):
    """A small bare PipelineSpec at schema 2.1.0, as `compile --platform kubeflow` writes."""
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump_all([{
        "pipelineInfo": {"name": "yt8m"}, "schemaVersion": "2.1.0", "sdkVersion": "tfx-1.16.0",
        "defaultPipelineRoot": ROOT,
        "root": {"dag": {"tasks": {"Trainer": {"taskInfo": {"name": "Trainer"},
                                               "componentRef": {"name": "Trainer"},
                                               "cachingOptions": {"enableCache": True}}}},
                 "inputDefinitions": {"parameters": {"num_epochs": {
                     "parameterType": "NUMBER_INTEGER"}}}},
        "components": {}, "deploymentSpec": {"executors": {"Trainer_executor": {"container": {
            "image": "i", "command": ["python", "-m", "kubeflow.entrypoint"]}}}}}]))
    return str(path)


def _submit(api_url, spec_file, *flags):
    return main(["pipeline", "submit", "--platform", "kubeflow", "--output", spec_file,
                 "--host", api_url, "--pipeline_root", ROOT, *flags])


def _requests(api, method, suffix):
    return [r for r in api.requests if r.method == method and r.path == PREFIX + suffix]


def test_upload_then_run_with_root_and_parameters(spec_file, capsys):
    api = KfpApi(script=[{"Trainer": "RUNNING"}, {"Trainer": "SUCCEEDED"}, "SUCCEEDED"])
    url = api.start()
    try:
        assert _submit(url, spec_file, "--param", "num_epochs=3", "--param", "model=MoeModel",
                       "--experiment", "nightly", "--wait") == 0
        # A second submission of the same name becomes a new version of that pipeline.
        assert _submit(url, spec_file) == 0
    finally:
        api.stop()
    first_upload, = _requests(api, "POST", "/pipelines/upload")
    assert first_upload.query["name"] == "yt8m"
    assert yaml.safe_load(first_upload.body["uploadfile"])["schemaVersion"] == "2.1.0"
    version, = _requests(api, "POST", "/pipelines/upload_version")
    assert version.query["pipelineid"] == "pipeline-1"
    experiment = _requests(api, "POST", "/experiments")[0].body
    assert experiment["display_name"] == "nightly"
    runs = _requests(api, "POST", "/runs")
    assert len(runs) == 2
    run = runs[0].body
    assert run["experiment_id"] == "experiment-1"
    assert run["pipeline_version_reference"] == {"pipeline_id": "pipeline-1",
                                                 "pipeline_version_id": "pipeline-1-v1"}
    assert run["runtime_config"] == {"pipeline_root": ROOT,
                                     "parameters": {"num_epochs": 3, "model": "MoeModel"}}
    assert runs[1].body["pipeline_version_reference"]["pipeline_version_id"] == "pipeline-1-v2"
    out = capsys.readouterr().out
    assert "Trainer: RUNNING" in out and "Trainer: SUCCEEDED" in out
    assert "run run-1: SUCCEEDED" in out


def test_wait_exits_1_when_the_run_fails(spec_file, capsys):
    api = KfpApi(script=[{"Trainer": "FAILED"}, "FAILED"])
    url = api.start()
    try:
        assert _submit(url, spec_file, "--wait") == 1
    finally:
        api.stop()
    assert "run run-1: FAILED" in capsys.readouterr().out


def test_no_cache_uploads_a_spec_without_caching(spec_file):
    api = KfpApi()
    url = api.start()
    try:
        assert _submit(url, spec_file, "--no_cache") == 0
    finally:
        api.stop()
    uploaded = yaml.safe_load(_requests(api, "POST", "/pipelines/upload")[0].body["uploadfile"])
    assert "cachingOptions" not in uploaded["root"]["dag"]["tasks"]["Trainer"]


def test_a_refusing_or_absent_server_is_one_line(spec_file, capsys):
    api = KfpApi(refuse={"POST /pipelines/upload": 400})
    url = api.start()
    try:
        assert _submit(url, spec_file) == 2
    finally:
        api.stop()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refused to upload the pipeline: 400" in err[0]
    assert _submit("http://127.0.0.1:9", spec_file) == 2  # nothing listens on port 9
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "http://127.0.0.1:9: cannot" in err[0]


def test_a_vertex_job_is_refused_before_any_request(tmp_path, capsys):
    job = tmp_path / "pipeline.json"
    job.write_text('{"displayName": "yt8m", "pipelineSpec": {"pipelineInfo": {"name": "yt8m"}},'
                   ' "runtimeConfig": {}}')
    api = KfpApi()
    url = api.start()
    try:
        assert _submit(url, str(job)) == 2
    finally:
        api.stop()
    assert api.requests == []
    assert "a Vertex AI PipelineJob" in capsys.readouterr().err
