"""Pure helpers of KaggleExport: batch prediction rows and the model archive layout.

Paths may be local or remote (gs:// on Vertex): files move through ``tf.io.gfile``; the archive is
packed from a local staging folder (io_utils.atomic_path uploads it when the target is remote).
"""
from __future__ import annotations

import os
import tempfile

import apache_beam as beam
import tensorflow as tf

from trainer_module import beam_trace
from trainer_module import io_utils
from trainer_module.export import archive
from trainer_module.export import kaggle_csv
from trainer_module.data import segments as S
from trainer_module.export import saved_model as export
from trainer_module.export import segment_csv
from trainer_module.train import model_flags as MF



class PredictRows(beam.DoFn):
    """Batches of serialized records -> CSV rows via the SavedModel's serving signature."""

    def __init__(self, saved_model_dir: str, top_k: int):
        self._dir, self._top_k = saved_model_dir, top_k
        self._serve = None

    def setup(self):
        self._serve = export.load_serving_fn(self._dir)

    def process(self, batch):
        import tensorflow as tf

        beam_trace.note("KaggleExport")
        res = self._serve(examples=tf.constant(batch))
        ids = res["video_id"].numpy()
        classes, scores = res["top_k_classes"].numpy(), res["top_k_scores"].numpy()
        for i in range(len(ids)):
            yield kaggle_csv.format_row(kaggle_csv.decode_id(ids[i]),
                                           classes[i, :self._top_k], scores[i, :self._top_k])


def write_predictions(pipeline: beam.Pipeline, record_glob: str, saved_model_dir: str,
                      shard_prefix: str, top_k: int, max_batch: int = 1024) -> None:
    """Adds the batch-inference stages to ``pipeline``: CSV rows (no header) land in files
    ``shard_prefix*.csv``, one per bundle, so no stage holds all rows (a fixed shard count would
    group every row in one place); ``merge_csv`` joins them. Batches hold at most ``max_batch``
    records (features.inference_batch_records)."""
    _ = (pipeline
         | "ReadRecords" >> beam.io.ReadFromTFRecord(record_glob)
         | "Batch" >> beam.BatchElements(min_batch_size=min(32, max_batch),
                                         max_batch_size=max_batch)
         | "Predict" >> beam.ParDo(PredictRows(saved_model_dir, top_k))
         | "Write" >> beam.io.WriteToText(shard_prefix, file_name_suffix=".csv"))


class PredictSegments(beam.DoFn):
    """Batches of serialized records -> (video ids, starts, scores [segments, classes]) of every
    segment, via a segment model's ``segments`` signature."""

    def __init__(self, saved_model_dir: str):
        self._dir, self._segments = saved_model_dir, None

    def setup(self):
        import tensorflow as tf

        self._segments = tf.saved_model.load(self._dir).signatures[export.SEGMENTS_SIGNATURE]

    def process(self, batch):
        import tensorflow as tf

        beam_trace.note("KaggleExport")
        res = self._segments(examples=tf.constant(batch))
        yield (res["video_id"].numpy(), res["segment_start"].numpy(), res["predictions"].numpy())


class RankSegments(beam.CombineFn):
    """(ids, starts, scores) -> segment_csv.TopSegments of all: the K best segments per class,
    each competing for its ``per_segment`` best classes (``yt8m inference --segment_labels``)."""

    def __init__(self, classes, k: int, per_segment: int):
        self._classes, self._k, self._per_segment = sorted(classes), k, per_segment

    def create_accumulator(self):
        return segment_csv.TopSegments(self._classes, self._k, self._per_segment)

    def add_input(self, top, element):
        top.add(*element)
        return top

    def merge_accumulators(self, tops):
        tops = list(tops)
        for other in tops[1:]:
            tops[0].merge(other)
        return tops[0]

    def extract_output(self, top):
        return top


SEGMENT_ROWS = beam.metrics.MetricsFilter().with_name("segment_rows")


