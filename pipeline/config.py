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
# The accelerator types Vertex AI takes for a training step or job (its AcceleratorType names).
GPU_TYPES = ("NVIDIA_TESLA_K80", "NVIDIA_TESLA_P4", "NVIDIA_TESLA_P100", "NVIDIA_TESLA_T4",
             "NVIDIA_TESLA_V100", "NVIDIA_TESLA_A100", "NVIDIA_A100_80GB", "NVIDIA_L4",
             "NVIDIA_H100_80GB", "NVIDIA_H100_MEGA_80GB", "NVIDIA_H200_141GB")
PIPELINE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")  # TFX's 63; Kubeflow's and Vertex's pattern
MAX_CONFIG_BYTES = 1 << 20
# Setting names of earlier versions: old -> new name (the config key is the flag's name).
RENAMED = {"train_steps": "max_steps", "trainer_gpu_type": "gpu_type",
           "trainer_gpu_count": "gpu_count", "trainer_cpu_limit": "cpu_limit",
           "trainer_memory_limit": "memory_limit", "vertex_project": "project",
           "vertex_region": "region"}
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


def _check_types(obj) -> None:
    """Every field of the dataclass ``obj`` has its declared type (a JSON config can hold
    anything): a string where a number belongs, null for a required field, a list for a string
    are errors naming the key; floats must be finite; booleans are true/false only."""
    samples = {"int": 0, "float": 0.0, "bool": False, "str": ""}
    for field in dataclasses.fields(obj):
        if not field.init:
            continue
        value = getattr(obj, field.name)
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
        elif kinds[0] in samples:
            value = H.coerce(field.name, samples[kinds[0]], value)
        else:
            continue  # a section: checked by its own __post_init__
        object.__setattr__(obj, field.name, value)


@dataclasses.dataclass(frozen=True)
class DataSection:
    """What the pipeline reads.

    Attributes:
      data_dir: the input base: a local folder or a gs:// URI. Local paths (this one, the
        vocabulary, and the run's pipeline root, serving dir, metadata path) are made absolute.
      data_layout: "nested": the shards sit in data_dir/video/ or data_dir/frame/ (as
        `yt8m generate-data` writes them and the dataset is laid out); "flat": in data_dir itself.
        Part of the split patterns, never probed: the config does no I/O.
      train_pattern / eval_pattern / test_pattern: split globs inside the layout's folder.
      segment_labels: the 2019 segment task (frame level): a model trained on the rated 5-frame
        segments, evaluated by segment MAP, KaggleExport writing the ``Class,Segments`` CSV
        (docs/segments.md).
    """

    data_dir: str = ""
    data_layout: str = "nested"
    train_pattern: str = "train*.tfrecord"
    eval_pattern: str = "validate*.tfrecord"
    test_pattern: str = "test*.tfrecord"
    frame_features: bool = False
    feature_names: str | None = None
    feature_sizes: str | None = None
    max_frames: int = F.MAX_FRAMES
    segment_labels: bool = False
    vocabulary: str | None = None  # vocabulary.csv: label names in the run report

    def __post_init__(self):
        _check_types(self)
        if not self.data_dir:
            raise ValueError("`data_dir` is required")
        if self.data_layout not in DATA_LAYOUTS:
            raise ValueError(f"`data_layout` must be one of {', '.join(DATA_LAYOUTS)}, got "
                             f"{self.data_layout!r}")


@dataclasses.dataclass(frozen=True)
class ModelSection:
    """A registry model (None: the level's default) and its hyperparameter overrides."""

    model: str | None = None
    hparams: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        _check_types(self)


