"""yt8m generate-data: write a synthetic YT8M dataset (video level, optionally frame level)."""
from __future__ import annotations

import argparse
import time

from trainer_module.output_guard import Paths
from yt8m_cli import flags as FL

HELP = "Write a synthetic dataset in the exact YouTube-8M 2018 record format."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output_dir", required=True, help="where video/, frame/ and *_labels.csv go")
    p.add_argument("--num_videos", type=int, required=True, help="videos over all splits")
    p.add_argument("--frame_level", action="store_true",
                   help="also write frame-level SequenceExamples (video-level means are their means)")
    p.add_argument("--segments", action="store_true",
                   help="with --frame_level: also rate 5-frame segments of the labelled videos as "
                        "the 2019 data does (segment_labels, segment_start_times, segment_scores; "
                        "docs/segments.md)")
    p.add_argument("--num_shards", type=int, default=4, help="shards per split")
    p.add_argument("--seed", type=int, default=0,
                   help="random seed: the same seed writes the same bytes")
    p.add_argument("--vocabulary", default=None,
                   help="vocabulary.csv whose TrainVideoCount sets class frequencies (default Zipf)")
    p.add_argument("--signal", type=float, default=1.0,
                   help="strength of label evidence (0 = none)")
    p.add_argument("--label_classes", type=int, default=3862,
                   help="draw labels from this many most frequent classes only (default all "
                        "3862; records and models keep 3862 outputs)")
    p.add_argument("--validate_fraction", type=float, default=0.15,
                   help="share of the videos in the validate split")
    p.add_argument("--test_fraction", type=float, default=0.15,
                   help="share of the videos in the (unlabelled) test split")
    p.add_argument("--min_frames", type=int, default=60,
                   help="fewest frames of a frame-level video")
    p.add_argument("--max_frames", type=int, default=300, help="most frames of a frame-level video")
    FL.add_overwrite_flag(p)


def paths(args) -> Paths:
    return Paths(reads={"--vocabulary": args.vocabulary}, writes={"--output_dir": args.output_dir},
                 folders=("--output_dir",))


def run(args: argparse.Namespace) -> int:
    from trainer_module.data import synthetic as synthetic_data

    config = synthetic_data.GeneratorConfig(
        output_dir=args.output_dir, num_videos=args.num_videos, frame_level=args.frame_level,
        num_shards=args.num_shards, seed=args.seed, vocabulary=args.vocabulary, signal=args.signal,
        validate_fraction=args.validate_fraction, test_fraction=args.test_fraction,
        min_frames=args.min_frames, max_frames=args.max_frames, label_classes=args.label_classes,
        segments=args.segments)
    start = time.time()
    counts = synthetic_data.generate(config, overwrite=args.overwrite)
    elapsed = time.time() - start
    total = sum(counts.values())
    print(f"wrote {total} videos to {args.output_dir} "
          f"({', '.join(f'{k} {v}' for k, v in counts.items())}) "
          f"in {elapsed:.1f}s, {total / max(elapsed, 1e-9):.0f} videos/s")
    return 0
