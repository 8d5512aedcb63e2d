"""``yt8m inference``: the seed's inference.py: Kaggle CSV of top-k predictions, model .tgz.

The model comes from a train_dir (its newest export) or an ``--input_model_tgz`` unpacked
defensively into ``--untar_model_dir``; predictions come from the SavedModel's serving signature
on the serialized records, the same function the pipeline's export component uses.
"""
from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import tempfile
import time


from trainer_module import io_utils
from trainer_module.data import input_pipeline
from trainer_module.data import records
from trainer_module.data import vocabulary as vocabulary_lib
from trainer_module.errors import DataError
from trainer_module.evaluation import metrics as M
from trainer_module.export import archive
from trainer_module.export import kaggle_csv
from trainer_module.export import saved_model as export
from trainer_module.export import trust
from trainer_module.jobs import segment_rank
from trainer_module.jobs import train as train_job
from trainer_module.train import model_flags as MF



@dataclasses.dataclass(frozen=True, kw_only=True)
class InferenceJob:
    input_data_pattern: str
    output_file: str | None = None
    train_dir: str | None = None
    input_model_tgz: str | None = None
    untar_model_dir: str | None = None
    output_model_tgz: str | None = None
    top_k: int = M.DEFAULT_TOP_K
    batch_size: int = 1024
    skip_corrupt_records: bool = False
    float16_weights: bool = False  # the .tgz stores weights as float16 (float16_export)
    vocabulary: str | None = None  # vocabulary.csv for named_output_file
    named_output_file: str | None = None  # the predictions with label names, one row per label
    trust_model: bool = False  # load the model's SavedModel unchecked (export/trust.py)
    # the 2019 segment submission (Class,Segments; docs/segments.md) instead of the video CSV
    segments: segment_rank.Settings | None = None

    def __post_init__(self):
        if self.segments and self.named_output_file:
            raise ValueError("`named_output_file` names video predictions; the segment "
                             "submission (`segment_labels`) has one row per class")
        if self.float16_weights and not self.output_model_tgz:
            raise ValueError("`float16_weights` applies to `output_model_tgz`, which is not given")
        if bool(self.train_dir) == bool(self.input_model_tgz):
            raise ValueError("give exactly one of `train_dir` and `input_model_tgz`")
        if self.batch_size < 1:
            raise ValueError(f"`batch_size` must be >= 1, got {self.batch_size}")
        if not 1 <= self.top_k <= export.SERVING_TOP_K:
            raise ValueError(f"`top_k` must be between 1 and {export.SERVING_TOP_K}, got {self.top_k}")
        if bool(self.vocabulary) != bool(self.named_output_file):
            raise ValueError("`named_output_file` and `vocabulary` go together: the names come "
                             "from the vocabulary")
        if self.named_output_file and not self.output_file:
            raise ValueError("`named_output_file` needs `output_file` (the predictions it names)")
        if not self.output_file and not self.output_model_tgz:
            raise ValueError("nothing to do: give `output_file` and/or `output_model_tgz`")


def write_predictions_csv(serve, files: list[str], output_file: str, top_k: int, batch_size: int,
                          log=print, skip_corrupt: bool = False) -> int:
    """Runs the serving signature over every record and writes the CSV atomically.

    A corrupt shard stops the run (DataError naming it; no CSV is left behind) unless
    ``skip_corrupt``, which uses the readable part of damaged files and reports them.
    """
    report = records.ReadReport()
    ds = records.record_dataset(files, skip_corrupt, report=report).batch(batch_size).prefetch(2)
    rows, start, seen = 0, time.time(), set()
    with io_utils.atomic_path(output_file) as tmp, open(tmp, "w", encoding="utf-8") as out, \
            records.corruption_named(files, lambda b: serve(examples=b)):
        out.write(kaggle_csv.CSV_HEADER)
        for batch in ds:
            res = serve(examples=batch)
            ids = res["video_id"].numpy()
            classes, scores = res["top_k_classes"].numpy(), res["top_k_scores"].numpy()
            try:
                for i in range(len(ids)):
                    vid = kaggle_csv.decode_id(ids[i])
                    if vid in seen:  # a CSV that `yt8m score` and Kaggle refuse: none at all
                        raise DataError(f"video id {io_utils.shorten(vid)!r} appears twice in "
                                        f"`input_data_pattern` ({len(files)} files: "
                                        f"{files[0]} ...); each video must be in one shard once")
                    seen.add(vid)
                    out.write(kaggle_csv.format_row(vid, classes[i, :top_k],
                                                    scores[i, :top_k]) + "\n")
            except ValueError as e:
                raise DataError(kaggle_csv.locate_bad_id(files) or str(e)) from None
            rows += len(ids)
            log(f"num examples processed: {rows}; {rows / max(time.time() - start, 1e-9):.1f} videos/s")
        if rows == 0:  # inside the atomic block: no header-only CSV is left behind
            raise DataError(f"no records to predict in {len(files)} files ({files[0]} ...): "
                            "empty split?")
    for line in report.lines(rows, "videos"):
        log(line)
    return rows