def write_segment_submission(pipeline: beam.Pipeline, record_glob: str, saved_model_dir: str,
                             csv_path: str, k: int, per_segment: int,
                             max_batch: int = 64) -> None:
    """Adds the stages that score every segment of the records and write the ``Class,Segments``
    CSV (segment_csv.write, atomic) of the K best per class of the segment vocabulary; its rows
    are counted in the counter ``segment_rows`` (``segment_rows(result)``)."""
    def write(top):
        if top.segments == 0:
            raise ValueError(f"{record_glob}: no segments to rank (empty split?)")
        rows = segment_csv.write(csv_path, top.ranked())
        beam.metrics.Metrics.counter("KaggleExport", "segment_rows").inc(rows)

    _ = (pipeline
         | "ReadRecords" >> beam.io.ReadFromTFRecord(record_glob)
         | "Batch" >> beam.BatchElements(min_batch_size=min(8, max_batch),
                                         max_batch_size=max_batch)
         | "PredictSegments" >> beam.ParDo(PredictSegments(saved_model_dir))
         | "Rank" >> beam.CombineGlobally(RankSegments(S.load_class_ids(), k, per_segment))
         | "WriteCsv" >> beam.Map(write))


def segment_rows(result) -> int:
    """The rows write_segment_submission wrote, from the finished pipeline's ``result``."""
    counters = result.metrics().query(SEGMENT_ROWS)["counters"]
    return int(sum(c.committed for c in counters))


def merge_csv(shard_prefix: str, csv_path: str) -> int:
    """Header + the rows of every ``shard_prefix*.csv`` -> csv_path (streamed, atomic through
    io_utils.atomic_path); the shards are then removed. Returns the number of rows."""
    shards = sorted(tf.io.gfile.glob(shard_prefix + "*.csv"))
    rows = 0
    with io_utils.atomic_path(csv_path) as tmp, open(tmp, "w", encoding="utf-8") as out:
        out.write(kaggle_csv.CSV_HEADER)
        for shard in shards:
            with tf.io.gfile.GFile(shard) as f:
                for chunk in iter(lambda: f.read(1 << 22), ""):  # noqa: B023 (f is the loop's)
                    out.write(chunk)
                    rows += chunk.count("\n")
    for shard in shards:
        tf.io.gfile.remove(shard)
    return rows


def _copy_tree(src: str, dst: str) -> None:
    """Copies a local or remote directory tree to dst with tf.io.gfile."""
    for folder, _, files in tf.io.gfile.walk(src):
        relative = os.path.relpath(folder, src)
        target = os.path.join(dst, relative)
        tf.io.gfile.makedirs(target)
        for name in files:
            tf.io.gfile.copy(os.path.join(folder, name), os.path.join(target, name), overwrite=True)


def write_model_tgz(serving_model_dir: str, tgz_path: str, float16_weights: bool = False) -> str:
    """The `yt8m inference` contract: model_flags.json, inference_model.* (the Model artifact's
    Format-Kaggle folder), saved_model/ (Format-Serving, warm-up requests included); weights
    stored as float16 with ``float16_weights``.

    Packed from one local staging copy (local or gs:// model); io_utils.atomic_path uploads a
    remote tgz_path.
    """
    kaggle = export.kaggle_dir(serving_model_dir)
    if not tf.io.gfile.exists(os.path.join(kaggle, MF.FILENAME)):
        raise FileNotFoundError(f"{kaggle}: no {MF.FILENAME}; the Trainer's run_fn writes it "
                                "beside the SavedModel")
    with tempfile.TemporaryDirectory() as staging:
        _copy_tree(serving_model_dir, os.path.join(staging, "saved_model"))
        for name in tf.io.gfile.listdir(kaggle):
            tf.io.gfile.copy(os.path.join(kaggle, name), os.path.join(staging, name))
        MF.load(staging)  # a malformed model_flags.json fails here, naming the key
        return archive.pack(staging, tgz_path, float16_weights)
