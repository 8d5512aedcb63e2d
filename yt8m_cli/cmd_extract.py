"""yt8m extract-features: video files -> YouTube-8M frame- and video-level records."""
from __future__ import annotations

import argparse

from yt8m_cli import flags as FL
from trainer_module.output_guard import Paths

HELP = ("Extract YouTube-8M features from video files (1 frame/s, Inception + PCA, 8-bit) into "
        "frame- and video-level shards.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--videos", nargs="+", required=True, metavar="FOLDER_OR_GLOB",
                   help="folders (searched recursively for video files) and/or globs")
    p.add_argument("--inception_weights", required=True,
                   help="the dataset's frozen Inception graph classify_image_graph_def.pb "
                        "(reproduces its features), or Keras Inception-v3 .h5 weights without the "
                        "top (an alternative that does NOT reproduce the dataset's features)")
    p.add_argument("--pca_dir", required=True,
                   help="folder with the dataset's PCA files mean.npy, eigenvals.npy, eigenvecs.npy")
    p.add_argument("--audio_model", default=None,
                   help="VGGish-style SavedModel: 16 kHz waveform -> [windows, 128]; without "
                        "it audio features are zeros, with a warning")
    p.add_argument("--audio_pca", default=None,
                   help="VGGish's vggish_pca_params.npz, applied to the audio embeddings")
    p.add_argument("--trust_model", action="store_true",
                   help="run the Inception graph and the audio model even if they hold ops the "
                        "project's networks never use (files, processes, Python): a model is a "
                        "program; only for networks you trust")
    p.add_argument("--labels_csv", default=None,
                   help="'video,labels' rows: file name or id, label ids or --vocabulary names "
                        "separated by ';' (writes PREFIX_labels.csv too)")
    p.add_argument("--vocabulary", default=None, help="vocabulary.csv to resolve label names")
    FL.add_shard_output_flags(p)
    p.add_argument("--num_workers", type=int, default=1,
                   help="processes extracting videos in parallel (each loads the networks)")
    p.add_argument("--max_frames", type=int, default=300, help="frames kept per video (1 per s)")
    p.add_argument("--no_progress", action="store_true", help="no progress bar")


def paths(args) -> Paths:
    return Paths(reads={"--videos": args.videos, "--inception_weights": args.inception_weights,
                        "--pca_dir": args.pca_dir, "--audio_model": args.audio_model,
                        "--audio_pca": args.audio_pca, "--labels_csv": args.labels_csv,
                        "--vocabulary": args.vocabulary},
                 writes={"--output_dir": args.output_dir}, folders=("--pca_dir", "--output_dir"))


def run(args: argparse.Namespace) -> int:
    from trainer_module.ingest import extract as extract_lib
    from trainer_module.jobs import extract_features

    files = extract_lib.ExtractorFiles(
        inception_weights=args.inception_weights, pca_dir=args.pca_dir,
        audio_model=args.audio_model, audio_pca=args.audio_pca, max_frames=args.max_frames,
        trust_model=args.trust_model)
    job = extract_features.ExtractJob(
        videos=tuple(args.videos), output_dir=args.output_dir, files=files,
        labels_csv=args.labels_csv, vocabulary=args.vocabulary, prefix=args.prefix,
        videos_per_shard=args.videos_per_shard, num_workers=args.num_workers,
        overwrite=args.overwrite)
    result = extract_features.run(job, log=lambda line: print(FL.render_fields(line, args._parser)),
                                  progress=not args.no_progress)
    total = result.extracted + len(result.skipped)
    print(f"extract-features: {result.extracted} videos extracted into "
          f"{result.shards_written} new shard pairs under {args.output_dir} in "
          f"{result.seconds:.1f}s ({result.extracted / max(result.seconds, 1e-9):.2f} videos/s)"
          + (f"; {len(result.skipped)} of {total} skipped, listed in "
             f"{args.output_dir}/{args.prefix}_skipped.csv" if result.skipped else ""))
    return 0 if result.extracted or not total else 1
