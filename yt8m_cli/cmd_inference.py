"""yt8m inference: Kaggle CSV of top-k predictions and/or the model .tgz (seed's inference.py)."""
from __future__ import annotations

import argparse

from trainer_module.evaluation import metrics as M
from yt8m_cli import flags as FL
from trainer_module.output_guard import Paths

HELP = "Write the Kaggle CSV (VideoId,LabelConfidencePairs) and/or a model .tgz."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input_data_pattern", default="", help="glob(s) of records to predict")
    FL.add_skip_corrupt_flag(p)
    p.add_argument("--output_file", default=None, help="CSV to write")
    p.add_argument("--train_dir", default=None, help="use the newest export of this train_dir")
    p.add_argument("--input_model_tgz", default=None, help="use a model .tgz instead")
    p.add_argument("--untar_model_dir", default=None, help="where --input_model_tgz is unpacked")
    p.add_argument("--output_model_tgz", default=None, help="also pack the model into this .tgz")
    p.add_argument("--float16_weights", action="store_true",
                   help="store the .tgz's weights as float16 (half the size; computed in float32)")
    p.add_argument("--top_k", type=int, default=M.DEFAULT_TOP_K,
                   help="label/confidence pairs written per video")
    p.add_argument("--batch_size", type=int, default=1024, help="videos per prediction batch")
    p.add_argument("--named_output_file", default=None,
                   help="also write the predictions with label names (VideoId,Rank,LabelId,"
                        "LabelName,Confidence); needs --vocabulary")
    p.add_argument("--vocabulary", default=None, help="vocabulary.csv with the label names")
    p.add_argument("--trust_model", action="store_true",
                   help="run the model even if it holds ops the project's models never use (files, "
                        "processes, Python): a model is a program; only for a model you trust")
    FL.add_segment_flags(p, "write the 2019 segment submission (Class,Segments: per class its "
                            "best 5-second segments, video_id:start) instead of the video CSV; "
                            "any frame-level model; --top_k: classes each segment competes for")


def paths(args) -> Paths:
    return Paths(reads={"--input_data_pattern": args.input_data_pattern,
                        "--train_dir": args.train_dir, "--input_model_tgz": args.input_model_tgz,
                        "--vocabulary": args.vocabulary,
                        "--segment_label_ids_file": args.segment_label_ids_file},
                 writes={"--output_file": args.output_file,
                         "--named_output_file": args.named_output_file,
                         "--output_model_tgz": args.output_model_tgz,
                         "--untar_model_dir": args.untar_model_dir},
                 folders=("--train_dir", "--untar_model_dir"))


def run(args: argparse.Namespace) -> int:
    from trainer_module.jobs import inference as inference_job

    inference_job.run(inference_job.InferenceJob(
        input_data_pattern=args.input_data_pattern, output_file=args.output_file,
        train_dir=args.train_dir, input_model_tgz=args.input_model_tgz,
        untar_model_dir=args.untar_model_dir, output_model_tgz=args.output_model_tgz,
        top_k=args.top_k, batch_size=args.batch_size,
        skip_corrupt_records=args.skip_corrupt_records, float16_weights=args.float16_weights,
        vocabulary=args.vocabulary, named_output_file=args.named_output_file,
        trust_model=args.trust_model, segments=FL.segment_settings(args)))
    return 0
