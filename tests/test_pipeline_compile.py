"""create_pipeline compiles for Kubeflow V2 (strict PipelineSpec); what compile refuses; what the
compiled spec carries (data layout, Beam arguments, UI artifact types); what submit sends."""
import json
import os

import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from kubeflow import image_check
from kubeflow import runner
from pipeline import create
from pipeline.config import PipelineConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOCAL_NODES = {"ImportExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform",
               "Trainer", "Evaluator", "Pusher", "KaggleExport", "RunReport"}
BEAM_ARGS = ("--runner=DataflowRunner", "--project=p", "--region=us-central1",
             "--temp_location=gs://bkt/tmp")


def _compile(tmp_path, **kw):
    config = PipelineConfig.of(data_dir="gs://bucket/yt8m", pipeline_root="gs://bucket/root",
                            image="gcr.io/p/yt8m:1", beam_args=BEAM_ARGS, **kw)
    out = runner.compile_pipeline(config, str(tmp_path / "pipeline.json"))
    job = json.load(open(out))
    spec = pipeline_spec_pb2.PipelineSpec()
    json_format.ParseDict(job["pipelineSpec"], spec, ignore_unknown_fields=False)
    return config, job, spec


@pytest.mark.parametrize("frame", [False, True])
def test_compiles_every_component_with_image(tmp_path, frame):
    _, job, spec = _compile(tmp_path, frame_features=frame, gpu_type="NVIDIA_TESLA_T4",
                            gpu_count=2)
    tasks = set(spec.root.dag.tasks)
    expected = LOCAL_NODES | ({"CurateSchema"} if frame else set())
    assert expected <= tasks
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    for name, ex in executors.items():
        if "container" in ex:
            assert ex["container"]["image"] == "gcr.io/p/yt8m:1", name
    trainer = executors["Trainer_executor"]["container"]
    assert trainer["resources"]["accelerator"] == {"count": "2", "type": "NVIDIA_TESLA_T4"}
    beam_nodes = {"ImportExampleGen", "StatisticsGen", "Transform", "Evaluator", "KaggleExport"}
    for name, executor in executors.items():
        if "container" not in executor:
            continue
        args = " ".join(executor["container"]["args"])
        in_beam = name.removesuffix("_executor") in beam_nodes
        assert ("--runner=DataflowRunner" in args) == in_beam, name  # Beam components only
        assert ("--region=us-central1" in args) == in_beam, name


def test_no_accelerator_unless_configured(tmp_path):
    _, job, _ = _compile(tmp_path)
    trainer = job["pipelineSpec"]["deploymentSpec"]["executors"]["Trainer_executor"]["container"]
    assert "accelerator" not in trainer.get("resources", {})


def test_compiled_json_loads_into_vertex_pipeline_job(tmp_path):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    _compile(tmp_path)
    job = aiplatform.PipelineJob(display_name="yt8m", template_path=str(tmp_path / "pipeline.json"),
                                 project="p", location="us-central1",
                                 credentials=AnonymousCredentials(), pipeline_root="gs://bucket/root")
    compiled = json.load(open(tmp_path / "pipeline.json"))["pipelineSpec"]["root"]["dag"]["tasks"]
    assert set(job.pipeline_spec["root"]["dag"]["tasks"]) == set(compiled)
    assert LOCAL_NODES <= set(compiled) and len(compiled) == len(LOCAL_NODES) + 2  # + 2 resolvers


