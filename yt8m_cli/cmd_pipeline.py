"""yt8m pipeline run | compile | submit: the TFX pipeline on LocalDagRunner, compiled for
Kubeflow Pipelines / Vertex AI, submitted; each action with its own flags."""
from __future__ import annotations

import argparse
import json
import shlex

from trainer_module.io_utils import shorten
from trainer_module.output_guard import Paths
from yt8m_cli import flags as FL

# PipelineConfig settings whose flag has another name (every other setting is its own flag):
# --no_cache sets enable_cache false.
FIELD_FLAGS = {"enable_cache": "--no_cache"}
# PipelineConfig settings that no single flag sets: hparams (the hyperparameter flags), beam_args
# (--beam_arg and the Dataflow flags), enable_cache (--no_cache inverts it).
NOT_FLAGS = ("hparams", "beam_args", "enable_cache")
# Flags of earlier versions (old -> new name), refused naming the new one.
RENAMED_FLAGS = {"train_steps": "max_steps"}
HELP = "Run the TFX pipeline locally (run), compile it for Kubeflow/Vertex (compile), submit it."


ACTIONS = {"run": "run the pipeline here (LocalDagRunner, sqlite ML Metadata)",
           "compile": "compile it for Vertex AI Pipelines or open-source Kubeflow Pipelines",
           "submit": "submit a compiled pipeline to Vertex AI or a Kubeflow Pipelines host"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``yt8m pipeline run|compile|submit``: each action its own parser and flags."""
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION",
                               help="`yt8m pipeline ACTION --help` lists its flags")
    for action, text in ACTIONS.items():
        a = actions.add_parser(action, help=text, description=text,
                               formatter_class=p.formatter_class)
        if action == "submit":
            _add_submit_flags(a)
        else:
            _add_config_flags(a, action)
            if action == "compile":
                _add_compile_flags(a)
            _add_dataflow_flags(a)
        FL.add_verbose_flag(a)
        a.set_defaults(_parser=a)


def _add_platform_flags(p: argparse.ArgumentParser, output: str) -> None:
    """--platform and --output (``output``: what the file is) of compile and submit."""
    p.add_argument("--platform", choices=["vertex", "kubeflow"], default=None,
                   help="vertex (Vertex AI Pipelines, the default) or kubeflow (a self-hosted "
                        "open-source Kubeflow Pipelines 2.x backend)")
    p.add_argument("--output", default=None,
                   help=f"{output} (default pipeline.json; kubeflow: pipeline.yaml)")


def _add_submit_flags(p: argparse.ArgumentParser) -> None:
    _add_platform_flags(p, "the compiled file to submit")
    p.add_argument("--project", default=None, help="vertex: Google Cloud project of the run")
    p.add_argument("--region", default=None, help="vertex: Vertex AI region of the run")
    p.add_argument("--service_account", default=None, help="service account of the run")
    p.add_argument("--network", default=None,
                   help="vertex: VPC network peered with Vertex AI, projects/N/global/networks/NET")
    p.add_argument("--experiment", default=None, help="experiment of the run")
    p.add_argument("--enable_caching", action="store_true", default=None,
                   help="vertex: cache every task (default: the compiled per-task caching)")
    p.add_argument("--no_cache", action="store_true", help="run every task again")
    p.add_argument("--host", default=None,
                   help="kubeflow: the KFP API endpoint, e.g. http://localhost:8080 (kubectl "
                        "port-forward svc/ml-pipeline-ui)")
    p.add_argument("--namespace", default=None,
                   help="kubeflow: the Kubernetes namespace (multi-user KFP)")
    p.add_argument("--pipeline_root", default=None,
                   help="kubeflow: the run's pipeline root (default: the spec's)")
    p.add_argument("--param", action="append", default=None, metavar="NAME=VALUE",
                   help="a run-time parameter of the compiled pipeline (repeatable): data_dir, "
                        "model, num_epochs, gap_threshold, gap_change_tolerance; JSON numbers "
                        "and booleans are typed, anything else is a string")
    p.add_argument("--wait", action="store_true",
                   help="print task states as they change until the run ends")


def _add_compile_flags(p: argparse.ArgumentParser) -> None:
    _add_platform_flags(p, "compiled file: .json or .yaml")
    p.add_argument("--gpu_type", default=None, help="Trainer accelerator, e.g. NVIDIA_TESLA_T4")
    p.add_argument("--gpu_count", type=int, default=None, help="Trainer GPUs (with --gpu_type)")
    p.add_argument("--cpu_limit", type=float, default=None, help="Trainer vCPUs")
    p.add_argument("--memory_limit", type=float, default=None, help="Trainer memory in GiB")
    p.add_argument("--trainer_backend", choices=["pipeline", "vertex_training"], default=None,
                   help="vertex_training: the Trainer step launches a Vertex AI Training job "
                        "(needs --project, --region)")
    p.add_argument("--trainer_machine_type", default=None, help="Vertex AI Training machine type")
    p.add_argument("--trainer_worker_count", type=int, default=None,
                   help="Vertex AI Training replicas (multi-worker when > 1)")
    p.add_argument("--project", default=None,
                   help="with --trainer_backend vertex_training: the training job's project")
    p.add_argument("--region", default=None,
                   help="with --trainer_backend vertex_training: the training job's region")


def _add_dataflow_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataflow_project", default=None,
                   help="run the Beam components on Dataflow in this project")
    p.add_argument("--dataflow_region", default=None, help="Dataflow region, e.g. us-central1")
    p.add_argument("--dataflow_temp_location", default=None,
                   help="gs:// folder for Dataflow's temporary files")
    p.add_argument("--dataflow_max_workers", type=int, default=None,
                   help="upper bound of Dataflow's autoscaling")
    p.add_argument("--dataflow_machine_type", default=None,
                   help="Dataflow worker machine type, e.g. n1-highmem-4")
    p.add_argument("--dataflow_service_account", default=None,
                   help="service account of the Dataflow workers")
    p.add_argument("--dataflow_subnetwork", default=None,
                   help="Dataflow workers' subnetwork (regions/R/subnetworks/S or a full URL)")


def _add_config_flags(p: argparse.ArgumentParser, action: str) -> None:
    """The PipelineConfig fields of ``run`` and ``compile``."""
    p.add_argument("--image", default=None,
                   help="pipeline image (compile: required; also Dataflow's SDK container)")
    p.add_argument("--data_dir", default=None, help="input base: folder or gs:// URI of shards")
    p.add_argument("--data_layout", choices=["nested", "flat"], default=None,
                   help="nested: DATA_DIR/video/ or DATA_DIR/frame/ holds the shards; flat: "
                        "DATA_DIR itself (run: detected when not given; compile: nested)")
    p.add_argument("--config", default=None, help="JSON file of PipelineConfig fields")
    p.add_argument("--pipeline_root", default=None, help="default pipeline_output")
    p.add_argument("--serving_dir", default=None, help="Pusher destination")
    if action == "run":
        p.add_argument("--metadata_path", default=None, help="sqlite MLMD file")
    p.add_argument("--frame_features", type=FL.str2bool, nargs="?", const=True, default=None,
                   help="frame-level SequenceExamples (DATA_DIR/frame/) instead of video-level")
    p.add_argument("--feature_names", default=None,
                   help="comma-separated features (default mean_rgb,mean_audio or rgb,audio)")
    p.add_argument("--feature_sizes", default=None,
                   help="comma-separated sizes (default 1024,128)")
    p.add_argument("--model", default=None,
                   help="registry model (default GatedDnnModel, or DbofModel at frame level)")
    FL.add_training_flags(p)
    FL.add_renamed_flags(p, RENAMED_FLAGS)
    p.add_argument("--gap_threshold", type=float, default=None,
                   help="the Evaluator blesses a model only with GAP@top_k >= this (default 0)")
    p.add_argument("--top_k", type=int, default=None,
                   help="predictions per video: GAP@k and the CSV's pairs (default 20)")
    p.add_argument("--float16_tgz", action="store_true", default=None,
                   help="KaggleExport's model.tgz stores weights as float16 (half the size)")
    p.add_argument("--max_frames", type=int, default=None,
                   help="frames kept per video (default 300)")
    p.add_argument("--segment_labels", action="store_true", default=None,
                   help="the 2019 segment task (with --frame_features): train on the rated "
                        "5-frame segments, bless on segment MAP, export the Class,Segments CSV")
    p.add_argument("--segment_max_pred", type=int, default=None,
                   help="with --segment_labels: segments kept per class, K of MAP@K (default "
                        "100000, the 2019 challenge's)")
    p.add_argument("--vocabulary", default=None,
                   help="vocabulary.csv: label names in the run report")
    p.add_argument("--beam_workers", type=int, default=None,
                   help="run the Beam components on N local worker processes (DirectRunner "
                        "multi_processing; default 0: in the component's own process)")
    p.add_argument("--beam_arg", action="append", default=None, dest="beam_args",
                   help="a Beam pipeline argument (repeatable)")
    p.add_argument("--no_cache", action="store_true", help="no caching")
    FL.add_hparam_flags(p)


def config_from_args(args):
    from pipeline.config import FLAT, PipelineConfig

    FL.refuse_renamed(args, RENAMED_FLAGS, "the same setting, as `yt8m train` names it")
    overrides = {}
    for name in FLAT:  # every setting by name; its flag: the name or FIELD_FLAGS'
        if name in NOT_FLAGS or (name in ("project", "region")  # the training job's, compile's
                                 and getattr(args, "trainer_backend", None) != "vertex_training"):
            continue
        flag = FIELD_FLAGS.get(name, f"--{name}").removeprefix("--")
        overrides[name] = getattr(args, flag, None)
    hparams = FL.hparam_overrides(args)
    if hparams:
        overrides["hparams"] = hparams
    beam_args = list(args.beam_args or [])
    if args.dataflow_project:
        if not args.image:
            raise ValueError("--dataflow_project needs --image (the SDK container of the workers)")
        beam_args += dataflow_beam_args(args)
    if beam_args:
        overrides["beam_args"] = tuple(beam_args)
    if args.no_cache:
        overrides["enable_cache"] = False
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if args.config:
        return PipelineConfig.from_file(args.config, **overrides)
    if not args.data_dir:
        raise ValueError("--data_dir (or --config with data_dir) is required")
    return PipelineConfig.of(**overrides)


def dataflow_beam_args(args) -> list[str]:
    """Beam arguments that send the Beam-based components to Dataflow."""
    from pipeline.config import gcs_uri_problem

    if not (args.dataflow_region and args.dataflow_temp_location):
        raise ValueError("--dataflow_project needs --dataflow_region and --dataflow_temp_location")
    temp = args.dataflow_temp_location
    problem = gcs_uri_problem(temp) if temp.startswith("gs://") else "is not a gs:// URI"
    if problem:
        raise ValueError(f"--dataflow_temp_location {shorten(temp)!r} {problem}: Dataflow's "
                         "workers stage files there")
    if args.dataflow_max_workers is not None and args.dataflow_max_workers < 1:
        raise ValueError(f"--dataflow_max_workers must be >= 1, got {args.dataflow_max_workers}")
    out = ["--runner=DataflowRunner", f"--project={args.dataflow_project}",
           f"--region={args.dataflow_region}", f"--temp_location={args.dataflow_temp_location}",
           f"--sdk_container_image={args.image}", "--experiments=use_runner_v2"]
    optional = {"--max_num_workers": args.dataflow_max_workers,
                "--worker_machine_type": args.dataflow_machine_type,
                "--service_account_email": args.dataflow_service_account,
                "--subnetwork": args.dataflow_subnetwork}
    return out + [f"{flag}={value}" for flag, value in optional.items() if value]


def _detect_layout(args) -> None:
    """`run` without --data_layout: nested when DATA_DIR/video or DATA_DIR/frame exists."""
    if args.data_layout or not args.data_dir:
        return
    import tensorflow as tf

    level = "frame" if args.frame_features else "video"
    args.data_layout = "nested" if tf.io.gfile.isdir(f"{args.data_dir}/{level}") else "flat"


def paths(args) -> Paths:
    """compile: the config in, the spec out; run: the config's data, vocabulary and config file
    in, its pipeline root, serving dir and metadata store out; submit: the spec in."""
    _settle(args)
    if args.action == "submit":
        return Paths(reads={"--output": args.output}, writes={})
    if args.action == "compile":
        return Paths(reads={"--config": args.config}, writes={"--output": args.output})
    _detect_layout(args)
    config = config_from_args(args)
    data = [f"{config.data.data_dir}/{config.split_pattern(p)}"
            for p in (config.data.train_pattern, config.data.eval_pattern,
                      config.data.test_pattern)]
    return Paths(reads={"--data_dir": data, "--vocabulary": config.data.vocabulary,
                        "--config": args.config},
                 writes={"--pipeline_root": config.pipeline_root,
                         "--serving_dir": config.resolved_serving_dir(),
                         "--metadata_path": config.resolved_metadata_path()},
                 folders=("--pipeline_root", "--serving_dir"))


def _settle(args) -> None:
    """The platform's defaults (idempotent: `paths` and `run` both ask)."""
    if args.action in ("compile", "submit"):
        args.platform = args.platform or "vertex"
        args.output = args.output or ("pipeline.yaml" if args.platform == "kubeflow"
                                      else "pipeline.json")


def run(args: argparse.Namespace) -> int:
    _settle(args)
    if args.action == "compile":
        from kubeflow import runner

        config = config_from_args(args)
        print(f"wrote {runner.compile_pipeline(config, args.output)}")
        return 0
    if args.action == "submit":
        return _submit(args)
    from pipeline import local_runner

    _detect_layout(args)
    config = config_from_args(args)
    print(f"pipeline {config.pipeline_name}: {config.model_name} on "
          f"{config.data.data_dir}/{config.split_pattern('')} "
          f"-> {config.pipeline_root}")
    result = local_runner.run(config)
    m = result["metrics"]
    print("\n== yt8m pipeline finished in {:.0f}s ==".format(result["seconds"]))
    for node, state, seconds in result["components"]:
        print(f"  {node:32s} {state:9s} {seconds:7.1f}s")
    print(f"GAP@{config.evaluation.top_k}: {m.get('gap', float('nan')):.4f}  Hit@1: "
          f"{m.get('hit_at_one', float('nan')):.4f}  PERR: {m.get('perr', float('nan')):.4f}  "
          f"mAP: {m.get('map', float('nan')):.4f}")
    blessing = "GAP"
    if config.data.segment_labels:  # the video figures above: each video's best segment
        blessing = f"segment MAP@{config.evaluation.segment_max_pred}"
        print(f"{blessing}: {m.get('segment_map', float('nan')):.4f}")
    print(f"blessed: {result['blessed']} ({blessing} >= gap_threshold "
          f"{config.evaluation.gap_threshold})")
    print(f"pushed model: {result['pushed_dir'] or 'none'}")
    print(f"Kaggle CSV: {result['csv'] or 'none'} ({result['csv_rows'] or 0} rows)")
    print(f"model .tgz: {result['model_tgz'] or 'none'}")
    print(f"report: {result['report'] or 'none'}")
    root = shlex.quote(config.pipeline_root)
    print(f"next (from any folder): yt8m runs --pipeline_root {root}\n"
          f"                        yt8m report --pipeline_root {root} --output report.html")
    print(json.dumps({"metrics": m, "blessed": result["blessed"]}))
    return 0


def parse_params(items) -> dict:
    """``--param NAME=VALUE`` items as a dict (JSON numbers/booleans typed)."""
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--param {item!r}: expected NAME=VALUE")
        try:
            parsed = json.loads(value)
            out[name] = parsed if isinstance(parsed, (int, float, bool)) else value
        except json.JSONDecodeError:
            out[name] = value
    return out


def _submit_kubeflow(args: argparse.Namespace) -> int:
    from kubeflow import oss_submit

    if not args.host:
        raise ValueError("submit --platform kubeflow needs --host (the KFP API endpoint)")
    if args.enable_caching:
        raise ValueError("--enable_caching: open-source KFP keeps the caching of an uploaded "
                         "spec (the baseline lookup must never be cached); --no_cache is offered")
    options = oss_submit.KfpSubmitOptions(
        pipeline_yaml=args.output, host=args.host, namespace=args.namespace,
        experiment=args.experiment or "yt8m", pipeline_root=args.pipeline_root,
        parameters=parse_params(args.param), service_account=args.service_account,
        no_cache=bool(args.no_cache))
    client, run = oss_submit.submit(options)
    print(f"submitted run {run.run_id} to {args.host}")
    if not args.wait:
        return 0
    state = oss_submit.wait(client, run.run_id, log=print, options=options)
    return 0 if state == "SUCCEEDED" else 1


def _submit(args: argparse.Namespace) -> int:
    from kubeflow import runner

    if args.platform == "kubeflow":
        return _submit_kubeflow(args)
    if not (args.project and args.region):
        raise ValueError("submit needs --project and --region (and Google Cloud credentials)")
    if args.enable_caching and args.no_cache:
        raise ValueError("--enable_caching and --no_cache contradict each other")
    caching = True if args.enable_caching else (False if args.no_cache else None)
    job = runner.submit(runner.SubmitOptions(
        pipeline_json=args.output, project=args.project, region=args.region,
        service_account=args.service_account, network=args.network,
        experiment=args.experiment, enable_caching=caching,
        parameter_values=parse_params(args.param)))
    print(f"submitted {job.resource_name}")
    if not args.wait:
        return 0
    state = runner.wait(job, log=print)
    return 0 if state == "PIPELINE_STATE_SUCCEEDED" else 1
