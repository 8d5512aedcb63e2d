"""``yt8m extract-features``: video files -> YouTube-8M frame- and video-level shards.

Output (``output_dir``): ``frame/{prefix}NNNN.tfrecord`` (SequenceExamples: context id, labels;
rgb / audio bytes per frame), ``video/{prefix}NNNN.tfrecord`` (Examples with the frames' means),
``{prefix}_labels.csv`` (``VideoId,Labels``) when labels are given, ``{prefix}_skipped.csv``
(path, reason) when videos were unreadable. A video's id is its file name without the extension.

Videos are processed ``videos_per_shard`` at a time, in sorted order, by ``num_workers`` processes
(each loads the networks once); each shard pair appears atomically when complete. A re-run with the
same videos, labels and networks (by content) skips the complete shards, so an interrupted run
resumes; one with other inputs into the same folder is refused, saying what differs
(``output_folder``). An unreadable video is reported and skipped; the others go on.
"""
from __future__ import annotations

import concurrent.futures
import csv
import dataclasses
import glob
import multiprocessing
import os
import sys
import time

from trainer_module import io_utils
from trainer_module.data import features as F
from trainer_module.data import vocabulary as vocabulary_lib
from trainer_module.ingest import extract as extract_lib
from trainer_module.ingest import shards as shards_lib
from trainer_module.ingest import video as video_lib
from trainer_module.output_folder import OutputFolder, digest

SPLIT_CHARS = (";", "|")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ExtractJob:
    videos: tuple[str, ...]  # folders (searched recursively) and globs
    output_dir: str
    files: extract_lib.ExtractorFiles
    labels_csv: str | None = None
    vocabulary: str | None = None
    prefix: str = "videos"
    videos_per_shard: int = 100
    num_workers: int = 1
    overwrite: bool = False  # replace an earlier run's files made from other inputs

    def __post_init__(self):
        if not self.videos:
            raise ValueError("`videos`: give a folder of videos or a glob")
        shards_lib.check_layout(self.prefix, self.videos_per_shard)
        if not 1 <= self.num_workers <= 64:
            raise ValueError(f"`num_workers` must be in [1, 64], got {self.num_workers}")
        if self.vocabulary and not self.labels_csv:
            raise ValueError("`vocabulary` names labels of `labels_csv`, which is not given")


def find_videos(patterns) -> list[str]:
    """Sorted video files: a folder contributes its files with a video suffix (recursively), a
    glob or a file path its matches."""
    found = set()
    for pattern in patterns:
        if os.path.isdir(pattern):
            for folder, _, names in os.walk(pattern):
                found.update(os.path.join(folder, n) for n in names
                             if n.lower().endswith(video_lib.VIDEO_SUFFIXES))
        else:
            matches = [m for m in glob.glob(pattern, recursive=True) if os.path.isfile(m)]
            if not matches:
                raise ValueError(f"`videos`: {pattern} matches no file")
            found.update(matches)
    if not found:
        raise ValueError(f"`videos`: no video files ({', '.join(video_lib.VIDEO_SUFFIXES)}) in "
                         f"{', '.join(patterns)}")
    return sorted(found)


