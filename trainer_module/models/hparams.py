"""Typed model hyperparameters: one frozen dataclass per model, fields named as the seed's flags.

A field is declared once with ``hp(default, help, choices=..., low=..., high=...)``; the
dataclass checks every value's type (strictly: no "0.5" for a float, no 1 for a bool), its
choices and its range when it is built, naming the setting as `hparams.<name>`. The CLI's flags
(type, choices, help), the pipeline config's ``hparams`` and ``model_flags.json`` all come from
these declarations.
"""
from __future__ import annotations

import dataclasses
import math


# Hyperparameter names of earlier versions -> the one name each concept has now. A config or
# override that uses one is refused naming the new name; a stored model_flags.json (a train_dir
# or model archive written before the rename) is read with its names upgraded (``upgrade``).
RENAMED = {"dnn_head": "video_level_classifier_model",
           "vlad_classifier_model": "video_level_classifier_model",
           "nextvlad_dropout": "vlad_dropout"}


def upgrade(hparams: dict) -> dict:
    """A stored hyperparameter dict with the names of earlier versions renamed."""
    return {RENAMED.get(k, k): v for k, v in hparams.items()}


def hp(default, help: str, *, choices: tuple = (), low=None, high=None, low_open: bool = False,
       high_open: bool = False):
    """A hyperparameter field: default, help text, allowed values or range (closed unless
    ``*_open``)."""
    return dataclasses.field(default=default, metadata={
        "help": help, "choices": tuple(choices), "low": low, "high": high,
        "low_open": low_open, "high_open": high_open})


def coerce(field: str, default, value):
    """``value`` as the type of ``default``, strictly (no bool("false") == True, no "0.5")."""
    if isinstance(default, bool):
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if isinstance(value, bool):
            return value
        raise ValueError(f"`{field}` must be true or false, got {value!r}")
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError(f"`{field}` must be an integer, got {value!r}")
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise ValueError(f"`{field}` must be a finite number, got {value!r}")
    if isinstance(value, type(default)):
        return value
    raise ValueError(f"`{field}` must be a {type(default).__name__}, got {value!r}")


def describe_range(meta: dict) -> str:
    """"in [0, 1)", ">= 1", "one of a, b" or "" for a field's metadata."""
    if meta["choices"]:
        return "one of " + ", ".join(map(str, meta["choices"]))
    low, high = meta["low"], meta["high"]
    if low is not None and high is not None:
        return (f"in {'(' if meta['low_open'] else '['}{low}, {high}"
                f"{')' if meta['high_open'] else ']'}")
    if low is not None:
        return f"{'>' if meta['low_open'] else '>='} {low}"
    if high is not None:
        return f"{'<' if meta['high_open'] else '<='} {high}"
    return ""


def _in_range(value, meta: dict) -> bool:
    if meta["choices"]:
        return value in meta["choices"]
    low, high = meta["low"], meta["high"]
    if low is not None and (value <= low if meta["low_open"] else value < low):
        return False
    return not (high is not None and (value >= high if meta["high_open"] else value > high))


@dataclasses.dataclass(frozen=True)
class HParams:
    """Base of every model's hyperparameters: validates all fields when built."""

    def __post_init__(self):
        for field in dataclasses.fields(self):
            name = f"hparams.{field.name}"
            value = coerce(name, field.default, getattr(self, field.name))
            if not _in_range(value, field.metadata):
                raise ValueError(f"`{name}` must be {describe_range(field.metadata)}, "
                                 f"got {value!r}")
            object.__setattr__(self, field.name, value)

    @classmethod
    def from_overrides(cls, model: str, overrides: dict | None = None) -> "HParams":
        """The defaults updated with the (non-None) ``overrides``; unknown names are errors."""
        known = {f.name for f in dataclasses.fields(cls)}
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        for old in sorted(set(given) & set(RENAMED)):
            raise ValueError(f"`hparams.{old}` is now `hparams.{RENAMED[old]}` (one name for the "
                             "setting in every model)")
        unknown = sorted(set(given) - known)
        if unknown:
            raise ValueError(f"`hparams`: {model} has no hyperparameter {unknown[0]!r}; its "
                             f"hyperparameters: {', '.join(sorted(known)) or 'none'}")
        return cls(**given)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