@dataclasses.dataclass(frozen=True)
class EvaluationSection:
    """The Evaluator and KaggleExport.

    Attributes:
      gap_threshold: the Evaluator blesses a model only with GAP >= this (and not worse than the
        last blessed model by more than ``gap_change_tolerance``); with ``segment_labels`` the
        blessing metric is segment MAP@``segment_max_pred`` instead.
    """

    top_k: int = M.DEFAULT_TOP_K
    gap_threshold: float = 0.0
    gap_change_tolerance: float = 1e-10
    segment_max_pred: int = SM.DEFAULT_K  # K of segment MAP@K and of the submission's rows

    def __post_init__(self):
        _check_types(self)
        if not 1 <= self.top_k <= SERVING_TOP_K:
            raise ValueError(f"`top_k` must be between 1 and {SERVING_TOP_K}, got {self.top_k}")
        if not 0 <= self.gap_threshold <= 1:
            raise ValueError(f"`gap_threshold` must be in [0, 1], got {self.gap_threshold}")
        if self.gap_change_tolerance < 0:
            raise ValueError(f"`gap_change_tolerance` must be >= 0, got "
                             f"{self.gap_change_tolerance}")
        if self.segment_max_pred < 1:
            raise ValueError(f"`segment_max_pred` must be >= 1, got {self.segment_max_pred}")


@dataclasses.dataclass(frozen=True)
class BeamSection:
    """Where the Beam components (ExampleGen, StatisticsGen, Transform, Evaluator, KaggleExport,
    RunReport) run."""

    # Empty = Beam's defaults (in-process DirectRunner, one worker). TFX repackages itself for
    # remote workers whenever any Beam argument is given (see local_runner._scratch_dir).
    beam_args: tuple[str, ...] = ()
    # > 0: the Beam components run on this many local worker processes (the DirectRunner's
    # multi_processing mode); 0: in the component's own process (fastest on small data).
    beam_workers: int = 0

    def __post_init__(self):
        _check_types(self)
        if self.beam_workers < 0:
            raise ValueError(f"`beam_workers` must be >= 0, got {self.beam_workers}")
        runner = _flag_value(self.beam_args, "--runner")
        if self.beam_workers and runner not in (None, "DirectRunner"):
            raise ValueError(f"`beam_workers` runs the local DirectRunner's worker processes, but "
                             f"`beam_args` choose the {runner}: set one or the other")

    def resolved_beam_args(self) -> tuple[str, ...]:
        """``beam_args`` plus, with ``beam_workers``, the DirectRunner's multi-processing mode."""
        if not self.beam_workers:
            return self.beam_args
        return (*self.beam_args, "--direct_running_mode=multi_processing",
                f"--direct_num_workers={self.beam_workers}")


