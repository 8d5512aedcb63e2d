"""yt8m train: train a model zoo model into a train_dir (the seed's train.py flags)."""
from __future__ import annotations

import argparse

from yt8m_cli import flags as FL
from trainer_module.output_guard import Paths

HELP = "Train a model on YT8M TFRecords; resumes from train_dir checkpoints."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--train_data_pattern", required=True, help="glob(s) of training TFRecords")
    p.add_argument("--train_dir", required=True, help="checkpoints, summaries and exports")
    p.add_argument("--model", default=None,
                   help="model name (default GatedDnnModel, or DbofModel with --frame_features)")
    FL.add_feature_flags(p)
    FL.add_training_flags(p)
    p.add_argument("--start_new_model", action="store_true", help="delete train_dir and start over")
    p.add_argument("--start_from", default=None, metavar="TRAIN_DIR_OR_TGZ",
                   help="fine-tune: a new run starts from this trained model's weights (a train_dir "
                        "or a float32 .tgz; same model and hyperparameters; with another "
                        "--num_classes the classifier starts fresh)")
    p.add_argument("--segment_labels", action="store_true",
                   help="train a frame-level model on the rated 5-second segments of the 2019 "
                        "records (positives and rated negatives; docs/segments.md; the model's "
                        "input is one segment, so --max_frames does not apply); with "
                        "--start_from, fine-tune a model trained on whole videos")
    p.add_argument("--validation_data_pattern", default=None,
                   help="evaluate GAP on these files after every epoch and export the best epoch")
    FL.add_skip_corrupt_flag(p)
    p.add_argument("--max_model_size_mb", type=float, default=1024.0,
                   help="fail the export above this size (the Kaggle limit is 1 GB)")
    p.add_argument("--early_stopping_patience", type=int, default=0,
                   help="stop after this many epochs without a better validation GAP (0: never)")
    p.add_argument("--num_gpu", type=int, default=None,
                   help="accepted for seed compatibility: every visible GPU is used")
    p.add_argument("--no_metagraph", action="store_true",
                   help="skip the Kaggle inference_model.* MetaGraph export")
    FL.add_hparam_flags(p)


def build_job(args):
    from trainer_module import models
    from trainer_module.jobs import train as train_job
    from trainer_module.train import loop as training
    from trainer_module.train import model_flags as MF

    model = args.model or models.default_model(args.frame_features)
    given = {name: getattr(args, name) for name in FL.TRAINING_HELP
             if getattr(args, name) is not None}
    cfg = training.TrainConfig(**models.training_settings(model, given))
    flags = MF.ModelFlags.resolve(model, args.frame_features, args.feature_names,
                                  args.feature_sizes, args.max_frames, FL.hparam_overrides(args),
                                  cfg.label_loss, args.segment_labels)
    return train_job.TrainJob(
        train_data_pattern=args.train_data_pattern, train_dir=args.train_dir, flags=flags,
        train=cfg, start_new_model=args.start_new_model, export_metagraph=not args.no_metagraph,
        validation_data_pattern=args.validation_data_pattern,
        early_stopping_patience=args.early_stopping_patience,
        skip_corrupt_records=args.skip_corrupt_records,
        max_model_size_mb=args.max_model_size_mb, start_from=args.start_from)


def paths(args) -> Paths:
    return Paths(reads={"--train_data_pattern": args.train_data_pattern,
                        "--validation_data_pattern": args.validation_data_pattern,
                        "--start_from": args.start_from},
                 writes={"--train_dir": args.train_dir}, folders=("--train_dir",))


def run(args: argparse.Namespace) -> int:
    from trainer_module.jobs import train as train_job

    train_job.run(build_job(args))
    return 0
