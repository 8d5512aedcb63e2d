"""yt8m train: train a model zoo model into a train_dir (the seed's train.py flags)."""
from __future__ import annotations

import argparse
import dataclasses

from yt8m_cli import flags as FL
from trainer_module.output_guard import Paths

HELP = "Train a model on YT8M TFRecords; resumes from train_dir checkpoints."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--train_data_pattern", required=True, help="glob(s) of training TFRecords")
    p.add_argument("--train_dir", required=True, help="checkpoints, summaries and exports")
    p.add_argument("--model", default=None,
                   help="model name (default GatedDnnModel, or DbofModel with --frame_features)")
    FL.add_feature_flags(p)
    from trainer_module.models import SEED_TRAINING as SEED  # no TensorFlow: help stays fast

    p.add_argument("--batch_size", type=int, default=None,
                   help=f"default per model (seed: {SEED['batch_size']})")
    p.add_argument("--base_learning_rate", type=float, default=None,
                   help=f"default per model (seed: {SEED['base_learning_rate']})")
    p.add_argument("--learning_rate_decay", type=float, default=None,
                   help=f"default {SEED['learning_rate_decay']}")
    p.add_argument("--learning_rate_decay_examples", type=int, default=None,
                   help=f"default {SEED['learning_rate_decay_examples']}")
    p.add_argument("--num_epochs", type=int, default=None,
                   help=f"default per model (seed: {SEED['num_epochs']})")
    p.add_argument("--max_steps", type=int, default=None, help="stop at this global step")
    p.add_argument("--min_steps", type=int, default=None,
                   help="train at least this many steps: a small dataset gets more epochs "
                        "(default per model: GatedDnnModel 140, the seed's models 0)")
    p.add_argument("--optimizer", default="AdamOptimizer",
                   help="AdamOptimizer, GradientDescentOptimizer, RMSPropOptimizer or "
                        "AdagradOptimizer (the seed's names)")
    p.add_argument("--clip_gradient_norm", type=float, default=1.0,
                   help="clip the gradients' global norm to this (0: no clipping)")
    p.add_argument("--regularization_penalty", type=float, default=1.0,
                   help="weight of the models' regularization losses")
    p.add_argument("--label_loss", default="CrossEntropyLoss",
                   help="CrossEntropyLoss, HingeLoss or SoftmaxLoss (the seed's)")
    p.add_argument("--label_smoothing", type=float, default=0.0,
                   help="move multi-hot targets this far toward 0.5")
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
    p.add_argument("--warmup_steps", type=int, default=0, help="linear learning-rate warm-up steps")
    p.add_argument("--ema_decay", type=float, default=0.0,
                   help="export an exponential moving average of the weights (e.g. 0.999); "
                        "checkpoints keep it, and eval reads it")
    p.add_argument("--mixed_precision", action="store_true",
                   help="mixed_float16 on GPU, mixed_bfloat16 on CPU (classifier stays float32)")
    p.add_argument("--max_model_size_mb", type=float, default=1024.0,
                   help="fail the export above this size (the Kaggle limit is 1 GB)")
    p.add_argument("--early_stopping_patience", type=int, default=0,
                   help="stop after this many epochs without a better validation GAP (0: never)")
    p.add_argument("--export_model_steps", type=int, default=1000,
                   help="checkpoint period in steps")
    p.add_argument("--log_every_steps", type=int, default=10,
                   help="print and summarize loss, Hit@1, PERR, GAP every N steps (and the last)")
    p.add_argument("--num_gpu", type=int, default=None,
                   help="accepted for seed compatibility: every visible GPU is used")
    p.add_argument("--seed", type=int, default=0,
                   help="random seed: the same seed trains the same weights")
    p.add_argument("--no_metagraph", action="store_true",
                   help="skip the Kaggle inference_model.* MetaGraph export")
    FL.add_hparam_flags(p)


def build_job(args):
    from trainer_module import models
    from trainer_module.jobs import train as train_job
    from trainer_module.train import loop as training
    from trainer_module.train import model_flags as MF

    flags = MF.ModelFlags.resolve(args.model, args.frame_features, args.feature_names,
                                  args.feature_sizes, args.max_frames, FL.hparam_overrides(args),
                                  args.label_loss, args.segment_labels)
    # the per-model settings (models.SEED_TRAINING's names), then every other TrainConfig field
    # this command has a flag for, by name
    settings = models.training_settings(flags.model,
                                        {k: getattr(args, k) for k in models.SEED_TRAINING})
    cfg = training.TrainConfig(**settings, **{
        f.name: getattr(args, f.name) for f in dataclasses.fields(training.TrainConfig)
        if f.name not in settings and hasattr(args, f.name)})
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