@pytest.mark.parametrize("shape", ["video", "frame", "vertex_training", "kubeflow"])
def test_every_compiled_class_path_imports(tmp_path, shape):
    """The compiled spec's executors, artifact types (by schema title, as TFX's v2 entrypoint
    imports them), run_fn, preprocessing_fn and TFMA modules: image_check's one list."""
    job = image_check.compile_all(str(tmp_path))[shape]
    paths = image_check.compiled_class_paths(job)
    assert image_check.import_errors(paths) == []
    expected = {"trainer_module.tfx_entry.run_fn.run_fn", "trainer_module.tfx_entry.transform.preprocessing_fn",
                "trainer_module.tfx_entry.tfma_metrics.YT8MMetrics", "trainer_module.tfx_entry.tfma_extractors",
                "components.fixed_batch_evaluator.component.FixedBatchExecutor",
                "yt8m.ModelArchive", "yt8m.KaggleSubmission", "yt8m.RunReport",
                "system.Metrics", "system.HTML"}
    assert expected <= paths
    assert ("components.curate_schema.component.CurateSchema_Executor" in paths) == (
        shape == "frame")
    oss = {"kubeflow.entrypoint", "components.latest_blessed_model.component.LatestBlessedModel_Executor"}
    assert (oss <= paths) == (shape == "kubeflow")


def test_import_errors_are_reported():
    assert image_check.import_errors({"yt8m.NoSuchType", "no_such_module.X"}) == [
        "no_such_module.X: ModuleNotFoundError: No module named 'no_such_module'",
        "yt8m.NoSuchType: AttributeError: module 'yt8m' has no attribute 'NoSuchType'"]


def test_vertex_training_backend_carries_worker_pools(tmp_path):
    _, job, _ = _compile(tmp_path, trainer_backend="vertex_training", project="p",
                         region="us-central1", gpu_type="NVIDIA_TESLA_V100",
                         gpu_count=4, trainer_worker_count=3)
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    trainer = executors["Trainer_executor"]["container"]
    assert "accelerator" not in trainer.get("resources", {})  # the step only launches the job
    assert trainer["args"][1] == "components.trainer.component.VertexExecutor"
    from components.trainer import component as trainer_component
    from tfx.extensions.google_cloud_ai_platform.trainer import executor as vertex_executor
    assert issubclass(trainer_component.VertexExecutor, vertex_executor.GenericExecutor)
    value = job["pipelineSpec"]["root"]["dag"]["tasks"]["Trainer"]["inputs"]["parameters"][
        "custom_config"]["runtimeValue"]["constantValue"]["stringValue"]
    custom = json.loads(value)
    training = custom["ai_platform_training_args"]
    assert custom["ai_platform_enable_vertex"] is True
    assert custom["ai_platform_vertex_region"] == "us-central1" and training["project"] == "p"
    chief, workers = training["worker_pool_specs"]
    assert chief["replica_count"] == 1 and workers["replica_count"] == 2
    assert chief["machine_spec"] == {"machine_type": "n1-standard-8",
                                     "accelerator_type": "NVIDIA_TESLA_V100", "accelerator_count": 4}
    assert chief["container_spec"]["image_uri"] == "gcr.io/p/yt8m:1"
    assert "model_flags" in custom  # the run_fn's own settings ride along
    with pytest.raises(ValueError, match="needs `project` and `region`"):
        PipelineConfig.of(data_dir="d", trainer_backend="vertex_training")


def test_training_options_reach_the_trainer_and_are_validated(tmp_path):
    from yt8m_cli import main as cli
    from yt8m_cli.cmd_pipeline import config_from_args

    args = cli.build_parser().parse_args(
        ["pipeline", "run", "--data_dir", "d", "--warmup_steps", "50", "--ema_decay", "0.99",
         "--mixed_precision"])
    config = config_from_args(args)
    settings = create._custom_config(config)["training"]
    assert (settings["warmup_steps"], settings["ema_decay"], settings["mixed_precision"]) == (
        50, 0.99, True)
    with pytest.raises(ValueError, match="`ema_decay` must be in"):
        PipelineConfig.of(data_dir="d", ema_decay=1.5)


