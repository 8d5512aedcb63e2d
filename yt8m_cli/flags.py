"""Flag helpers shared by subcommands (the seed's flag names)."""
from __future__ import annotations

import argparse
import re

from trainer_module import errors


def render_fields(text: str, parser: argparse.ArgumentParser, renames: dict | None = None) -> str:
    """The library's error text with its `config_field` names as this command's flags.

    The library names settings by their config field in backticks (``hparams.x`` for a model
    hyperparameter); a field that is a flag of ``parser`` (its dest, or renamed in
    ``renames``: field -> flag) becomes that flag, any other keeps its field name.
    """
    flags = {a.dest: a.option_strings[-1] for a in parser._actions
             if a.option_strings and a.dest != "help"}
    flags.update(renames or {})

    def flag(match: re.Match) -> str:
        field = match.group(1)
        return flags.get(field.removeprefix("hparams."), field)

    return errors.FIELD.sub(flag, text)


def add_verbose_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--verbose", action="store_true",
                   help="also show the known-harmless library warnings hidden by default "
                        "(each is listed in trainer_module/log_filters.py)")


def str2bool(v: str) -> bool:
    if isinstance(v, bool):
        return v
    if v.lower() in ("1", "true", "yes", "y", "t"):
        return True
    if v.lower() in ("0", "false", "no", "n", "f"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {v!r}")


def add_feature_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--feature_names", default=None,
                   help="comma-separated features (default mean_rgb,mean_audio or rgb,audio)")
    p.add_argument("--feature_sizes", default=None, help="comma-separated sizes (default 1024,128)")
    p.add_argument("--frame_features", type=str2bool, nargs="?", const=True, default=False,
                   help="read frame-level SequenceExamples")
    p.add_argument("--max_frames", type=int, default=300, help="frames kept per video")


# The training settings (train.loop.TrainConfig's fields): what each means; the type and the
# default come from models.TRAINING_DEFAULTS. `yt8m train` and `yt8m pipeline run|compile` both
# declare them here, with the same names.
TRAINING_HELP = {
    "batch_size": "training batch size",
    "base_learning_rate": "initial learning rate",
    "learning_rate_decay": "learning-rate decay factor per learning_rate_decay_examples",
    "learning_rate_decay_examples": "examples per learning-rate decay step",
    "num_epochs": "passes over the training data",
    "max_steps": "stop at this global step",
    "min_steps": "train at least this many steps: a small dataset gets more epochs",
    "optimizer": "AdamOptimizer, GradientDescentOptimizer, RMSPropOptimizer or AdagradOptimizer "
                 "(the seed's names)",
    "clip_gradient_norm": "clip the gradients' global norm to this (0: no clipping)",
    "regularization_penalty": "weight of the models' regularization losses",
    "label_loss": "CrossEntropyLoss, HingeLoss or SoftmaxLoss (the seed's)",
    "label_smoothing": "move multi-hot targets this far toward 0.5",
    "log_every_steps": "print and summarize loss, Hit@1, PERR, GAP every N steps (and the last)",
    "export_model_steps": "checkpoint period in steps",
    "seed": "random seed: the same seed trains the same weights",
    "warmup_steps": "linear learning-rate warm-up steps",
    "ema_decay": "export an exponential moving average of the weights (e.g. 0.999); "
                 "checkpoints keep it, and eval reads it",
    "mixed_precision": "mixed_float16 on GPU, mixed_bfloat16 on CPU (classifier stays float32)",
}


def add_training_flags(p: argparse.ArgumentParser) -> None:
    """A flag per training setting, default None (not given: the model's default, shown)."""
    from trainer_module import models

    for name, text in TRAINING_HELP.items():
        default = models.TRAINING_DEFAULTS[name]
        per_model = {entry.name: entry.training.get(name, default)
                     for entry in models.REGISTRY.values()}
        kind = {bool: str2bool, type(None): int}.get(type(default), type(default))
        extra = dict(nargs="?", const=True) if kind is str2bool else {}
        p.add_argument(f"--{name}", type=kind, default=None, **extra,
                       help=f"{text} ({_default_text(per_model)})")


