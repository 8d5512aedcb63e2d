"""create_pipeline compiles for Kubeflow V2 (strict PipelineSpec), module paths import,
the Dockerfile agrees with the lock."""
import importlib
import json
import os
import re

import pytest
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from kubeflow import runner
from pipeline import create
from pipeline.config import PipelineConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOCAL_NODES = {"ImportExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform",
               "Trainer", "Evaluator", "Pusher", "KaggleExport", "RunReport"}
BEAM_ARGS = ("--runner=DataflowRunner", "--project=p", "--region=us-central1",
             "--temp_location=gs://b/tmp")


def _compile(tmp_path, **kw):
    config = PipelineConfig(data_dir="gs://bucket/yt8m", pipeline_root="gs://bucket/root",
                            image="gcr.io/p/yt8m:1", beam_args=BEAM_ARGS, **kw)
    out = runner.compile_pipeline(config, str(tmp_path / "pipeline.json"))
    job = json.load(open(out))
    spec = pipeline_spec_pb2.PipelineSpec()
    json_format.ParseDict(job["pipelineSpec"], spec, ignore_unknown_fields=False)
    return config, job, spec


@pytest.mark.parametrize("frame", [False, True])
def test_compiles_every_component_with_image(tmp_path, frame):
    _, job, spec = _compile(tmp_path, frame_features=frame, trainer_gpu_type="NVIDIA_TESLA_T4",
                            trainer_gpu_count=2)
    tasks = set(spec.root.dag.tasks)
    expected = LOCAL_NODES | ({"CurateSchema"} if frame else set())
    assert expected <= tasks
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    for name, ex in executors.items():
        if "container" in ex:
            assert ex["container"]["image"] == "gcr.io/p/yt8m:1", name
    trainer = executors["Trainer_executor"]["container"]
    assert trainer["resources"]["accelerator"] == {"count": "2", "type": "NVIDIA_TESLA_T4"}
    for beam_node in ("ImportExampleGen", "StatisticsGen", "Transform", "Evaluator", "KaggleExport"):
        args = " ".join(executors[f"{beam_node}_executor"]["container"]["args"])
        assert "--runner=DataflowRunner" in args and "--region=us-central1" in args, beam_node


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
    assert job.pipeline_spec["root"]["dag"]["tasks"]


def test_user_module_paths_import(tmp_path):
    for path in create.USER_MODULE_PATHS:
        module, name = path.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), name)), path
    _, job, _ = _compile(tmp_path)
    dumped = json.dumps(job)
    for dotted in re.findall(r"(?<![\w.])trainer_module(?:\.\w+)+", dumped):
        module = dotted
        while module and not _importable(module):
            module = module.rsplit(".", 1)[0] if "." in module else ""
        assert module, dotted
    # the custom executors (ExampleGen, Evaluator, KaggleExport, RunReport) by class path
    executors = set(re.findall(r"(?<![\w.])components(?:\.\w+)+", dumped))
    assert "components.fixed_batch_evaluator.component.FixedBatchExecutor" in executors
    for path in executors:
        module, name = path.rsplit(".", 1)
        assert isinstance(getattr(importlib.import_module(module), name), type), path


def _importable(module):
    try:
        importlib.import_module(module)
        return True
    except ImportError:
        return False


def test_dockerfile_matches_lock():
    docker = open(os.path.join(ROOT, "Dockerfile")).read()
    lock = open(os.path.join(ROOT, "requirements.lock")).read()
    base = re.search(r"^FROM tensorflow/tfx:(\S+)", docker, re.M).group(1)
    assert f"tfx=={base}" in lock
    assert "TF_USE_LEGACY_KERAS=1" in docker
    for package in ("trainer_module", "components", "pipeline"):
        assert f"COPY {package} ./{package}" in docker


def test_gpu_flags_validated():
    with pytest.raises(ValueError, match="--gpu_type and --gpu_count"):
        PipelineConfig(data_dir="d", trainer_gpu_count=1)


def test_vertex_training_backend_carries_worker_pools(tmp_path):
    _, job, _ = _compile(tmp_path, trainer_backend="vertex_training", vertex_project="p",
                         vertex_region="us-central1", trainer_gpu_type="NVIDIA_TESLA_V100",
                         trainer_gpu_count=4, trainer_worker_count=3)
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    trainer = executors["Trainer_executor"]["container"]
    assert "accelerator" not in trainer.get("resources", {})  # the step only launches the job
    assert trainer["args"][1].startswith("tfx.extensions.google_cloud_ai_platform.trainer")
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
    with pytest.raises(ValueError, match="needs vertex_project and vertex_region"):
        PipelineConfig(data_dir="d", trainer_backend="vertex_training")


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
    with pytest.raises(ValueError, match="--ema_decay must be in"):
        PipelineConfig(data_dir="d", ema_decay=1.5)
