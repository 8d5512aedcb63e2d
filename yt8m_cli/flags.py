"""Flag helpers shared by subcommands (the seed's flag names)."""
from __future__ import annotations

import argparse


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


def feature_strings(args) -> tuple[str, str]:
    if args.frame_features:
        return args.feature_names or "rgb,audio", args.feature_sizes or "1024,128"
    return args.feature_names or "mean_rgb,mean_audio", args.feature_sizes or "1024,128"


def add_hparam_flags(p: argparse.ArgumentParser) -> None:
    from trainer_module import models

    g = p.add_argument_group("model hyperparameters (defaults per model)")
    for name, (default, doc) in sorted(models.all_hparams().items()):
        kind = str2bool if isinstance(default, bool) else type(default)
        g.add_argument(f"--{name}", type=kind, default=None, help=f"{doc} (default {default})")


def hparam_overrides(args) -> dict:
    from trainer_module import models

    return {k: getattr(args, k) for k in models.all_hparams() if getattr(args, k) is not None}


def add_skip_corrupt_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--skip_corrupt_records", action="store_true",
                   help="use the readable part of truncated/corrupted shards and report them "
                        "(default: stop with an error naming the file and record)")