def add_hparam_flags(p: argparse.ArgumentParser) -> None:
    from trainer_module import models

    from trainer_module.models import hparams as H

    g = p.add_argument_group("model hyperparameters (defaults per model)")
    for name, field in sorted(models.all_hparams().items()):
        kind = str2bool if isinstance(field.default, bool) else type(field.default)
        allowed = H.describe_range(field.metadata)
        g.add_argument(f"--{name}", type=kind, default=None, choices=field.metadata["choices"] or None,
                       help=f"{field.metadata['help']}{'; ' + allowed if allowed else ''} "
                            f"({_default_text(models.hparam_defaults(name))})")
    add_renamed_flags(g, H.RENAMED)


def add_renamed_flags(p, renamed: dict) -> None:
    """Hidden flags of earlier names (old -> new): given, ``refuse_renamed`` names the new one."""
    for old in renamed:
        p.add_argument(f"--{old}", default=None, help=argparse.SUPPRESS)


def refuse_renamed(args, renamed: dict, why: str) -> None:
    """ValueError ``--old is now --new (why)`` for the first earlier flag name given."""
    for old, new in renamed.items():
        if getattr(args, old, None) is not None:
            raise ValueError(f"--{old} is now --{new} ({why})")


def _default_text(defaults: dict) -> str:
    """"default X", or "default per model: A X, B/C Y" when the models' defaults differ."""
    values = list(dict.fromkeys(defaults.values()))
    if values == [None]:
        return "default: none"
    if len(values) == 1:
        return f"default {values[0]}"
    return "default per model: " + ", ".join(
        f"{'/'.join(m for m, v in defaults.items() if v == value)} {value}" for value in values)


def hparam_overrides(args) -> dict:
    from trainer_module import models
    from trainer_module.models import hparams as H

    refuse_renamed(args, H.RENAMED, "one name for the setting in every model")
    return {k: getattr(args, k) for k in models.all_hparams() if getattr(args, k) is not None}


def add_shard_output_flags(p: argparse.ArgumentParser) -> None:
    """Where extract-features and convert-mediapipe write their shard pairs."""
    p.add_argument("--output_dir", required=True, help="where frame/, video/ and the CSVs go")
    p.add_argument("--prefix", default="videos",
                   help="shard name prefix: train, validate or test for `yt8m pipeline run`")
    p.add_argument("--videos_per_shard", type=int, default=100, help="videos per written shard")
    add_overwrite_flag(p)


def add_overwrite_flag(p: argparse.ArgumentParser) -> None:
    """Writers that keep a manifest in their output folder (trainer_module/output_folder.py)."""
    p.add_argument("--overwrite", action="store_true",
                   help="when --output_dir holds this command's earlier output made from other "
                        "inputs or settings, delete that output's files (only those) and write "
                        "anew; default: refuse, saying what differs (same inputs: resume)")


def add_segment_flags(p: argparse.ArgumentParser, what: str) -> None:
    """--segment_labels (its help: ``what``), --segment_max_pred and --segment_label_ids_file,
    the dataset's own inference flag names (docs/segments.md)."""
    p.add_argument("--segment_labels", action="store_true", help=what)
    p.add_argument("--segment_max_pred", type=int, default=100_000,
                   help="with --segment_labels: segments kept per class (K of MAP@K; the 2019 "
                        "challenge's 100000)")
    p.add_argument("--segment_label_ids_file", default=None,
                   help="with --segment_labels: the classes to rank, one id per line (default: "
                        "the dataset's 1,000 segment classes, trainer_module/data/"
                        "segment_label_ids.csv)")


def segment_settings(args):
    """The jobs' segment settings from add_segment_flags' flags (None without --segment_labels)."""
    if not args.segment_labels:
        return None
    from trainer_module.jobs import segment_rank

    return segment_rank.Settings(args.segment_max_pred, args.segment_label_ids_file)


def add_skip_corrupt_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--skip_corrupt_records", action="store_true",
                   help="use the readable part of truncated/corrupted shards and report them "
                        "(default: stop with an error naming the file and record)")
