"""yt8m score: GAP / Hit@1 / PERR / mAP of a Kaggle predictions CSV against ground truth."""
from __future__ import annotations

import argparse

from trainer_module.evaluation import metrics as M
from trainer_module.output_guard import Paths

HELP = ("Score a predictions CSV (VideoId,LabelConfidencePairs) against a labels CSV, or with "
        "--segment_labels a segment submission (Class,Segments) by segment MAP@K.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--predictions", required=True, help="CSV written by `yt8m inference`")
    p.add_argument("--labels", default=None,
                   help="ground truth 'VideoId,Labels' CSV (video-level scoring)")
    p.add_argument("--segment_labels", action="store_true",
                   help="score a segment submission (Class,Segments, docs/segments.md) against "
                        "the segment ratings of --labels_data_pattern")
    p.add_argument("--labels_data_pattern", default=None,
                   help="with --segment_labels: frame-level records carrying segment ratings, "
                        "e.g. 'DIR/frame/validate*'")
    p.add_argument("--segment_max_pred", type=int, default=100_000,
                   help="with --segment_labels: segments per class that count (K of MAP@K)")
    p.add_argument("--top_k", type=int, default=M.DEFAULT_TOP_K,
                   help="pairs per video that count (GAP@k)")
    p.add_argument("--vocabulary", default=None, help="vocabulary.csv for class names")
    p.add_argument("--per_class", type=int, default=0,
                   help="also print the N best and worst classes by AP")
    p.add_argument("--output_json", default=None, help="write the metrics to this JSON file")


def paths(args) -> Paths:
    return Paths(reads={"--predictions": args.predictions, "--labels": args.labels,
                        "--labels_data_pattern": args.labels_data_pattern,
                        "--vocabulary": args.vocabulary},
                 writes={"--output_json": args.output_json})


def run(args: argparse.Namespace) -> int:
    from trainer_module import io_utils
    from trainer_module.jobs import score as score_job

    if args.segment_labels:
        from trainer_module.jobs import segment_score

        if not args.labels_data_pattern or args.labels:
            raise ValueError("--segment_labels scores against --labels_data_pattern (records "
                             "with segment ratings), not --labels")
        result = segment_score.run(args.predictions, args.labels_data_pattern,
                                   args.segment_max_pred)
    elif not args.labels or args.labels_data_pattern:
        raise ValueError("--labels (a 'VideoId,Labels' CSV) is required; --labels_data_pattern "
                         "goes with --segment_labels")
    else:
        result = score_job.run(score_job.ScoreJob(
            predictions=args.predictions, labels=args.labels, top_k=args.top_k,
            vocabulary=args.vocabulary, per_class=args.per_class))
    if args.output_json:
        io_utils.write_json(args.output_json, result)
    return 0