def video_id(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def _label_index(token: str, names: dict, where: str) -> int:
    token = token.strip()
    index = int(token) if token.lstrip("-").isdigit() else names.get(token, names.get(token.lower()))
    if index is None:
        hint = "" if names else " (give `vocabulary` to use label names)"
        raise ValueError(f"{where}: unknown label {token!r}{hint}")
    if not 0 <= index < F.NUM_CLASSES:
        raise ValueError(f"{where}: label {index} outside [0, {F.NUM_CLASSES})")
    return index


def read_labels_csv(path: str, vocabulary: str | None) -> dict[str, list[int]]:
    """{video id: label ids} from ``video,labels`` rows: the video as its file name (with or
    without the extension) or path; labels as ids or vocabulary names, separated by ';' or '|'
    (ids also by spaces). A first row whose labels field is not a label is a header."""
    names = {}
    if vocabulary:
        for index, name in enumerate(vocabulary_lib.load(vocabulary).names):
            if name:
                names.setdefault(name, index)
                names.setdefault(name.lower(), index)
    out: dict[str, list[int]] = {}
    try:  # a byte-order mark (spreadsheet tools) accepted; not UTF-8: the byte named
        rows = list(csv.reader(io_utils.text_lines(path, "`labels_csv`")))
    except (OSError, csv.Error) as e:
        raise ValueError(f"`labels_csv` {path}: cannot read ({e})") from None
    for line_no, row in enumerate(rows, start=1):
        if not row or not "".join(row).strip():
            continue
        where = f"{path}:{line_no}"
        if len(row) != 2:
            raise ValueError(f"{where}: expected 2 fields 'video,labels', got {len(row)}")
        field = row[1].strip()
        tokens = [t for t in _split(field) if t.strip()]
        try:
            labels = [_label_index(t, names, where) for t in tokens]
        except ValueError:
            if line_no == 1 and row[0].strip().lower() in ("video", "videoid", "video_id", "id",
                                                           "file", "path"):
                continue  # header
            raise
        vid = video_id(row[0].strip())
        if vid in out:
            raise ValueError(f"{where}: video {vid!r} listed twice")
        out[vid] = sorted(set(labels))
    return out


def _split(field: str) -> list[str]:
    for char in SPLIT_CHARS:
        if char in field:
            return field.split(char)
    tokens = field.split()
    return tokens if all(t.lstrip("-").isdigit() for t in tokens) else [field]


# --- worker processes: each loads the networks once -------------------------------------------
_EXTRACTOR: extract_lib.Extractor | None = None


def _init_worker(files: extract_lib.ExtractorFiles, threads: int | None) -> None:
    """Loads the networks; in a worker process (threads given) first shares the cores out."""
    global _EXTRACTOR
    import tensorflow as tf

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    _EXTRACTOR = extract_lib.Extractor(files)


def _extract_one(path: str, vid: str, labels: list[int]):
    """(Video or None, warnings or the error) for one file, in a worker."""
    try:
        video, notes = _EXTRACTOR(path, vid, labels)
        return video, notes
    except video_lib.VideoError as e:
        return None, [e.reason]


@dataclasses.dataclass
class ExtractResult:
    extracted: int = 0
    skipped: list = dataclasses.field(default_factory=list)  # (path, reason)
    shards_done_before: int = 0
    shards_written: int = 0
    seconds: float = 0.0


def run(job: ExtractJob, log=print, progress: bool = True) -> ExtractResult:
    from tqdm import tqdm

    start = time.time()
    paths = find_videos(job.videos)
    ids = {}
    for path in paths:
        vid = video_id(path)
        if vid in ids:
            raise ValueError(f"`videos`: {ids[vid]} and {path} give the same video id {vid!r}")
        ids[vid] = path
    labels = read_labels_csv(job.labels_csv, job.vocabulary) if job.labels_csv else {}
    if job.labels_csv:
        missing = [vid for vid in ids if vid not in labels]
        if missing:
            raise ValueError(f"`labels_csv` {job.labels_csv} has no row for {len(missing)} of "
                             f"{len(ids)} videos ({', '.join(missing[:5])})")
    if not job.files.audio_model:
        log("extract-features: warning: no `audio_model`: audio features are zeros (models "
            "trained on YouTube-8M audio will see silence)")
    out = OutputFolder(job.output_dir, f"extract-features {job.prefix}",
                       _settings(job, ids, labels), overwrite=job.overwrite).claim()
    shards = [paths[i:i + job.videos_per_shard] for i in range(0, len(paths), job.videos_per_shard)]
    todo = shards_lib.pending(out, job.prefix, len(shards))
    result = ExtractResult(shards_done_before=len(shards) - len(todo))
    if result.shards_done_before:
        log(f"extract-features: {result.shards_done_before} of {len(shards)} shards already "
            f"complete in {job.output_dir}: resuming")
    threads = max(1, (os.cpu_count() or 1) // job.num_workers)
    bar = tqdm(total=sum(len(shards[s]) for s in todo), unit="video", desc="extract-features",
               disable=not progress, file=sys.stderr)

    def finished(s: int, futures: list):
        for path, future in zip(shards[s], futures):
            video, notes = future.result()
            for note in notes:
                bar.write(f"extract-features: skipped {path}: {note}" if video is None
                          else f"extract-features: {note}")
            if video is None:
                result.skipped.append((path, notes[0]))
            bar.update(1)
            yield video

    with _pool(job, threads) as submit:
        for s in todo:
            futures = [submit(p, video_id(p), labels.get(video_id(p), [])) for p in shards[s]]
            result.extracted += shards_lib.write_pair(out, job.prefix, s, finished(s, futures))
            result.shards_written += 1
    bar.close()
    if job.labels_csv:
        shards_lib.write_labels_csv(out, job.prefix, len(shards))
    if result.skipped:
        shards_lib.write_skipped(out, job.prefix, result.skipped)
    result.seconds = time.time() - start
    return result


def _settings(job: ExtractJob, ids: dict, labels: dict) -> dict:
    """What the shards are made from, by content: a re-run with any of it changed is another
    dataset, not a resume."""
    files = job.files
    networks = {"inception_weights": files.inception_weights, "pca_dir": files.pca_dir,
                "audio_model": files.audio_model, "audio_pca": files.audio_pca}
    settings = {"videos": {vid: digest(path) for vid, path in ids.items()},
                "networks": {k: digest(v) if v else None for k, v in networks.items()},
                "max_frames": files.max_frames, "videos_per_shard": job.videos_per_shard}
    if job.labels_csv:
        settings["labels"] = {vid: labels.get(vid, []) for vid in ids}
    return settings


class _Deferred:
    """A future that extracts when its result is asked for (the progress bar moves per video)."""

    def __init__(self, args):
        self.args = args

    def result(self):
        return _extract_one(*self.args)


class _pool:
    """``submit(path, vid, labels) -> future``: in this process for one worker, else a spawn pool
    (TensorFlow is not fork-safe) whose workers each load the networks once."""

    def __init__(self, job: ExtractJob, threads: int):
        self.job, self.threads, self.executor = job, threads, None

    def __enter__(self):
        if self.job.num_workers == 1:
            _init_worker(self.job.files, None)
            return self._inline
        self.executor = concurrent.futures.ProcessPoolExecutor(
            self.job.num_workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker, initargs=(self.job.files, self.threads))
        return lambda *args: self.executor.submit(_extract_one, *args)

    @staticmethod
    def _inline(*args):
        return _Deferred(args)

    def __exit__(self, *exc):
        if self.executor:
            self.executor.shutdown(wait=exc[0] is None, cancel_futures=True)

