"""The model zoo: an explicit registry from model name to builder, level and defaults.

Every model maps {features, num_frames} to sigmoid predictions [batch, 3862]. Each model
declares its hyperparameters as a typed frozen dataclass (``hparams.py``: fields named as the
seed's flags, ``moe_num_mixtures``, ``dbof_cluster_size`` ..., with choices and ranges), and its
default training settings (the seed's models keep the seed's: batch 1024, Adam 0.01, 5 epochs).
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from trainer_module.data import features as F
from trainer_module.models import model_hparams as MH

# The seed's training defaults, the one place: train.loop.TrainConfig's defaults and the CLI's
# help read them; a model's own defaults (training_settings) start from them.
SEED_TRAINING = {"batch_size": 1024, "base_learning_rate": 0.01, "num_epochs": 5,
                 "learning_rate_decay": 0.95, "learning_rate_decay_examples": 4_000_000,
                 "min_steps": 0}
# Every training setting's default (the seed's where it has one), in one place: TrainConfig's
# fields, `yt8m train`'s and `yt8m pipeline`'s flag help read it (no TensorFlow to build a
# parser). The first six a model may change (ModelEntry.training).
TRAINING_DEFAULTS = {**SEED_TRAINING, "max_steps": None, "optimizer": "AdamOptimizer",
                     "clip_gradient_norm": 1.0, "regularization_penalty": 1.0,
                     "label_loss": "CrossEntropyLoss", "label_smoothing": 0.0,
                     "log_every_steps": 10, "export_model_steps": 1000, "seed": 0,
                     "warmup_steps": 0, "ema_decay": 0.0, "mixed_precision": False}


# The model modules import TensorFlow; the registry names them through these functions, so that
# the hyperparameters, training defaults and levels are known without it (the CLI's flags).
def _logistic():
    from trainer_module.models import logistic
    return logistic


def _moe():
    from trainer_module.models import moe
    return moe


def _gated_dnn():
    from trainer_module.models import gated_dnn
    return gated_dnn


def _frame_logistic():
    from trainer_module.models import frame_logistic
    return frame_logistic


def _dbof():
    from trainer_module.models import dbof
    return dbof


def _lstm():
    from trainer_module.models import lstm
    return lstm


def _netvlad():
    from trainer_module.models import netvlad
    return netvlad


def _nextvlad():
    from trainer_module.models import nextvlad
    return nextvlad


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """A registered model: its module (``build(spec, hparams)``), whether it reads frames,
    hyperparameters and training defaults."""

    name: str
    frame_level: bool
    module: Callable  # () -> the model's module, imported when first built
    hparams: type  # its hyperparameters: a models.hparams.HParams dataclass
    training: dict = dataclasses.field(default_factory=lambda: dict(SEED_TRAINING))

    def build(self, spec, hparams):
        return self.module().build(spec, hparams)


REGISTRY: dict[str, ModelEntry] = {
    e.name: e for e in (
        ModelEntry("LogisticModel", False, _logistic, MH.L2HParams),
        ModelEntry("MoeModel", False, _moe, MH.HeadHParams),
        # min_steps: the 8 epochs of the full sample's 4,438 videos are 144 steps; fewer
        # videos get more epochs (train/length.py, benchmarks/README.md "learning curve")
        ModelEntry("GatedDnnModel", False, _gated_dnn, MH.GatedDnnHParams,
                   {**SEED_TRAINING, "batch_size": 256, "base_learning_rate": 0.001,
                    "num_epochs": 8, "min_steps": 140}),
        ModelEntry("FrameLevelLogisticModel", True, _frame_logistic, MH.L2HParams),
        ModelEntry("DbofModel", True, _dbof, MH.DbofHParams),
        ModelEntry("LstmModel", True, _lstm, MH.LstmHParams),
        ModelEntry("NetVladModel", True, _netvlad, MH.NetVladHParams,
                   {**SEED_TRAINING, "batch_size": 256, "base_learning_rate": 0.001}),
        ModelEntry("NeXtVladModel", True, _nextvlad, MH.NeXtVladHParams,
                   {**SEED_TRAINING, "batch_size": 256, "base_learning_rate": 0.001}),
    )
}
DEFAULT_VIDEO_MODEL = "GatedDnnModel"
DEFAULT_FRAME_MODEL = "DbofModel"


def all_hparams() -> dict:
    """Every model's hyperparameter fields by name (dataclasses.Field: default, type, metadata
    with help / choices / range). A name shared by models means one thing: one type, help and
    range; its default may be each model's own (``hparam_defaults``)."""
    out: dict = {}
    for entry in REGISTRY.values():
        for field in dataclasses.fields(entry.hparams):
            seen = out.setdefault(field.name, field)
            if (seen.metadata, type(seen.default)) != (field.metadata, type(field.default)):
                raise ValueError(f"hyperparameter {field.name} is declared twice")  # a registry bug
    return out


def hparam_defaults(name: str) -> dict[str, object]:
    """The default of hyperparameter ``name`` in each model that has it: {model: default}."""
    return {entry.name: field.default for entry in REGISTRY.values()
            for field in dataclasses.fields(entry.hparams) if field.name == name}


def get(name: str) -> ModelEntry:
    """Looks a model up; raises ValueError listing the valid names."""
    if name not in REGISTRY:
        raise ValueError(f"`model`: unknown model {name!r}; valid: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def resolve_hparams(name: str, overrides: dict | None = None) -> dict:
    """The model's hyperparameters as a plain dict (model_flags.json): its defaults updated with
    the given (non-None) overrides.

    Raises:
      ValueError: a name the model does not read, a value of the wrong type (a string for a
        number, a non-finite float; booleans are true/false only), or outside its choices/range.
    """
    return get(name).hparams.from_overrides(name, overrides).to_dict()


def build_model(name: str, spec: F.FeatureSpec, hparams: dict | None = None):
    """Builds a registered model for the feature spec.

    Raises:
      ValueError: unknown name, or a frame-level model on video-level features and vice versa.
    """
    entry = check_level(name, spec)
    return entry.build(spec, entry.hparams.from_overrides(name, hparams))


def default_model(frame_level: bool) -> str:
    return DEFAULT_FRAME_MODEL if frame_level else DEFAULT_VIDEO_MODEL


def check_level(name: str, spec: F.FeatureSpec) -> ModelEntry:
    """The model's entry; raises ValueError when it reads the other level's features."""
    entry = get(name)
    if entry.frame_level != spec.frame_level:
        want = "frame-level data (`frame_features`)" if entry.frame_level else "video-level data"
        have = "frame-level" if spec.frame_level else "video-level"
        raise ValueError(f"`model` {name} needs {want}, but the features are {have} "
                         f"({','.join(spec.names)})")
    return entry


def training_settings(name: str, overrides: dict | None = None) -> dict:
    """The model's default training settings with the given (non-None) overrides."""
    return {**get(name).training, **{k: v for k, v in (overrides or {}).items() if v is not None}}