def test_segment_task_compiles_with_its_settings(tmp_path):
    """`pipeline compile --segment_labels`: the Transform reads whole videos and ratings, the
    Trainer a 5-frame segment model, the Evaluator blesses on segment_map over the
    segments_per_video signature, KaggleExport writes the segment CSV with K."""
    assert _cli_compile(tmp_path, "--data_dir", "gs://bkt/d", "--pipeline_root", "gs://bkt/r",
                        "--image", "i:1", "--frame_features", "--segment_labels",
                        "--segment_max_pred", "500") == 0
    job = json.load(open(tmp_path / "p.json"))
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]

    def parameter(task, name):
        value = tasks[task]["inputs"]["parameters"][name]["runtimeValue"]["constantValue"]
        return value.get("stringValue", value.get("intValue"))

    assert job["pipelineSpec"]["pipelineInfo"]["name"] == "yt8m-segments"  # its own baseline
    transform = json.loads(parameter("Transform", "custom_config"))["features"]
    assert transform["segments"] is True and transform["max_frames"] == 300
    flags = json.loads(parameter("Trainer", "custom_config"))["model_flags"]
    assert flags["segment_labels"] is True and flags["max_frames"] == 5
    eval_config = json.loads(parameter("Evaluator", "eval_config"))
    assert eval_config["model_specs"][0]["signature_name"] == "segments_per_video"
    assert set(eval_config["metrics_specs"][0]["thresholds"]) == {"segment_map"}
    segment_metric = eval_config["metrics_specs"][0]["metrics"][1]
    assert segment_metric["class_name"] == "SegmentMap"
    assert json.loads(segment_metric["config"])["k"] == 500
    assert int(parameter("KaggleExport", "segment_max_pred")) == 500
    assert "KaggleExport_executor" in executors
    assert _cli_compile(tmp_path, "--data_dir", "gs://bkt/d", "--pipeline_root", "gs://bkt/r",
                        "--image", "i:1", "--segment_labels") == 2  # video level: refused


def _cli_compile(tmp_path, *flags):
    from yt8m_cli import main as cli

    args = ["pipeline", "compile", "--output", str(tmp_path / "p.json"), *flags]
    return cli.main(args)


@pytest.mark.parametrize("flags, message", [
    (["--data_dir", "gs://bkt/d", "--pipeline_root", "gs://bkt/r"], "image is required"),
    (["--data_dir", "/local/data", "--pipeline_root", "gs://bkt/r", "--image", "i:1"],
     "data_dir must be a gs:// URI"),
    (["--data_dir", "gs://bkt/d", "--pipeline_root", "relative/root", "--image", "i:1"],
     "pipeline_root must be a gs:// URI"),
    (["--data_dir", "gs://bkt/d", "--pipeline_root", "gs://bkt/r", "--image", "i:1",
      "--serving_dir", "/srv/models"], "serving_dir must be a gs:// URI"),
    (["--data_dir", "gs://bkt/d", "--pipeline_root", "gs://bkt/r", "--image", "i:1",
      "--vocabulary", "vocabulary.csv"], "vocabulary must be a gs:// URI"),
])
def test_compile_refuses_what_vertex_cannot_run(tmp_path, capsys, flags, message):
    assert _cli_compile(tmp_path, *flags) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "p.json").exists()


def test_data_layout_is_in_the_split_patterns(tmp_path):
    """No probing of data_dir at compile time: gs:// folders are never os.path directories."""
    def patterns(**kw):
        config = PipelineConfig.of(data_dir="gs://bkt/yt8m", pipeline_root="gs://bkt/r", image="i:1", **kw)
        example_gen = create.create_pipeline(config).components[0]
        return (example_gen.exec_properties["input_base"],
                json.loads(example_gen.exec_properties["input_config"])["splits"])

    base, splits = patterns()
    assert base == "gs://bkt/yt8m"
    assert [s["pattern"] for s in splits] == ["video/train*.tfrecord", "video/validate*.tfrecord",
                                              "video/test*.tfrecord"]
    assert patterns(frame_features=True)[1][0]["pattern"] == "frame/train*.tfrecord"
    assert patterns(data_layout="flat")[1][0]["pattern"] == "train*.tfrecord"
    with pytest.raises(ValueError, match="`data_layout` must be one of nested, flat"):
        PipelineConfig.of(data_dir="d", data_layout="deep")


