"""yt8m download: the dataset's shards for a partition (the dataset downloader's flags)."""
from __future__ import annotations

import argparse

from trainer_module.output_guard import Paths
from yt8m_cli import flags as FL

HELP = ("Download the dataset's shards for a partition (e.g. 2/frame/train), a fraction of them "
        "with --shard X,N; parallel, resumable, each file verified against the index's MD5.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--partition", required=True,
                   help="VERSION/LEVEL/SPLIT: 2/video/train, 2/frame/validate, 3/frame/test, ...")
    p.add_argument("--output_dir", required=True, help="files go to OUTPUT_DIR/video or /frame")
    p.add_argument("--shard", default="1,1",
                   help="X,N: the X-th of N deterministic parts (1,100 = 1%% of the files)")
    p.add_argument("--mirror", default="us", help="us, eu or asia")
    p.add_argument("--base_url", default=None,
                   help="a mirror holding both the download plans and the files (replaces the "
                        "dataset's hosts)")
    p.add_argument("--num_workers", type=int, default=4, help="parallel downloads")
    p.add_argument("--retries", type=int, default=3, help="per file, after a drop or bad MD5")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds without data per request")
    p.add_argument("--max_file_mb", type=float, default=4096.0,
                   help="refuse a file larger than this (the index gives no sizes; the dataset's "
                        "shards are a few hundred MB)")
    p.add_argument("--file_deadline", type=float, default=3600.0,
                   help="seconds one file may take over all its attempts")
    FL.add_overwrite_flag(p)
    p.add_argument("--no_progress", action="store_true", help="no progress bar")


def paths(args) -> Paths:
    return Paths(reads={}, writes={"--output_dir": args.output_dir}, folders=("--output_dir",))


def run(args: argparse.Namespace) -> int:
    from trainer_module.jobs import download

    job = download.DownloadJob(
        partition=args.partition, output_dir=args.output_dir, shard=args.shard, mirror=args.mirror,
        base_url=args.base_url, num_workers=args.num_workers, retries=args.retries,
        timeout=args.timeout, max_file_mb=args.max_file_mb, file_deadline=args.file_deadline,
        overwrite=args.overwrite)
    result = download.run(job, progress=not args.no_progress)
    print(f"download: {result.downloaded} files fetched ({result.bytes / 1e6:.1f} MB) in "
          f"{result.seconds:.1f}s, {result.present} already present, of {result.selected} in "
          f"shard {args.shard}" + (f"; {len(result.failed)} FAILED (re-run to retry): "
                                   f"{', '.join(n for n, _ in result.failed)}"
                                   if result.failed else ""))
    return 1 if result.failed else 0
