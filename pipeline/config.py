"""The pipeline's one configuration: frozen, typed, validated at the boundary.

Loaded from a JSON file and/or CLI flags (flags win); everything else (local runner, Kubeflow
compiler, tests) reads it from here.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re

from pipeline import metadata
from trainer_module import errors
from trainer_module import io_utils
from trainer_module import models
from trainer_module.data import features as F
from trainer_module.evaluation import metrics as M
from trainer_module.evaluation import segment_metrics as SM
from trainer_module.export.saved_model import SERVING_TOP_K
from trainer_module.models import hparams as H
from trainer_module.train import loop as training
from trainer_module.train import model_flags as MF
from trainer_module.io_utils import shorten


DATA_LAYOUTS = ("nested", "flat")
# Where the pipeline runs: LocalDagRunner, Vertex AI Pipelines, or a self-hosted open-source
# Kubeflow Pipelines 2.x backend (which has no resolver executors: the baseline model comes from
# a task that queries the cluster's ML Metadata, components/latest_blessed_model).
PLATFORMS = ("local", "vertex", "kubeflow")
PATH_FIELDS = ("data_dir", "pipeline_root", "serving_dir", "metadata_path", "vocabulary")
# The accelerator types Vertex AI takes for a training step or job (its AcceleratorType names).
GPU_TYPES = ("NVIDIA_TESLA_K80", "NVIDIA_TESLA_P4", "NVIDIA_TESLA_P100", "NVIDIA_TESLA_T4",
             "NVIDIA_TESLA_V100", "NVIDIA_TESLA_A100", "NVIDIA_A100_80GB", "NVIDIA_L4",
             "NVIDIA_H100_80GB", "NVIDIA_H100_MEGA_80GB", "NVIDIA_H200_141GB")
PIPELINE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")  # TFX's 63; Kubeflow's and Vertex's pattern
MAX_CONFIG_BYTES = 1 << 20
RENAMED = {"train_steps": "max_steps"}  # config keys of earlier versions: old -> new name
MAX_GPUS = 16  # the most GPUs one machine type offers (a2-megagpu-16g)
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]")


def gcs_uri_problem(uri: str) -> str | None:
    """Why ``uri`` is not a usable ``gs://BUCKET[/path]`` (Cloud Storage's bucket naming rules:
    3-63 lower-case letters, digits, ``-``, ``_``, ``.``; no spaces), or None."""
    if any(c.isspace() for c in uri):
        return "holds a space or another blank"
    bucket = uri[len("gs://"):].split("/", 1)[0]
    if not bucket:
        return "names no bucket"
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        return (f"bucket {shorten(bucket)!r} is not a Cloud Storage bucket name (3-63 lower-case "
                "letters, digits, '-', '_', '.')")
    return None


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """Everything that defines a pipeline run.

    Attributes:
      data_dir: the input base: a local folder or a gs:// URI. Local paths (this one, the
        pipeline root, serving dir, metadata path, vocabulary) are made absolute.
      data_layout: "nested": the shards sit in data_dir/video/ or data_dir/frame/ (as
        `yt8m generate-data` writes them and the dataset is laid out); "flat": in data_dir itself.
        Part of the split patterns, never probed: the config does no I/O.
      train_pattern / eval_pattern / test_pattern: split globs inside the layout's folder.
      model / hparams: a registry model and its hyperparameter overrides.
      max_steps: stop at this global step (None: run num_epochs over the data), as
        `yt8m train`'s.
      gap_threshold: the Evaluator blesses a model only with GAP >= this (and not worse than the
        last blessed model by more than ``gap_change_tolerance``); with ``segment_labels`` the
        blessing metric is segment MAP@``segment_max_pred`` instead.
      segment_labels: the 2019 segment task (frame level): a model trained on the rated 5-frame
        segments, evaluated by segment MAP, KaggleExport writing the ``Class,Segments`` CSV
        (docs/segments.md). Its default ``pipeline_name`` is ``yt8m-segments``: the Evaluator's
        baseline is the latest blessed model of the same pipeline, and a whole-video model has
        no segment signatures to compare.
      platform: "local" (LocalDagRunner), "vertex" or "kubeflow" (open-source KFP 2.x: the
        baseline comes from a task that asks the cluster's ML Metadata, not a resolver).
    """

    data_dir: str
    data_layout: str = "nested"
    pipeline_root: str = "pipeline_output"
    pipeline_name: str | None = None  # default: "yt8m", "yt8m-segments" for the segment task
    frame_features: bool = False
    feature_names: str | None = None
    feature_sizes: str | None = None
    max_frames: int = F.MAX_FRAMES
    segment_labels: bool = False
    segment_max_pred: int = SM.DEFAULT_K  # K of segment MAP@K and of the submission's rows
    train_pattern: str = "train*.tfrecord"
    eval_pattern: str = "validate*.tfrecord"
    test_pattern: str = "test*.tfrecord"
    model: str | None = None
    hparams: dict = dataclasses.field(default_factory=dict)
    batch_size: int | None = None
    base_learning_rate: float | None = None
    num_epochs: int | None = None
    max_steps: int | None = None
    min_steps: int | None = None  # None: the model's default (more epochs on small data)
    label_loss: str = "CrossEntropyLoss"
    label_smoothing: float = 0.0
    warmup_steps: int = 0
    ema_decay: float = 0.0
    mixed_precision: bool = False
    top_k: int = M.DEFAULT_TOP_K
    float16_tgz: bool = False  # KaggleExport's model.tgz stores weights as float16
    gap_threshold: float = 0.0
    gap_change_tolerance: float = 1e-10
    serving_dir: str | None = None
    metadata_path: str | None = None
    vocabulary: str | None = None
    # Empty = Beam's defaults (in-process DirectRunner, one worker). TFX repackages itself for
    # remote workers whenever any Beam argument is given (see local_runner._scratch_dir).
    beam_args: tuple[str, ...] = ()
    # > 0: the Beam components run on this many local worker processes (the DirectRunner's
    # multi_processing mode); 0: in the component's own process (fastest on small data).
    beam_workers: int = 0
    enable_cache: bool = True
    export_metagraph: bool = True
    platform: str = "local"
    # Kubeflow / Vertex AI Pipelines (used only when compiling with kubeflow/runner.py)
    image: str | None = None  # required to compile
    trainer_gpu_type: str | None = None
    trainer_gpu_count: int = 0
    trainer_cpu_limit: float | None = None
    trainer_memory_limit: float | None = None  # GiB
    # "pipeline": the Trainer runs as a pipeline step (accelerator via the step's resources);
    # "vertex_training": the step launches a Vertex AI Training job (worker pools below), for
    # multi-GPU machines and multi-worker runs (MultiWorkerMirroredStrategy through TF_CONFIG).
    trainer_backend: str = "pipeline"
    vertex_project: str | None = None
    vertex_region: str | None = None
    trainer_machine_type: str = "n1-standard-8"
    trainer_worker_count: int = 1  # replicas: 1 chief + (count - 1) workers

    def __post_init__(self):
        self._check_types()
        if self.pipeline_name is None:
            object.__setattr__(self, "pipeline_name",
                               "yt8m-segments" if self.segment_labels else "yt8m")
        if not self.data_dir:
            raise ValueError("`data_dir` is required")
        self._absolute_paths()
        if self.data_layout not in DATA_LAYOUTS:
            raise ValueError(f"`data_layout` must be one of {', '.join(DATA_LAYOUTS)}, got "
                             f"{self.data_layout!r}")
        if self.segment_max_pred < 1:
            raise ValueError(f"`segment_max_pred` must be >= 1, got {self.segment_max_pred}")
        if self.model_flags().num_classes != F.NUM_CLASSES:  # also validates the model flags
            raise ValueError(f"`hparams.num_classes`: the pipeline trains YouTube-8M's "
                             f"{F.NUM_CLASSES} classes; for your own label set fine-tune with "
                             "`yt8m train` and its num_classes and start_from flags")
        if not 1 <= self.top_k <= SERVING_TOP_K:
            raise ValueError(f"`top_k` must be between 1 and {SERVING_TOP_K}, got {self.top_k}")
        if not 0 <= self.gap_threshold <= 1:
            raise ValueError(f"`gap_threshold` must be in [0, 1], got {self.gap_threshold}")
        if self.gap_change_tolerance < 0:
            raise ValueError(f"`gap_change_tolerance` must be >= 0, got "
                             f"{self.gap_change_tolerance}")
        for name in ("trainer_cpu_limit", "trainer_memory_limit"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise ValueError(f"`{name}` must be > 0, got {getattr(self, name)}")
        if not isinstance(self.pipeline_name, str) or not PIPELINE_NAME.fullmatch(
                self.pipeline_name):
            raise ValueError(f"`pipeline_name` {shorten(str(self.pipeline_name))!r} is not a "
                             "pipeline name: 1-63 lower-case letters, digits and '-', starting "
                             "with a letter or digit (what TFX, Kubeflow and Vertex AI accept)")
        for name in PATH_FIELDS:
            value = getattr(self, name)
            problem = gcs_uri_problem(value) if value and value.startswith("gs://") else None
            if problem:
                raise ValueError(f"`{name}` {shorten(value)!r} {problem}")
        if self.trainer_gpu_type and self.trainer_gpu_type not in GPU_TYPES:
            raise ValueError(f"`trainer_gpu_type` {shorten(self.trainer_gpu_type)!r} is not an "
                             f"accelerator type Vertex AI takes: {', '.join(GPU_TYPES)}")
        if not 0 <= self.trainer_gpu_count <= MAX_GPUS:
            raise ValueError(f"`trainer_gpu_count` must be between 0 and {MAX_GPUS}, got "
                             f"{self.trainer_gpu_count}")
        if bool(self.trainer_gpu_type) != (self.trainer_gpu_count > 0):
            raise ValueError("`trainer_gpu_type` and `trainer_gpu_count` go together (e.g. "
                             f"NVIDIA_TESLA_T4 and 1), got {self.trainer_gpu_type!r} and {self.trainer_gpu_count}")
        if self.trainer_backend not in ("pipeline", "vertex_training"):
            raise ValueError(f"`trainer_backend` must be 'pipeline' or 'vertex_training', got "
                             f"{self.trainer_backend!r}")
        if self.trainer_backend == "vertex_training" and not (self.vertex_project
                                                               and self.vertex_region):
            raise ValueError("`trainer_backend` 'vertex_training' needs `vertex_project` and "
                             "`vertex_region`")
        if self.platform not in PLATFORMS:
            raise ValueError(f"`platform` must be one of {', '.join(PLATFORMS)}, got "
                             f"{self.platform!r}")
        if self.platform == "kubeflow" and self.trainer_backend == "vertex_training":
            raise ValueError("`trainer_backend` 'vertex_training' launches a Vertex AI custom job, "
                             "which open-source Kubeflow Pipelines refuses (customJob executors "
                             "are Google Cloud only): use `platform` 'vertex', or the 'pipeline' "
                             "backend with a GPU request")
        if self.trainer_worker_count < 1:
            raise ValueError(f"`trainer_worker_count` must be >= 1, got "
                             f"{self.trainer_worker_count}")
        if self.beam_workers < 0:
            raise ValueError(f"`beam_workers` must be >= 0, got {self.beam_workers}")
        runner = _flag_value(self.beam_args, "--runner")
        if self.beam_workers and runner not in (None, "DirectRunner"):
            raise ValueError(f"`beam_workers` runs the local DirectRunner's worker processes, but "
                             f"`beam_args` choose the {runner}: set one or the other")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"`max_steps` must be >= 1, got {self.max_steps}")
        training.TrainConfig(**self.training_settings())  # the Trainer's own checks, now

    def _absolute_paths(self) -> None:
        """Local paths made absolute (URIs kept): ML Metadata stores them, so run history,
        reports and the cache must not depend on the folder a run was started from."""
        for name in PATH_FIELDS:
            value = getattr(self, name)
            if value and "://" not in value:
                object.__setattr__(self, name, os.path.abspath(os.path.expanduser(value)))

    def _check_types(self) -> None:
        """Every field has its declared type (a JSON config can hold anything): a string where a
        number belongs, null for a required field, a list for a string are errors naming the
        key; floats must be finite; booleans are true/false only."""
        samples = {"int": 0, "float": 0.0, "bool": False, "str": ""}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            kinds = [k.strip() for k in str(field.type).split("|")]
            if value is None:
                if "None" not in kinds:
                    raise ValueError(f"`{field.name}` must not be null")
                continue
            if kinds[0].startswith("tuple"):
                if isinstance(value, list):
                    value = tuple(value)
                if not (isinstance(value, tuple) and all(isinstance(v, str) for v in value)):
                    raise ValueError(f"`{field.name}` must be a list of strings, got {value!r}")
            elif kinds[0] == "dict":
                if not isinstance(value, dict):
                    raise ValueError(f"`{field.name}` must be an object, got {value!r}")
            else:
                value = H.coerce(field.name, samples[kinds[0]], value)
            object.__setattr__(self, field.name, value)

    @property
    def model_name(self) -> str:
        return self.model or models.default_model(self.frame_features)

    @property
    def input_base(self) -> str:
        return self.data_dir

    def split_pattern(self, pattern: str) -> str:
        """A split's glob relative to ``input_base``, with the layout's level folder."""
        if self.data_layout == "flat":
            return pattern
        return f"{'frame' if self.frame_features else 'video'}/{pattern}"

    def model_flags(self) -> MF.ModelFlags:
        return MF.ModelFlags.resolve(self.model, self.frame_features, self.feature_names,
                                     self.feature_sizes, self.max_frames, self.hparams,
                                     self.label_loss, self.segment_labels)

    def training_settings(self) -> dict:
        """The model's default training settings with this config's overrides applied."""
        out = models.training_settings(self.model_name, {
            k: getattr(self, k) for k in ("batch_size", "base_learning_rate", "num_epochs",
                                          "min_steps")})
        return {**out, "max_steps": self.max_steps, "label_loss": self.label_loss,
                "label_smoothing": self.label_smoothing, "warmup_steps": self.warmup_steps,
                "ema_decay": self.ema_decay, "mixed_precision": self.mixed_precision,
                "expected_gpus": self.trainer_gpu_count}

    def resolved_beam_args(self) -> tuple[str, ...]:
        """``beam_args`` plus, with ``beam_workers``, the DirectRunner's multi-processing mode."""
        if not self.beam_workers:
            return self.beam_args
        return (*self.beam_args, "--direct_running_mode=multi_processing",
                f"--direct_num_workers={self.beam_workers}")

    def resolved_serving_dir(self) -> str:
        """The Pusher's destination: ``serving_dir``, else the root's ``serving_model`` (for
        the segment task ``serving_model_segments``: TF Serving serves the newest version of a
        folder, which must stay one task's model)."""
        default = "serving_model_segments" if self.segment_labels else "serving_model"
        return self.serving_dir or os.path.join(self.pipeline_root, default)

    def resolved_metadata_path(self) -> str:
        return self.metadata_path or metadata.default_path(self.pipeline_root)

    def replace(self, **changes) -> "PipelineConfig":
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_file(cls, path: str, **overrides) -> "PipelineConfig":
        """Reads a JSON config (UTF-8, a byte-order mark accepted, at most MAX_CONFIG_BYTES);
        keyword overrides (non-None) win. Unknown keys are errors."""
        try:
            if os.path.getsize(path) > MAX_CONFIG_BYTES:
                raise ValueError(f"{path}: {os.path.getsize(path):,} bytes; a config is a few "
                                 f"KB (at most {MAX_CONFIG_BYTES:,})")
            data = json.loads(io_utils.read_text(path, "config"))
        except RecursionError:
            raise ValueError(f"{path}: not a config (JSON nested too deeply)") from None
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: {e}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object of config fields")
        known = {f.name for f in dataclasses.fields(cls)}
        for old, new in RENAMED.items():
            if old in data:
                raise ValueError(f'{path}: the key "{old}" is now "{new}" (the same setting; '
                                 "rename the key)")
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown keys {', '.join(unknown)}; valid: "
                             f"{', '.join(sorted(known))}")
        data.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**data)
        except ValueError as e:  # the file's keys, not flags, whichever side set the value
            raise ValueError(f"{path}: {errors.plain_fields(str(e))}") from None


def _flag_value(args: tuple[str, ...], flag: str) -> str | None:
    """The value of ``--flag=value`` or ``--flag value`` in a Beam argument list (the last)."""
    value = None
    for i, arg in enumerate(args):
        if arg.startswith(flag + "="):
            value = arg.split("=", 1)[1]
        elif arg == flag and i + 1 < len(args):
            value = args[i + 1]
    return value