def test_run_detects_the_layout_of_a_local_folder(tmp_path):
    from yt8m_cli import cmd_pipeline, main as cli

    (tmp_path / "nested" / "video").mkdir(parents=True)
    (tmp_path / "flat").mkdir()
    for folder, expected in (("nested", "nested"), ("flat", "flat")):
        args = cli.build_parser().parse_args(["pipeline", "run", "--data_dir",
                                              str(tmp_path / folder)])
        cmd_pipeline._detect_layout(args)
        assert cmd_pipeline.config_from_args(args).data.data_layout == expected


def test_dataflow_arguments(tmp_path):
    from yt8m_cli import cmd_pipeline, main as cli

    args = cli.build_parser().parse_args([
        "pipeline", "compile", "--data_dir", "gs://bkt/d", "--pipeline_root", "gs://bkt/r",
        "--image", "gcr.io/p/yt8m:1", "--dataflow_project", "p", "--dataflow_region", "r",
        "--dataflow_temp_location", "gs://bkt/tmp", "--dataflow_service_account", "sa@p.iam",
        "--dataflow_subnetwork", "regions/r/subnetworks/s", "--dataflow_machine_type",
        "n1-highmem-4", "--dataflow_max_workers", "20"])
    beam_args = cmd_pipeline.config_from_args(args).beam.beam_args
    for expected in ("--runner=DataflowRunner", "--sdk_container_image=gcr.io/p/yt8m:1",
                     "--service_account_email=sa@p.iam", "--subnetwork=regions/r/subnetworks/s",
                     "--worker_machine_type=n1-highmem-4", "--max_num_workers=20"):
        assert expected in beam_args
    no_image = cli.build_parser().parse_args([
        "pipeline", "compile", "--data_dir", "gs://bkt/d", "--dataflow_project", "p",
        "--dataflow_region", "r", "--dataflow_temp_location", "gs://bkt/tmp"])
    with pytest.raises(ValueError, match="--dataflow_project needs --image"):
        cmd_pipeline.config_from_args(no_image)


def _kfp_reference_types(tmp_path) -> dict:
    """The artifact types the KFP SDK itself compiles for Metrics, HTML and Markdown outputs."""
    from kfp import compiler, dsl

    @dsl.container_component
    def reference(metrics: dsl.Output[dsl.Metrics], page: dsl.Output[dsl.HTML],
                  summary: dsl.Output[dsl.Markdown]):
        return dsl.ContainerSpec(image="python:3.10", command=["true"])

    path = str(tmp_path / "reference.yaml")
    compiler.Compiler().compile(reference, path)
    with open(path, encoding="utf-8") as f:
        outputs = yaml.safe_load(f)["components"]["comp-reference"]["outputDefinitions"]
    return {k: v["artifactType"] for k, v in outputs["artifacts"].items()}


