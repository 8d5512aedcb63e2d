"""yt8m convert-mediapipe: MediaPipe YouTube-8M feature records -> the dataset's layout."""
from __future__ import annotations

import argparse

from yt8m_cli import flags as FL
from trainer_module.output_guard import Paths

HELP = ("Convert MediaPipe's YouTube-8M feature records (RGB/feature/floats, AUDIO/feature/floats) "
        "into the dataset's quantized rgb/audio frame- and video-level shards.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--inputs", nargs="+", required=True, metavar="FILE_OR_GLOB",
                   help="TFRecord files of SequenceExamples, or files of one serialized "
                        "SequenceExample each (MediaPipe's features.pb)")
    FL.add_shard_output_flags(p)


def paths(args) -> Paths:
    return Paths(reads={"--inputs": args.inputs}, writes={"--output_dir": args.output_dir},
                 folders=("--output_dir",))


def run(args: argparse.Namespace) -> int:
    import time

    from trainer_module.jobs import convert_mediapipe

    job = convert_mediapipe.ConvertJob(inputs=tuple(args.inputs), output_dir=args.output_dir,
                                       prefix=args.prefix, videos_per_shard=args.videos_per_shard,
                                       overwrite=args.overwrite)
    start = time.time()
    count, before = convert_mediapipe.run(job)
    print(f"convert-mediapipe: {count} videos converted into {args.output_dir} in "
          f"{time.time() - start:.1f}s" + (f" ({before} shard pairs already complete)"
                                            if before else ""))
    return 0
