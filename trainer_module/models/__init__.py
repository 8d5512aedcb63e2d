"""The model zoo: an explicit registry from model name to builder, level and defaults.

Every model maps {features, num_frames} to sigmoid predictions [batch, 3862]. Hyperparameters
are flat, seed-named flags (``moe_num_mixtures``, ``dbof_cluster_size`` ...); each model declares
the ones it reads with their defaults, and its default training settings (the seed's models keep
the seed's: batch 1024, Adam 0.01, 5 epochs).
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from trainer_module.data import features as F
from trainer_module.models import (dbof, frame_logistic, gated_dnn, logistic, lstm, moe, netvlad,
                                   nextvlad)

SEED_TRAINING = {"batch_size": 1024, "base_learning_rate": 0.01, "num_epochs": 5,
                 "learning_rate_decay": 0.95, "learning_rate_decay_examples": 4_000_000}


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """A registered model: builder, whether it reads frames, hyperparameters and training defaults."""

    name: str
    frame_level: bool
    build: Callable
    hparams: dict  # name -> (default, help)
    training: dict = dataclasses.field(default_factory=lambda: dict(SEED_TRAINING))


REGISTRY: dict[str, ModelEntry] = {
    e.name: e for e in (
        ModelEntry("LogisticModel", False, logistic.build, logistic.HPARAMS),
        ModelEntry("MoeModel", False, moe.build, moe.HPARAMS),
        ModelEntry("GatedDnnModel", False, gated_dnn.build, gated_dnn.HPARAMS,
                   {**SEED_TRAINING, "batch_size": 256, "base_learning_rate": 0.001,
                    "num_epochs": 8}),
        ModelEntry("FrameLevelLogisticModel", True, frame_logistic.build, frame_logistic.HPARAMS),
        ModelEntry("DbofModel", True, dbof.build, dbof.HPARAMS),
        ModelEntry("LstmModel", True, lstm.build, lstm.HPARAMS),
        ModelEntry("NetVladModel", True, netvlad.build, netvlad.HPARAMS,
                   {**SEED_TRAINING, "batch_size": 256, "base_learning_rate": 0.001}),
        ModelEntry("NeXtVladModel", True, nextvlad.build, nextvlad.HPARAMS,
                   {**SEED_TRAINING, "batch_size": 256, "base_learning_rate": 0.001}),
    )
}
DEFAULT_VIDEO_MODEL = "GatedDnnModel"
DEFAULT_FRAME_MODEL = "DbofModel"


def all_hparams() -> dict:
    """Union of every model's hyperparameters: name -> (default, help). Names share defaults."""
    out: dict = {}
    for entry in REGISTRY.values():
        for name, (default, doc) in entry.hparams.items():
            if name in out and out[name][0] != default:
                raise ValueError(f"hyperparameter {name} has two defaults")  # a registry bug
            out[name] = (default, doc)
    return out


def get(name: str) -> ModelEntry:
    """Looks a model up; raises ValueError listing the valid names."""
    if name not in REGISTRY:
        raise ValueError(f"--model: unknown model {name!r}; valid: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def resolve_hparams(name: str, overrides: dict | None = None) -> dict:
    """The model's hyperparameters: its defaults updated with the given (non-None) overrides.

    Raises:
      ValueError: a key the model does not read, or a value of the wrong type (a string for a
        number, a non-finite float; booleans are true/false only).
    """
    entry = get(name)
    hp = {k: default for k, (default, _) in entry.hparams.items()}
    for k, v in (overrides or {}).items():
        if v is None:
            continue
        if k not in hp:
            raise ValueError(f"hparams: {name} has no hyperparameter {k!r}; its hyperparameters: "
                             f"{', '.join(sorted(hp)) or 'none'}")
        hp[k] = coerce(f"hparams.{k}", hp[k], v)
    return hp


def coerce(field: str, default, value):
    """``value`` as the type of ``default``, strictly (no bool("false") == True, no "0.5")."""
    import math

    if isinstance(default, bool):
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if isinstance(value, bool):
            return value
        raise ValueError(f"{field} must be true or false, got {value!r}")
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError(f"{field} must be an integer, got {value!r}")
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise ValueError(f"{field} must be a finite number, got {value!r}")
    if isinstance(value, type(default)):
        return value
    raise ValueError(f"{field} must be a {type(default).__name__}, got {value!r}")


def build_model(name: str, spec: F.FeatureSpec, hparams: dict | None = None):
    """Builds a registered model for the feature spec.

    Raises:
      ValueError: unknown name, or a frame-level model on video-level features and vice versa.
    """
    entry = get(name)
    if entry.frame_level != spec.frame_level:
        want = "frame-level data (--frame_features)" if entry.frame_level else "video-level data"
        have = "frame-level" if spec.frame_level else "video-level"
        raise ValueError(f"--model {name} needs {want}, but the features are {have} "
                         f"({','.join(spec.names)})")
    return entry.build(spec, resolve_hparams(name, hparams))