@pytest.mark.parametrize("platform", ["vertex", "kubeflow"])
def test_ui_outputs_have_the_types_the_kfp_sdk_writes(tmp_path, platform):
    reference = _kfp_reference_types(tmp_path)
    assert reference["metrics"] == {"schemaTitle": "system.Metrics", "schemaVersion": "0.0.1"}
    out = str(tmp_path / "p.yaml")
    config = PipelineConfig.of(data_dir="gs://bucket/yt8m", pipeline_root="gs://bucket/root",
                            image="gcr.io/p/yt8m:1", platform=platform)
    runner.compile_pipeline(config, out)
    with open(out, encoding="utf-8") as f:
        spec = next(yaml.safe_load_all(f))
    outputs = spec["components"]["RunReport"]["outputDefinitions"]["artifacts"]
    types = {k: v["artifactType"] for k, v in outputs.items()}
    assert types["metrics"] == reference["metrics"]
    assert types["report_page"] == reference["page"]
    assert types["summary"] == reference["summary"]
    assert types["run_report"] == {"instanceSchema": "title: yt8m.RunReport\ntype: object\n"}
    ui = [(name, key) for name, c in spec["components"].items()
          for key, d in c.get("outputDefinitions", {}).get("artifacts", {}).items()
          if "schemaTitle" in d["artifactType"]]
    assert sorted(ui) == [("RunReport", "metrics"), ("RunReport", "report_page"),
                          ("RunReport", "summary")]
    # TFX's entrypoint imports them by title, as it imports an instance schema's title.
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_entrypoint_utils as utils
    raw = pipeline_spec_pb2.ArtifactTypeSchema(schema_title="system.Markdown",
                                               schema_version="0.0.1")
    assert utils._retrieve_class_path(raw) == "system.Markdown"
    inputs = spec["root"]["dag"]["tasks"]["RunReport"]["inputs"]["artifacts"]
    assert inputs["evaluation"]["taskOutputArtifact"]["producerTask"] == "Evaluator"


def _pipeline_job(tmp_path, **options):
    from google.auth.credentials import AnonymousCredentials

    _compile(tmp_path)
    opts = runner.SubmitOptions(pipeline_json=str(tmp_path / "pipeline.json"), project="p",
                                region="us-central1", **options)
    return runner.pipeline_job(opts, credentials=AnonymousCredentials())


def _task_caching(job) -> dict:
    tasks = job._gca_resource.pipeline_spec["root"]["dag"]["tasks"]
    return {name: bool(t.get("cachingOptions", {}).get("enableCache")) for name, t in tasks.items()}


def test_submit_keeps_the_compiled_caching_display_name_and_labels(tmp_path):
    job = _pipeline_job(tmp_path)
    compiled = json.load(open(tmp_path / "pipeline.json"))
    assert job._gca_resource.display_name == compiled["displayName"] == "yt8m"
    assert dict(job._gca_resource.labels) == compiled["labels"] and compiled["labels"]
    caching = _task_caching(job)
    assert caching["Trainer"] is True
    assert caching["latest_blessed_model_resolver-model-resolver"] is False  # never stale
    assert set(_task_caching(_pipeline_job(tmp_path, enable_caching=False)).values()) == {False}
    assert set(_task_caching(_pipeline_job(tmp_path, enable_caching=True)).values()) == {True}


def test_submit_flags(tmp_path, monkeypatch, capsys):
    from yt8m_cli import main as cli

    sent = {}

    class Job:
        resource_name = "projects/p/locations/r/pipelineJobs/yt8m-1"

    def fake_submit(options):
        sent["options"] = options
        return Job()

    monkeypatch.setattr(runner, "submit", fake_submit)
    base = ["pipeline", "submit", "--output", "p.json", "--project", "p", "--region", "r"]
    assert cli.main(base + ["--service_account", "sa@p.iam", "--network",
                            "projects/1/global/networks/n", "--experiment", "exp"]) == 0
    options = sent["options"]
    assert (options.service_account, options.network, options.experiment,
            options.enable_caching) == ("sa@p.iam", "projects/1/global/networks/n", "exp", None)
    assert options.parameter_values == {}
    assert cli.main(base + ["--param", "num_epochs=3", "--param", "model=MoeModel"]) == 0
    assert sent["options"].parameter_values == {"num_epochs": 3, "model": "MoeModel"}
    assert cli.main(base + ["--no_cache"]) == 0 and sent["options"].enable_caching is False
    assert cli.main(base + ["--enable_caching"]) == 0 and sent["options"].enable_caching is True
    assert cli.main(base + ["--enable_caching", "--no_cache"]) == 2
    assert "contradict" in capsys.readouterr().err


