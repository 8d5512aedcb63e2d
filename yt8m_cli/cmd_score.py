"""yt8m score: GAP / Hit@1 / PERR / mAP of a Kaggle predictions CSV against ground truth."""
from __future__ import annotations

import argparse

from trainer_module.evaluation import metrics as M
from trainer_module.output_guard import Paths

HELP = "Score a predictions CSV (VideoId,LabelConfidencePairs) against a labels CSV."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--predictions", required=True, help="CSV written by `yt8m inference`")
    p.add_argument("--labels", required=True, help="ground truth 'VideoId,Labels' CSV")
    p.add_argument("--top_k", type=int, default=M.DEFAULT_TOP_K,
                   help="pairs per video that count (GAP@k)")
    p.add_argument("--vocabulary", default=None, help="vocabulary.csv for class names")
    p.add_argument("--per_class", type=int, default=0,
                   help="also print the N best and worst classes by AP")
    p.add_argument("--output_json", default=None, help="write the metrics to this JSON file")


def paths(args) -> Paths:
    return Paths(reads={"--predictions": args.predictions, "--labels": args.labels,
                        "--vocabulary": args.vocabulary},
                 writes={"--output_json": args.output_json})


def run(args: argparse.Namespace) -> int:
    from trainer_module import io_utils
    from trainer_module.jobs import score as score_job

    result = score_job.run(score_job.ScoreJob(args.predictions, args.labels, args.top_k,
                                              args.vocabulary, args.per_class))
    if args.output_json:
        io_utils.write_json(args.output_json, result)
    return 0
