"""yt8m eval: evaluate a train_dir's checkpoints (the seed's eval.py flags)."""
from __future__ import annotations

import argparse

from trainer_module.evaluation import metrics as M
from yt8m_cli import flags as FL
from trainer_module.output_guard import Paths

HELP = "Evaluate the latest checkpoint of a train_dir: Hit@1, PERR, mAP, GAP."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--eval_data_pattern", required=True,
                   help="glob of the TFRecords to evaluate (quote it), e.g. 'DIR/video/validate*'")
    p.add_argument("--train_dir", required=True,
                   help="the train_dir whose checkpoints are evaluated")
    p.add_argument("--batch_size", type=int, default=1024, help="videos per prediction batch")
    p.add_argument("--top_k", type=int, default=M.DEFAULT_TOP_K,
                   help="predictions per video that count (GAP@k)")
    p.add_argument("--run_once", type=FL.str2bool, nargs="?", const=True, default=False,
                   help="evaluate the newest checkpoint once (else watch for new ones)")
    p.add_argument("--save_predictions", default=None, help="write ids/predictions/labels to .npz")
    FL.add_skip_corrupt_flag(p)
    FL.add_segment_flags(p, "evaluate segment MAP@K: every 5-second segment of "
                            "--eval_data_pattern ranked per class as `yt8m inference "
                            "--segment_labels` ranks them, against the records' segment ratings "
                            "(any frame-level model; docs/segments.md)")


def paths(args) -> Paths:
    # the train_dir is eval's workspace too (it writes its summaries there): an output
    return Paths(reads={"--eval_data_pattern": args.eval_data_pattern,
                        "--segment_label_ids_file": args.segment_label_ids_file},
                 writes={"--train_dir": args.train_dir,
                         "--save_predictions": args.save_predictions},
                 folders=("--train_dir",))


def run(args: argparse.Namespace) -> int:
    from trainer_module.jobs import eval as eval_job

    eval_job.run(eval_job.EvalJob(
        eval_data_pattern=args.eval_data_pattern, train_dir=args.train_dir,
        batch_size=args.batch_size, top_k=args.top_k, run_once=args.run_once,
        save_predictions=args.save_predictions, skip_corrupt_records=args.skip_corrupt_records,
        segments=FL.segment_settings(args)))
    return 0