def test_wait_streams_task_states_until_the_run_ends():
    from google.cloud.aiplatform_v1.types import pipeline_job as pj, pipeline_state

    Task = pj.PipelineTaskDetail
    timeline = [
        (pipeline_state.PipelineState.PIPELINE_STATE_RUNNING,
         [Task(task_name="Trainer", state=Task.State.RUNNING)]),
        (pipeline_state.PipelineState.PIPELINE_STATE_RUNNING,
         [Task(task_name="Trainer", state=Task.State.RUNNING)]),
        (pipeline_state.PipelineState.PIPELINE_STATE_SUCCEEDED,
         [Task(task_name="Trainer", state=Task.State.SUCCEEDED),
          Task(task_name="Pusher", state=Task.State.SKIPPED)])]

    class Job:
        resource_name = "projects/p/locations/r/pipelineJobs/yt8m-1"
        step = -1

        @property
        def state(self):
            self.step += 1
            return timeline[self.step][0]

        @property
        def task_details(self):
            return timeline[self.step][1]

    lines = []
    assert runner.wait(Job(), log=lines.append, poll_seconds=0) == "PIPELINE_STATE_SUCCEEDED"
    assert [ln.split("] ", 1)[-1] for ln in lines] == [
        "Trainer: RUNNING", "Trainer: SUCCEEDED", "Pusher: SKIPPED",
        "run projects/p/locations/r/pipelineJobs/yt8m-1: PIPELINE_STATE_SUCCEEDED"]


def _help(action: str, capsys) -> str:
    from yt8m_cli import main as cli

    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["pipeline", action, "--help"])
    return capsys.readouterr().out


def test_each_pipeline_action_has_only_its_own_flags(capsys):
    """run: the config and local flags; compile: the config and the Kubeflow / Vertex ones;
    submit: only what a submission takes. A flag of another action is refused by name."""
    from yt8m_cli import main as cli

    run, compile_, submit = (_help(a, capsys) for a in ("run", "compile", "submit"))
    assert "--metadata_path" in run and "--platform" not in run and "--wait" not in run
    assert "--gpu_type" in compile_ and "--wait" not in compile_ and "--host" not in compile_
    assert "--host" in submit and "--beam_workers" not in submit and "--batch_size" not in submit
    assert "--metadata_path" not in compile_ + submit
    for action in ("run", "compile", "submit"):
        assert "--verbose" in _help(action, capsys)
    with pytest.raises(SystemExit) as e:
        cli.build_parser().parse_args(["pipeline", "run", "--data_dir", "d", "--platform",
                                       "kubeflow"])
    assert e.value.code == 2 and "unrecognized arguments: --platform" in capsys.readouterr().err


def test_every_config_field_with_a_flag_reaches_the_config():
    """The config's fields are read from the flags by name (FIELD_FLAGS for the renamed ones):
    every field but NOT_FLAGS has a flag in run or compile, and what it is given arrives."""
    from pipeline.config import FLAT
    from yt8m_cli import cmd_pipeline
    from yt8m_cli import main as cli

    parser = cli.build_parser()
    dests = set()
    for action in ("run", "compile"):
        sub = parser.parse_args(["pipeline", action, "--data_dir", "d"])._parser
        dests |= {a.dest for a in sub._actions}
    fields = set(FLAT) - set(cmd_pipeline.NOT_FLAGS)
    unflagged = {f for f in fields
                 if cmd_pipeline.FIELD_FLAGS.get(f, f"--{f}").removeprefix("--") not in dests}
    # set in a --config file only (no flag of their own)
    assert unflagged == {"train_pattern", "eval_pattern", "test_pattern", "pipeline_name",
                         "gap_change_tolerance", "export_metagraph"}, unflagged
    args = parser.parse_args(["pipeline", "compile", "--data_dir", "gs://bkt/d", "--image", "i:1",
                              "--gpu_type", "NVIDIA_TESLA_T4", "--gpu_count", "2",
                              "--segment_max_pred", "7", "--trainer_backend", "vertex_training",
                              "--project", "p", "--region", "r", "--no_cache"])
    config = cmd_pipeline.config_from_args(args)
    deploy = config.deployment
    assert (deploy.gpu_type, deploy.gpu_count, config.evaluation.segment_max_pred,
            deploy.project, deploy.region, config.enable_cache) == (
        "NVIDIA_TESLA_T4", 2, 7, "p", "r", False)