@dataclasses.dataclass(frozen=True)
class DeploymentSection:
    """Where the pipeline runs and what its Trainer asks for.

    Attributes:
      platform: "local" (LocalDagRunner), "vertex" or "kubeflow" (open-source KFP 2.x: the
        baseline comes from a task that asks the cluster's ML Metadata, not a resolver).
      image: the pipeline image (required to compile).
      trainer_backend: "pipeline": the Trainer runs as a pipeline step (accelerator via the
        step's resources); "vertex_training": the step launches a Vertex AI Training job (the
        worker pools below), for multi-GPU machines and multi-worker runs
        (MultiWorkerMirroredStrategy through TF_CONFIG).
    """

    platform: str = "local"
    image: str | None = None
    gpu_type: str | None = None
    gpu_count: int = 0
    cpu_limit: float | None = None
    memory_limit: float | None = None  # GiB
    trainer_backend: str = "pipeline"
    project: str | None = None  # the Vertex AI Training job's (trainer_backend vertex_training)
    region: str | None = None
    trainer_machine_type: str = "n1-standard-8"
    trainer_worker_count: int = 1  # replicas: 1 chief + (count - 1) workers

    def __post_init__(self):
        _check_types(self)
        for name in ("cpu_limit", "memory_limit"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise ValueError(f"`{name}` must be > 0, got {getattr(self, name)}")
        if self.gpu_type and self.gpu_type not in GPU_TYPES:
            raise ValueError(f"`gpu_type` {shorten(self.gpu_type)!r} is not an accelerator "
                             f"type Vertex AI takes: {', '.join(GPU_TYPES)}")
        if not 0 <= self.gpu_count <= MAX_GPUS:
            raise ValueError(f"`gpu_count` must be between 0 and {MAX_GPUS}, got {self.gpu_count}")
        if bool(self.gpu_type) != (self.gpu_count > 0):
            raise ValueError("`gpu_type` and `gpu_count` go together (e.g. NVIDIA_TESLA_T4 and "
                             f"1), got {self.gpu_type!r} and {self.gpu_count}")
        if self.trainer_backend not in ("pipeline", "vertex_training"):
            raise ValueError(f"`trainer_backend` must be 'pipeline' or 'vertex_training', got "
                             f"{self.trainer_backend!r}")
        if self.trainer_backend == "vertex_training" and not (self.project and self.region):
            raise ValueError("`trainer_backend` 'vertex_training' needs `project` and `region`")
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


SECTIONS = {"data": DataSection, "model": ModelSection, "evaluation": EvaluationSection,
            "beam": BeamSection, "deployment": DeploymentSection}
# The training section holds any train.loop.TrainConfig field but expected_gpus, which follows
# deployment.gpu_count; an absent one is the model's default (models.training_settings).
TRAINING_KEYS = tuple(f.name for f in dataclasses.fields(training.TrainConfig)
                      if f.name != "expected_gpus")


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """Everything that defines a pipeline run, in sections: ``data``, ``model``, ``training``
    (the Trainer's train.loop.TrainConfig settings, each absent one the model's default),
    ``evaluation``, ``beam``, ``deployment``; the run's own settings at the top.

    A setting has one name everywhere: its key in its section, its ``yt8m pipeline`` flag (the
    few exceptions in yt8m_cli/cmd_pipeline.FIELD_FLAGS) and, for training settings, the
    ``yt8m train`` flag. ``from_dict`` also reads the flat form of earlier versions (every key
    at the top level), since a key belongs to exactly one section.

    Attributes:
      pipeline_name: default "yt8m", "yt8m-segments" for the segment task: the Evaluator's
        baseline is the latest blessed model of the same pipeline, and a whole-video model has no
        segment signatures to compare.
    """

    data: DataSection
    model: ModelSection = dataclasses.field(default_factory=ModelSection)
    training: dict = dataclasses.field(default_factory=dict)
    evaluation: EvaluationSection = dataclasses.field(default_factory=EvaluationSection)
    beam: BeamSection = dataclasses.field(default_factory=BeamSection)
    deployment: DeploymentSection = dataclasses.field(default_factory=DeploymentSection)
    pipeline_root: str = "pipeline_output"
    pipeline_name: str | None = None
    serving_dir: str | None = None  # the Pusher's destination (default: see resolved_serving_dir)
    metadata_path: str | None = None  # the local run's sqlite ML Metadata
    enable_cache: bool = True
    export_metagraph: bool = True  # the Kaggle MetaGraph beside the serving model
    float16_tgz: bool = False  # KaggleExport's model.tgz stores weights as float16
    # resolved once, when the config is built: what the Trainer and Transform receive
    _flags: MF.ModelFlags = dataclasses.field(init=False, repr=False, compare=False)
    _train: training.TrainConfig = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        _check_types(self)
        for name, section in SECTIONS.items():
            if not isinstance(getattr(self, name), section):
                raise ValueError(f"`{name}` must be a {section.__name__}")
        unknown = sorted(set(self.training) - set(TRAINING_KEYS))
        if unknown:
            raise ValueError(f"`training` has no setting {unknown[0]!r}; its settings: "
                             f"{', '.join(TRAINING_KEYS)}")
        if self.pipeline_name is None:
            object.__setattr__(self, "pipeline_name",
                               "yt8m-segments" if self.data.segment_labels else "yt8m")
        self._absolute_paths()
        if not isinstance(self.pipeline_name, str) or not PIPELINE_NAME.fullmatch(
                self.pipeline_name):
            raise ValueError(f"`pipeline_name` {shorten(str(self.pipeline_name))!r} is not a "
                             "pipeline name: 1-63 lower-case letters, digits and '-', starting "
                             "with a letter or digit (what TFX, Kubeflow and Vertex AI accept)")
        for name, value in self._paths():
            problem = gcs_uri_problem(value) if value and value.startswith("gs://") else None
            if problem:
                raise ValueError(f"`{name}` {shorten(value)!r} {problem}")
        settings = {k: v for k, v in self.training.items() if v is not None}
        train = training.TrainConfig(  # the Trainer's own checks, now
            **models.training_settings(
                self.model.model or models.default_model(self.data.frame_features), settings),
            expected_gpus=self.deployment.gpu_count)
        flags = MF.ModelFlags.resolve(  # also validates the model, features and hparams
            self.model.model, self.data.frame_features, self.data.feature_names,
            self.data.feature_sizes, self.data.max_frames, self.model.hparams, train.label_loss,
            self.data.segment_labels)
        if flags.num_classes != F.NUM_CLASSES:
            raise ValueError(f"`hparams.num_classes`: the pipeline trains YouTube-8M's "
                             f"{F.NUM_CLASSES} classes; for your own label set fine-tune with "
                             "`yt8m train` and its num_classes and start_from flags")
        object.__setattr__(self, "_flags", flags)
        object.__setattr__(self, "_train", train)

    def _paths(self):
        """(field, value) of every path the run stores: ML Metadata keeps them."""
        return [("data_dir", self.data.data_dir), ("vocabulary", self.data.vocabulary),
                *((name, getattr(self, name)) for name in RUN_PATHS)]

    def _absolute_paths(self) -> None:
        """Local paths made absolute (URIs kept): ML Metadata stores them, so run history,
        reports and the cache must not depend on the folder a run was started from."""
        def absolute(value):
            return (os.path.abspath(os.path.expanduser(value)) if value and "://" not in value
                    else value)

        object.__setattr__(self, "data", dataclasses.replace(
            self.data, data_dir=absolute(self.data.data_dir),
            vocabulary=absolute(self.data.vocabulary)))
        for name in RUN_PATHS:
            object.__setattr__(self, name, absolute(getattr(self, name)))

    @property
    def model_name(self) -> str:
        return self._flags.model

    def model_flags(self) -> MF.ModelFlags:
        """The model, features and hyperparameters, resolved once when the config was built."""
        return self._flags

    def train_config(self) -> training.TrainConfig:
        """The Trainer's settings: the model's defaults with ``training`` on top, resolved once."""
        return self._train

    def split_pattern(self, pattern: str) -> str:
        """A split's glob relative to ``data.data_dir``, with the layout's level folder."""
        if self.data.data_layout == "flat":
            return pattern
        return f"{'frame' if self.data.frame_features else 'video'}/{pattern}"

    def resolved_serving_dir(self) -> str:
        """The Pusher's destination: ``serving_dir``, else the root's ``serving_model`` (for
        the segment task ``serving_model_segments``: TF Serving serves the newest version of a
        folder, which must stay one task's model)."""
        default = "serving_model_segments" if self.data.segment_labels else "serving_model"
        return self.serving_dir or os.path.join(self.pipeline_root, default)

    def resolved_metadata_path(self) -> str:
        return self.metadata_path or metadata.default_path(self.pipeline_root)

    def replace(self, **changes) -> "PipelineConfig":
        """A copy with settings changed, by their names (``gap_threshold=1.0``,
        ``batch_size=8``: each goes to its section) or whole sections. The pipeline_name is
        kept as resolved; ``pipeline_name=None`` picks the task's default again."""
        return self.from_dict(changes, self.to_dict())

    def to_dict(self) -> dict:
        """The nested form (what a config file holds), every setting explicit."""
        out = {name: dataclasses.asdict(getattr(self, name)) for name in SECTIONS}
        out["training"] = dict(self.training)
        out.update({f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                    if f.init and f.name not in out})
        out["beam"]["beam_args"] = list(out["beam"]["beam_args"])
        return out

    @classmethod
    def of(cls, **settings) -> "PipelineConfig":
        """``PipelineConfig.of(data_dir=..., num_epochs=2, ...)``: settings by name, flat."""
        return cls.from_dict(settings)

    @classmethod
    def from_dict(cls, data: dict, base: dict | None = None) -> "PipelineConfig":
        """A config from the nested form (sections) and/or settings by name, over ``base``.

        Raises:
          ValueError: an unknown key or section key, a renamed key (naming the new name), a
            value of the wrong type, or any invalid setting.
        """
        nested = _nested(data, _nested(base) if base else None)
        kwargs = {k: v for k, v in nested.items() if k not in SECTIONS}
        for name, section in SECTIONS.items():
            kwargs[name] = section(**nested.get(name, {}))
        return cls(**kwargs)

    @classmethod
    def from_file(cls, path: str, **overrides) -> "PipelineConfig":
        """Reads a JSON config (UTF-8, a byte-order mark accepted, at most MAX_CONFIG_BYTES),
        nested or flat; keyword overrides (settings by name, non-None) win. Unknown keys are
        errors."""
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
            raise ValueError(f"{path}: expected a JSON object of config sections and settings")
        try:
            return cls.from_dict({k: v for k, v in overrides.items() if v is not None}, data)
        except ValueError as e:  # the file's keys, not flags, whichever side set the value
            raise ValueError(f"{path}: {errors.plain_fields(str(e))}") from None


RUN_PATHS = ("pipeline_root", "serving_dir", "metadata_path")
SECTION_NAMES = (*SECTIONS, "training")


def _section_keys(section: str) -> tuple[str, ...]:
    if section == "training":
        return TRAINING_KEYS
    return tuple(f.name for f in dataclasses.fields(SECTIONS[section]))


# Every setting's name -> its section (None: the top level); each name is in exactly one place.
_PLACES = [(k, name) for name in SECTION_NAMES for k in _section_keys(name)] + [
    (f.name, None) for f in dataclasses.fields(PipelineConfig)
    if f.init and f.name not in SECTION_NAMES]
FLAT: dict[str, str | None] = dict(_PLACES)
assert len(FLAT) == len(_PLACES), "a setting name in two sections"  # one name, one place


def _nested(data: dict, base: dict | None = None) -> dict:
    """``data`` (sections and/or settings by name) merged over ``base`` (already nested) into
    the nested form: {section: {setting: value}, top-level setting: value}."""
    nested = {k: dict(v) if k in SECTION_NAMES else v for k, v in (base or {}).items()}
    for key, value in data.items():
        if key in RENAMED:
            raise ValueError(f'the key "{key}" is now "{RENAMED[key]}" (the same setting; '
                             "rename the key)")
        if key in SECTION_NAMES and (isinstance(value, dict) or key != "model"):
            if not isinstance(value, dict):  # "model" alone may also be the model's name
                raise ValueError(f"`{key}` must be an object of settings, got {value!r}")
            for name in value:
                if name in RENAMED:
                    raise ValueError(f'the key "{key}.{name}" is now "{key}.{RENAMED[name]}" '
                                     "(the same setting; rename the key)")
                if FLAT.get(name, "") != key:
                    raise ValueError(f"`{key}` has no setting {name!r}; its settings: "
                                     f"{', '.join(_section_keys(key))}")
            nested.setdefault(key, {}).update(value)
        elif key in FLAT:  # a setting by its name (the flat form of earlier versions)
            if FLAT[key] is None:
                nested[key] = value
            else:
                nested.setdefault(FLAT[key], {})[key] = value
        else:
            raise ValueError(f"unknown key {key!r}; valid: the sections "
                             f"{', '.join(SECTION_NAMES)} or a setting's name "
                             f"({', '.join(sorted(FLAT))})")
    return nested


def _flag_value(args: tuple[str, ...], flag: str) -> str | None:
    """The value of ``--flag=value`` or ``--flag value`` in a Beam argument list (the last)."""
    value = None
    for i, arg in enumerate(args):
        if arg.startswith(flag + "="):
            value = arg.split("=", 1)[1]
        elif arg == flag and i + 1 < len(args):
            value = args[i + 1]
    return value
