"""yt8m report: a self-contained HTML report of a pipeline run or of a train_dir."""
from __future__ import annotations

import argparse
import logging
import os

HELP = "Write a self-contained HTML report (metrics, GAP history, per-class AP, PR curve)."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", nargs="?", default=None,
                   help="pipeline run id (default: the newest run with a report)")
    p.add_argument("--output", required=True, help="HTML file to write")
    p.add_argument("--pipeline_root", default="pipeline_output")
    p.add_argument("--metadata_path", default=None)
    p.add_argument("--train_dir", default=None,
                   help="report on a `yt8m train` directory instead of a pipeline run")
    p.add_argument("--eval_data_pattern", default=None, help="with --train_dir: data to evaluate")
    p.add_argument("--vocabulary", default=None, help="vocabulary.csv for label names")
    p.add_argument("--batch_size", type=int, default=1024)


def run(args: argparse.Namespace) -> int:
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # TFMA's deprecation chatter
    from trainer_module import io_utils
    from trainer_module.data import vocabulary as V
    from trainer_module.evaluation import report

    names = V.load(args.vocabulary).names if args.vocabulary else None
    if args.train_dir:
        data, history, details = _from_train_dir(args)
        title = f"yt8m report: {os.path.basename(os.path.abspath(args.train_dir))}"
    else:
        data, history, details = _from_pipeline(args)
        title = f"yt8m report: pipeline run {details['run']}"
    io_utils.write_text(args.output, report.render(title, data, history, names, details))
    print(f"GAP@20 {data.metrics['gap']:.4f} over {data.metrics['num_videos']} videos; "
          f"wrote {args.output}")
    return 0


def _from_train_dir(args):
    import glob
    import json

    from trainer_module.data import input_pipeline
    from trainer_module.evaluation import report
    from trainer_module.jobs import eval as eval_job
    from trainer_module.train import model_flags as MF
    import tensorflow as tf

    if not args.eval_data_pattern:
        raise ValueError("--train_dir needs --eval_data_pattern (the data to evaluate)")
    flags = MF.load(args.train_dir)
    latest = tf.train.latest_checkpoint(args.train_dir)
    if latest is None:
        raise FileNotFoundError(f"--train_dir {args.train_dir}: no checkpoint")
    spec = flags.feature_spec()
    model = eval_job.restore_model(flags, latest)
    files = input_pipeline.list_files(args.eval_data_pattern, "--eval_data_pattern")
    _, saved = eval_job.evaluate_model(model, files, spec, args.batch_size, 20, flags.label_loss,
                                       keep_predictions=True)
    data = report.reduce_predictions(saved[1], saved[2])
    history = []
    for path in sorted(glob.glob(os.path.join(args.train_dir, "eval", "metrics_step_*.json"))):
        m = json.load(open(path))
        history.append((f"step {m['global_step']}", m["gap"]))
    validation = os.path.join(args.train_dir, "validation.json")
    if not history and os.path.exists(validation):
        history = [(f"epoch {h['epoch']}", h["gap"]) for h in json.load(open(validation))["history"]]
    return data, history, {"model": flags.model, "checkpoint": latest,
                           "evaluated": args.eval_data_pattern}


def _from_pipeline(args):
    from components.run_report import report_lib
    from pipeline import runs
    from yt8m_cli.cmd_runs import metadata_path

    store = runs.open_store(metadata_path(args))
    summaries = runs.list_runs(store)  # newest first
    chosen = None
    for s in summaries:
        if (args.run is None or s.run_id == args.run or s.run_id.startswith(args.run)) \
                and "yt8m.RunReport" in s.artifacts:
            chosen = s
            break
    if chosen is None:
        raise ValueError(f"no pipeline run {'matching ' + repr(args.run) + ' ' if args.run else ''}"
                         f"with a RunReport artifact in {metadata_path(args)}")
    data = report_lib.load(chosen.artifacts["yt8m.RunReport"])
    history = [(s.run_id[:19], s.metrics["gap"]) for s in reversed(summaries)
               if s.metrics.get("gap") is not None]
    return data, history, {"run": chosen.run_id, "model": chosen.model, "blessed": chosen.blessed,
                           "pushed version": chosen.pushed_version}
