"""yt8m ensemble: average several trained models into one exported model."""
from __future__ import annotations

import argparse

from trainer_module.output_guard import Paths

HELP = "Average the predictions of several train_dirs into one SavedModel / .tgz."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--train_dirs", required=True, help="comma-separated train_dirs")
    p.add_argument("--output_dir", required=True, help="export folder (saved_model/ ...)")
    p.add_argument("--output_model_tgz", default=None,
                   help="also pack the ensemble into this .tgz (the `yt8m inference` contract)")
    p.add_argument("--max_model_size_mb", type=float, default=1024.0,
                   help="refuse an ensemble whose weights exceed this size")


def paths(args) -> Paths:
    return Paths(reads={"--train_dirs": args.train_dirs},
                 writes={"--output_dir": args.output_dir,
                         "--output_model_tgz": args.output_model_tgz},
                 folders=("--train_dirs", "--output_dir"))


def run(args: argparse.Namespace) -> int:
    from trainer_module.jobs import ensemble

    dirs = tuple(d.strip() for d in args.train_dirs.split(",") if d.strip())
    ensemble.run(ensemble.EnsembleJob(
        train_dirs=dirs, output_dir=args.output_dir, output_model_tgz=args.output_model_tgz,
        max_model_size_mb=args.max_model_size_mb))
    return 0
