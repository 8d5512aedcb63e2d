"""Benchmark: video-level model quality on the real YouTube-8M 2018 sample.

Trains each model exactly as ``yt8m train`` does (per-model default settings, seed 0) on
``video_validate_sample/validate0000-0014`` (4,438 videos) and evaluates it as
``yt8m eval --run_once`` on ``validate0015-0019`` (1,451 videos). Every model runs twice with the
same seed to show reproducibility.

``--curve 4,8,11,15`` instead trains the default video-level model on the first N training
shards for each N (a learning curve: how GAP@20 grows with the number of training videos), with
its defaults (which include a floor of ``min_steps`` optimizer steps: more epochs on small data)
and with ``BEFORE`` (the defaults without the floor, as before it existed), for each of
``--seeds``; the table goes to ``results/bench_models_real_curve.md``.

Run: YT8M_SAMPLE_DIR=../shared/data/yt8m .venv/bin/python -m benchmarks.bench_models_real
     [--models LogisticModel,MoeModel,GatedDnnModel] [--repeats 2] [--curve 4,8,11,15 --seeds 0,1]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

from benchmarks import common
from trainer_module import models
from trainer_module.data import records
from trainer_module.jobs import eval as eval_job
from trainer_module.jobs import train as train_job
from yt8m_cli import cmd_train
from yt8m_cli import main as cli


def shards(sample_dir: str, first: int, last: int) -> str:
    return ",".join(os.path.join(sample_dir, "video_validate_sample", f"validate{i:04d}.tfrecord")
                    for i in range(first, last + 1))


def dir_mib(path: str) -> float:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs) / 2**20


# The defaults without the training-length floor, measured against the defaults along the curve.
BEFORE = ["--min_steps", "0"]


def train_and_eval(model: str, train: str, evaluate: str, work: str, extra: list[str]) -> dict:
    train_dir = os.path.join(work, model)
    args = cli.build_parser().parse_args(
        ["train", "--train_data_pattern", train, "--train_dir", train_dir, "--model", model,
         "--start_new_model", "--no_metagraph", "--log_every_steps", "1000", *extra])
    job = cmd_train.build_job(args)
    result = train_job.run(job, log=lambda *_: None)
    metrics = eval_job.run(eval_job.EvalJob(eval_data_pattern=evaluate, train_dir=train_dir, run_once=True),
                           log=lambda *_: None)
    export = train_job.latest_export(train_dir)
    params = models.build_model(model, job.flags.feature_spec(), job.flags.hparams).count_params()
    return {"gap": metrics["gap"], "hit_at_one": metrics["hit_at_one"],
            "examples_per_sec": result.examples_per_sec, "seconds": result.seconds,
            "export_mib": dir_mib(os.path.join(export, "saved_model")),
            "settings": f"batch {job.train.batch_size}, lr {job.train.base_learning_rate:g}, "
                        f"{job.train.num_epochs} epochs", "steps": result.global_step,
            "params": params}


def learning_curve(sample: str, sizes: list[int], seeds: list[int]) -> None:
    """GAP@20 of the default video-level model against the number of training shards."""
    model = models.default_model(frame_level=False)
    evaluate = shards(sample, 15, 19)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for size in sizes:
            train = shards(sample, 0, size - 1)
            gaps = {}
            for name, extra in (("before", BEFORE), ("default", [])):
                gaps[name] = [train_and_eval(model, train, evaluate, work,
                                             [*extra, "--seed", str(seed)])
                              for seed in seeds]
            gain = [d["gap"] - b["gap"] for b, d in zip(gaps["before"], gaps["default"])]
            rows.append([size, sum(records.scan_file(f).records for f in train.split(",")),
                         " / ".join(f"{r['gap']:.4f}" for r in gaps["before"]),
                         " / ".join(f"{r['gap']:.4f}" for r in gaps["default"]),
                         f"{gaps['before'][0]['steps']} -> {gaps['default'][0]['steps']} steps",
                         f"{sum(gain) / len(gain):+.4f}"])
            print(rows[-1], flush=True)
    seed_text = " / ".join(map(str, seeds))
    common.record("bench_models_real_curve",
                  f"Learning curve of {model} on the real YT8M sample (train the first N of "
                  "validate0000-0014, eval validate0015-0019, 1,451 videos)",
                  ["training shards", "training videos",
                   f"GAP@20, {' '.join(BEFORE)} (seeds {seed_text})",
                   f"GAP@20, defaults (seeds {seed_text})", "optimizer steps",
                   "gain of the floor (mean)"],
                  rows, script="bench_models_real")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="LogisticModel,MoeModel,GatedDnnModel")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--curve", default="",
                        help="comma-separated training shard counts (1-15): a learning curve of "
                             "the default video-level model instead of the model table")
    parser.add_argument("--seeds", default="0,1", help="seeds for each --curve point")
    args = parser.parse_args()
    sample = os.environ.get("YT8M_SAMPLE_DIR")
    if not sample or not os.path.isdir(os.path.join(sample, "video_validate_sample")):
        sys.exit("set YT8M_SAMPLE_DIR to the folder holding video_validate_sample/")
    if args.curve:
        sizes = [int(n) for n in args.curve.split(",") if n.isdigit()]
        if len(sizes) != len(args.curve.split(",")) or not all(1 <= n <= 15 for n in sizes):
            sys.exit(f"--curve: shard counts must be 1-15 (validate0000-0014), got {args.curve}")
        learning_curve(sample, sizes, [int(s) for s in args.seeds.split(",")])
        return
    train, evaluate = shards(sample, 0, 14), shards(sample, 15, 19)
    rows, gaps = [], {}
    with tempfile.TemporaryDirectory() as work:
        for model in args.models.split(","):
            runs = [train_and_eval(model, train, evaluate, work, []) for _ in range(args.repeats)]
            gaps[model] = [r["gap"] for r in runs]
            r = runs[0]
            rows.append([model, r["settings"], " / ".join(f"{g:.4f}" for g in gaps[model]),
                         f"{max(gaps[model]) - min(gaps[model]):.4f}",
                         " / ".join(f"{x['hit_at_one']:.4f}" for x in runs),
                         f"{r['params'] / 1e6:.2f} M", round(r["examples_per_sec"]),
                         round(r["export_mib"], 1)])
            print(rows[-1], flush=True)
    notes = ""
    if "LogisticModel" in gaps:
        base = gaps["LogisticModel"][0]
        notes = "Margin over LogisticModel (first runs): " + ", ".join(
            f"{m} {g[0] - base:+.4f}" for m, g in gaps.items() if m != "LogisticModel") + "."
    common.record("bench_models_real", "Video-level models on the real YT8M sample "
                  "(train validate0000-0014, 4,438 videos; eval validate0015-0019, 1,451 videos)",
                  ["model", "default training", "GAP@20 (run 1 / run 2)", "GAP spread",
                   "Hit@1 (run 1 / run 2)", "parameters", "train examples/s",
                   "SavedModel MiB"], rows, notes)


if __name__ == "__main__":
    main()