def write_named_csv(predictions_csv: str, vocabulary_path: str, output_file: str) -> int:
    """The Kaggle CSV with label names: ``VideoId,Rank,LabelId,LabelName,Confidence``, one row per
    predicted label (rank 1 = most confident); returns the rows written."""
    import csv

    vocab = vocabulary_lib.load(vocabulary_path)
    rows = 0
    with open(predictions_csv, newline="", encoding="utf-8") as src, \
            io_utils.atomic_path(output_file) as tmp, \
            open(tmp, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(("VideoId", "Rank", "LabelId", "LabelName", "Confidence"))
        for vid, pairs in itertools.islice(csv.reader(src), 1, None):
            tokens = pairs.split()
            for rank, (label, score) in enumerate(zip(tokens[0::2], tokens[1::2]), start=1):
                writer.writerow((vid, rank, label, vocab.name(int(label)), score))
                rows += 1
    return rows


def run(job: InferenceJob, log=print) -> dict:
    """Predicts and/or archives; an archive unpacked without ``--untar_model_dir`` goes to a
    temporary folder removed on return (``model_dir`` is then absent from the result)."""
    with contextlib.ExitStack() as stack:
        if job.input_model_tgz:
            model_dir = job.untar_model_dir or stack.enter_context(
                tempfile.TemporaryDirectory(prefix="yt8m_model_"))
            archive.safe_extract(job.input_model_tgz, model_dir)
            MF.load(model_dir)  # validates the archive's flags
        else:
            model_dir = train_job.latest_export(job.train_dir)
        out = _run_on(job, model_dir, log)
        if job.input_model_tgz and not job.untar_model_dir:
            del out["model_dir"]
        return out


def _run_on(job: InferenceJob, model_dir: str, log) -> dict:
    out = {"model_dir": model_dir}
    files = (input_pipeline.list_files(job.input_data_pattern, "`input_data_pattern`")
             if job.output_file else [])
    if job.output_model_tgz:
        out["model_tgz"] = archive.pack(model_dir, job.output_model_tgz, job.float16_weights)
        log(f"wrote model archive {job.output_model_tgz}"
            + (" (float16 weights)" if job.float16_weights else ""))
    if job.output_file and job.segments:
        out.update(write_segments_csv(job, model_dir, files, log))
    elif job.output_file:
        records.check_level(files, MF.load(model_dir).frame_features)
        saved = os.path.join(model_dir, "saved_model")
        if not job.trust_model:  # a model is a program: checked before it is loaded
            trust.check_saved_model(saved, "input_model_tgz" if job.input_model_tgz
                                    else "train_dir")
        serve = export.load_serving_fn(saved)
        out["rows"] = write_predictions_csv(serve, files, job.output_file, job.top_k,
                                            job.batch_size, log, job.skip_corrupt_records)
        log(f"wrote {out['rows']} rows to {job.output_file}")
        if job.named_output_file:
            named = write_named_csv(job.output_file, job.vocabulary, job.named_output_file)
            log(f"wrote {named} named predictions to {job.named_output_file}")
    return out


def write_segments_csv(job: InferenceJob, model_dir: str, files: list[str], log=print) -> dict:
    """Every 5-second segment of ``files`` scored by the model (any frame-level model, rebuilt
    on one segment from its variables: no graph of the export runs), the ``segment_max_pred``
    best per class written as the 2019 submission (``Class,Segments``), atomically."""
    from trainer_module.export import segment_csv

    flags = MF.load(model_dir)
    MF.segment_model(flags)  # a video-level model is refused before any data is read
    records.check_level(files, True)
    field = "input_model_tgz" if job.input_model_tgz else "train_dir"
    model = segment_rank.load_model(flags, segment_rank.export_checkpoint(model_dir), field)
    ranking = segment_rank.rank(model, files, flags.feature_spec(), job.segments.classes(),
                                job.segments.max_pred, job.top_k, job.batch_size,
                                skip_corrupt=job.skip_corrupt_records, log=log)
    rows = segment_csv.write(job.output_file, ranking.top.ranked())
    log(f"wrote {rows} classes to {job.output_file}: {ranking.top.segments} segments of "
        f"{ranking.videos} videos, {ranking.segments_per_sec:.0f} segments/s")
    return {"rows": rows, "segments": ranking.top.segments, "videos": ranking.videos,
            "segments_per_sec": ranking.segments_per_sec}