RUN_TIME = {"data_dir": "gs://bucket/yt8m", "model": "MoeModel", "num_epochs": 3,
            "gap_threshold": 0.25, "gap_change_tolerance": 0.01}


def test_run_time_parameters_default_to_the_compiled_values(tmp_path):
    _, job, _ = _compile(tmp_path, model="MoeModel", num_epochs=3, gap_threshold=0.25,
                         gap_change_tolerance=0.01)
    spec = job["pipelineSpec"]
    assert set(spec["root"]["inputDefinitions"]["parameters"]) == set(RUN_TIME)
    values = {k: next(iter(v.values())) for k, v in job["runtimeConfig"]["parameters"].items()}
    assert values == {**RUN_TIME, "num_epochs": "3"}  # a proto int64 in JSON
    tasks = spec["root"]["dag"]["tasks"]
    used = {(task, p, v["componentInputParameter"]) for task in tasks
            for p, v in tasks[task].get("inputs", {}).get("parameters", {}).items()
            if "componentInputParameter" in v}
    assert used == {("ImportExampleGen", "input_base", "data_dir"),
                    ("Trainer", "yt8m_model", "model"),
                    ("Trainer", "yt8m_num_epochs", "num_epochs"),
                    ("Evaluator", "yt8m_gap_threshold", "gap_threshold"),
                    ("Evaluator", "yt8m_gap_change_tolerance", "gap_change_tolerance")}


def test_submit_sets_run_time_parameters(tmp_path):
    job = _pipeline_job(tmp_path, parameter_values={"num_epochs": 3, "model": "MoeModel"})
    values = job._gca_resource.runtime_config.parameters
    assert values["num_epochs"].int_value == 3 and values["model"].string_value == "MoeModel"
    assert values["data_dir"].string_value == "gs://bucket/yt8m"  # the compiled value
    with pytest.raises(ValueError, match="pipeline parameter epochs is not found"):
        _pipeline_job(tmp_path, parameter_values={"epochs": 3})


def test_the_step_limit_is_max_steps_and_the_old_name_is_refused_by_name(tmp_path, capsys):
    """`max_steps` as in `yt8m train`, carried once (the Trainer's custom_config; TFX's
    TrainArgs holds no step limit); a config file or flag with the earlier `train_steps` gets one
    line naming the new name, nothing runs."""
    from yt8m_cli import main as cli

    config = PipelineConfig.of(data_dir="d", max_steps=7)
    trainer = create._make_trainer(config, *_upstream(config))
    assert "num_steps" not in json.loads(trainer.exec_properties["train_args"])
    assert json.loads(trainer.exec_properties["custom_config"])["training"]["max_steps"] == 7
    assert config.train_config().max_steps == 7
    old = tmp_path / "old.json"
    old.write_text('{"data_dir": "d", "train_steps": 5}')
    for argv in (["--config", str(old)], ["--data_dir", "d", "--train_steps", "5"]):
        assert cli.main(["pipeline", "run", *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "is now" in err[0] and "max_steps" in err[0], err


def _upstream(config):
    """ExampleGen, Transform and schema channels for building a Trainer alone."""
    from tfx import v1 as tfx

    example_gen = create._make_example_gen(config)
    schema = tfx.dsl.Channel(type=tfx.types.standard_artifacts.Schema)
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"], schema=schema,
        preprocessing_fn=create.PREPROCESSING_FN, materialize=False)
    return example_gen, transform, schema
