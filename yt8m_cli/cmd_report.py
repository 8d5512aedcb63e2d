"""yt8m report: a self-contained HTML report of a pipeline run or of a train_dir."""
from __future__ import annotations

import argparse
import logging
import os

from yt8m_cli import cmd_runs
from trainer_module.output_guard import Paths

HELP = "Write a self-contained HTML report (metrics, GAP history, per-class AP, PR curve)."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", nargs="?", default=None,
                   help="pipeline run id or a unique prefix (default: the newest run with a report)")
    p.add_argument("--output", required=True, help="HTML file to write")
    cmd_runs.add_store_flags(p)
    p.add_argument("--train_dir", default=None,
                   help="report on a `yt8m train` directory instead of a pipeline run")
    p.add_argument("--eval_data_pattern", default=None, help="with --train_dir: data to evaluate")
    p.add_argument("--vocabulary", default=None, help="vocabulary.csv for label names")
    p.add_argument("--batch_size", type=int, default=1024, help="videos per prediction batch")


def paths(args) -> Paths:
    store = {} if args.train_dir else {"--pipeline_root": args.pipeline_root,
                                       "--metadata_path": args.metadata_path}
    return Paths(reads={**store, "--train_dir": args.train_dir,
                        "--eval_data_pattern": args.eval_data_pattern,
                        "--vocabulary": args.vocabulary},
                 writes={"--output": args.output},
                 folders=("--pipeline_root", "--train_dir"))


def run(args: argparse.Namespace) -> int:
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # TFMA's deprecation chatter
    from trainer_module import io_utils
    from trainer_module.data import vocabulary as V
    from trainer_module.evaluation import report

    names = V.load(args.vocabulary).names if args.vocabulary else None
    if args.train_dir:
        if not args.eval_data_pattern:
            raise ValueError("--train_dir needs --eval_data_pattern (the data to evaluate)")
        from trainer_module.jobs import report as report_job

        data, history, details = report_job.from_train_dir(args.train_dir, args.eval_data_pattern,
                                                           args.batch_size)
        title = f"yt8m report: {os.path.basename(os.path.abspath(args.train_dir))}"
    else:
        from pipeline import metadata, runs

        data, history, details = runs.report_of(metadata.open_store(cmd_runs.metadata_path(args), must_exist=True),
                                                args.run)
        title = f"yt8m report: pipeline run {details['run']}"
    io_utils.write_text(args.output, report.render(title, data, history, names, details))
    print(f"GAP@{data.top_k} {data.metrics['gap']:.4f} over {data.metrics['num_videos']} videos; "
          f"wrote {args.output}")
    return 0
