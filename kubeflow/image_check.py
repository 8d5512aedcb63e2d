"""Can this environment run every task of the compiled pipeline? The pipeline image's build step.

``python -m kubeflow.image_check --lock requirements.lock`` (the Dockerfile's last step, and a
test in the project's own environment):
  1. compiles the pipeline for each shape it ships in (video, frame, the Vertex AI Training
     Trainer, open-source Kubeflow Pipelines) and imports every Python path the compiled specs
     name: container commands' modules (``python -m``), executor classes, artifact types by their
     schema titles (as TFX's v2 entrypoint does), the Trainer's ``run_fn``, Transform's
     ``preprocessing_fn``, the Evaluator's module and metric classes;
  2. compares every installed distribution listed in the lock with its pinned version;
  3. runs ``pip check``.
Exits 1 with one line per problem.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

_DOTTED = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)+$")


def _shapes():
    from pipeline.config import PipelineConfig

    base = dict(data_dir="gs://bucket/data", pipeline_root="gs://bucket/root", image="check:1")
    return {"video": PipelineConfig.of(**base),
            "frame": PipelineConfig.of(**base, frame_features=True),
            "vertex_training": PipelineConfig.of(**base, trainer_backend="vertex_training",
                                                 project="p", region="us-central1",
                                                 trainer_worker_count=2),
            "kubeflow": PipelineConfig.of(**base, platform="kubeflow")}


def compiled_class_paths(job: dict) -> set[str]:
    """Every Python path a compiled PipelineJob (or bare PipelineSpec) makes a container import."""
    from tfx.orchestration.kubeflow.v2 import compiler_utils

    spec = job.get("pipelineSpec", job)
    paths = set()
    for executor in spec["deploymentSpec"]["executors"].values():
        command = executor.get("container", {}).get("command", [])
        paths |= {command[i + 1] for i, c in enumerate(command[:-1]) if c == "-m"}
        args = executor.get("container", {}).get("args", [])
        paths |= {args[i + 1] for i, a in enumerate(args[:-1]) if a == "--executor_class_path"}
    for component in spec["components"].values():
        for side in ("inputDefinitions", "outputDefinitions"):
            for artifact in component.get(side, {}).get("artifacts", {}).values():
                kind = artifact["artifactType"]
                title = kind.get("schemaTitle") or re.search(
                    r"^title:\s*(\S+)", kind.get("instanceSchema", ""), re.M).group(1)
                paths.add(compiler_utils.TITLE_TO_CLASS_PATH.get(title, title))
    for task in spec["root"]["dag"]["tasks"].values():
        for name, value in task.get("inputs", {}).get("parameters", {}).items():
            runtime = value.get("runtimeValue", {})  # schema 2.0: constantValue; 2.1: constant
            text = runtime.get("constantValue", {}).get("stringValue") or runtime.get("constant")
            text = text if isinstance(text, str) else ""
            if name in ("run_fn", "preprocessing_fn", "module_path") and _DOTTED.match(text):
                paths.add(text)
            if name == "eval_config":
                for spec_ in json.loads(text).get("metrics_specs", []):
                    paths |= {f"{m['module']}.{m['class_name']}"
                              for m in spec_.get("metrics", []) if m.get("module")}
    return paths


def import_errors(paths) -> list[str]:
    """``path: error`` for each dotted path that does not import (module, or module.attribute)."""
    errors = []
    for path in sorted(paths):
        module, _, attribute = path.rpartition(".")
        try:
            try:
                importlib.import_module(path)  # a module path (module_path)
                continue
            except ImportError:
                pass
            getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as e:
            errors.append(f"{path}: {type(e).__name__}: {e}")
    return errors


def lock_pins(lock_path: str) -> dict[str, str]:
    pins = {}
    with open(lock_path, encoding="utf-8") as f:
        for line in f:
            match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)", line)
            if match:
                pins[_normal(match.group(1))] = match.group(2)
    return pins


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed(name: str) -> str | None:
    # The first distribution on sys.path, as imports see it (setuptools appends its vendored
    # copies of packaging, wheel, ... to sys.path: those come later).
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def version_mismatches(pins: dict[str, str]) -> list[str]:
    """``name: installed X, the lock pins Y`` for every locked package at another version."""
    problems = []
    for name, version in sorted(pins.items()):
        installed = _installed(name)
        if installed != version:
            problems.append(f"{name}: installed {installed or 'nothing'}, the lock pins {version}")
    return problems


def compile_all(directory: str) -> dict[str, dict]:
    from kubeflow import runner

    jobs = {}
    for shape, config in _shapes().items():
        suffix = "yaml" if config.deployment.platform == "kubeflow" else "json"
        path = runner.compile_pipeline(config, os.path.join(directory, f"{shape}.{suffix}"))
        with open(path, encoding="utf-8") as f:
            jobs[shape] = next(yaml.safe_load_all(f)) if suffix == "yaml" else json.load(f)
    return jobs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", required=True, help="requirements.lock")
    args = parser.parse_args(argv)
    problems = []
    with tempfile.TemporaryDirectory() as work:
        paths = set().union(*(compiled_class_paths(j) for j in compile_all(work).values()))
    problems += [f"import {e}" for e in import_errors(paths)]
    problems += [f"version {m}" for m in version_mismatches(lock_pins(args.lock))]
    check = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    if check.returncode != 0:
        problems += [f"pip check: {line}" for line in check.stdout.splitlines() if line.strip()]
    for problem in problems:
        print(f"image_check: {problem}", file=sys.stderr)
    print(f"image_check: {len(paths)} compiled class paths import; {len(lock_pins(args.lock))} "
          f"locked versions checked; {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    sys.exit(main())
