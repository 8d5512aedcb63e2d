"""KaggleExport component: batch inference with Beam over the test split of a trained model.

Outputs a ``KaggleSubmission`` artifact (``predictions.csv``: ``VideoId,LabelConfidencePairs``,
top_k pairs) and a ``ModelArchive`` artifact (``model.tgz``, the `yt8m inference` contract),
with row count and paths recorded as custom properties. For a segment model
(``segment_max_pred`` > 0) the submission is the 2019 one, ``segments.csv``: ``Class,Segments``,
the ``segment_max_pred`` best segments of each class of the segment vocabulary, each segment
competing for its ``top_k`` best classes (``yt8m inference --segment_labels``).
The pipeline runs it only for a blessed
model (a ``tfx.dsl.Cond`` on the Evaluator's blessing, pipeline/create.py): the gate is in the
DAG, so an unblessed run simply has no export.
"""

import os

import apache_beam as beam
import tensorflow as tf
import yt8m
from tfx.dsl.component.experimental.decorators import component
from tfx.dsl.component.experimental.annotations import (BeamComponentParameter, InputArtifact,
                                                        OutputArtifact, Parameter)
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import path_utils

from components.artifacts import is_frame_level
from components.kaggle_export import export_lib
from trainer_module.data import features as F
from trainer_module.evaluation import metrics as M


@component(use_beam=True)
def KaggleExport(
    model: InputArtifact[standard_artifacts.Model],
    examples: InputArtifact[standard_artifacts.Examples],
    submission: OutputArtifact[yt8m.KaggleSubmission],
    model_archive: OutputArtifact[yt8m.ModelArchive],
    top_k: Parameter[int] = M.DEFAULT_TOP_K,
    split: Parameter[str] = "test",
    float16_weights: Parameter[bool] = False,
    segment_max_pred: Parameter[int] = 0,
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
) -> None:
    serving_dir = path_utils.serving_model_dir(model.uri)
    split_uri = artifact_utils.get_split_uri([examples], split)
    batch = F.inference_batch_records(is_frame_level(examples))
    if segment_max_pred > 0:
        csv_path = os.path.join(submission.uri, "segments.csv")
        with beam_pipeline as p:
            export_lib.write_segment_submission(p, os.path.join(split_uri, "*"), serving_dir,
                                                csv_path, segment_max_pred, top_k, batch)
        rows = export_lib.segment_rows(p.result)  # the CSV is not read again
    else:
        csv_path = os.path.join(submission.uri, "predictions.csv")
        shards = os.path.join(submission.uri, "rows")  # rows-SSSSS-of-NNNNN.csv, merged below
        with beam_pipeline as p:
            export_lib.write_predictions(p, os.path.join(split_uri, "*"), serving_dir, shards,
                                         top_k, batch)
        rows = export_lib.merge_csv(shards, csv_path)
    submission.set_int_custom_property("row_count", rows)
    submission.set_string_custom_property("path", csv_path)
    tgz = export_lib.write_model_tgz(serving_dir, os.path.join(model_archive.uri, "model.tgz"),
                                     float16_weights)
    model_archive.set_string_custom_property("path", tgz)
    model_archive.set_int_custom_property("size_bytes", tf.io.gfile.stat(tgz).length)
    model_archive.set_int_custom_property("float16_weights", int(float16_weights))
    print(f"KaggleExport: {rows} rows -> {csv_path}; model -> {tgz}")
