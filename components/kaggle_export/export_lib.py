"""Pure helpers of KaggleExport: batch prediction rows and the model archive layout."""
from __future__ import annotations

import os
import shutil
import tempfile

import apache_beam as beam

from trainer_module import archive
from trainer_module import export
from trainer_module import inference_job
from trainer_module import model_flags as MF

KAGGLE_DIR = "assets.extra"


class PredictRows(beam.DoFn):
    """Batches of serialized records -> CSV rows via the SavedModel's serving signature."""

    def __init__(self, saved_model_dir: str, top_k: int):
        self._dir, self._top_k = saved_model_dir, top_k
        self._serve = None

    def setup(self):
        self._serve = export.load_serving_fn(self._dir)

    def process(self, batch):
        import tensorflow as tf

        res = self._serve(examples=tf.constant(batch))
        ids = res["video_id"].numpy()
        classes, scores = res["top_k_classes"].numpy(), res["top_k_scores"].numpy()
        for i in range(len(ids)):
            yield inference_job.format_row(inference_job.decode_id(ids[i]),
                                           classes[i, :self._top_k], scores[i, :self._top_k])


def write_predictions(pipeline: beam.Pipeline, record_glob: str, saved_model_dir: str,
                      csv_path: str, top_k: int, max_batch: int = 1024) -> None:
    """Adds the batch-inference stages to ``pipeline`` (rows land in csv_path, header first);
    batches hold at most ``max_batch`` records (features.inference_batch_records)."""
    header = inference_job.CSV_HEADER.rstrip("\n")
    _ = (pipeline
         | "ReadRecords" >> beam.io.ReadFromTFRecord(record_glob)
         | "Batch" >> beam.BatchElements(min_batch_size=min(32, max_batch),
                                         max_batch_size=max_batch)
         | "Predict" >> beam.ParDo(PredictRows(saved_model_dir, top_k))
         | "Write" >> beam.io.WriteToText(csv_path, shard_name_template="", num_shards=1,
                                          header=header))


def count_rows(csv_path: str) -> int:
    with open(csv_path, encoding="utf-8") as f:
        return sum(1 for _ in f) - 1


def write_model_tgz(serving_model_dir: str, tgz_path: str) -> str:
    """The `yt8m inference` contract: model_flags.json, inference_model.*, saved_model/."""
    kaggle = os.path.join(serving_model_dir, KAGGLE_DIR)
    MF.load(kaggle)  # fails clearly if the Trainer did not write the flags
    with tempfile.TemporaryDirectory() as staging:
        shutil.copytree(serving_model_dir, os.path.join(staging, "saved_model"),
                        ignore=shutil.ignore_patterns(KAGGLE_DIR))
        for name in os.listdir(kaggle):
            shutil.copy2(os.path.join(kaggle, name), staging)
        return archive.make_tgz(staging, tgz_path)
