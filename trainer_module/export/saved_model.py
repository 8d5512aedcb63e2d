"""Model export: a TF2 SavedModel whose serving signature takes serialized records.

Signature ``serving_default``: ``examples`` [batch] string (tf.Example for video level,
tf.SequenceExample for frame level) -> ``predictions`` [batch, 3862], ``top_k_classes`` /
``top_k_scores`` [batch, 20], ``video_id`` [batch]. The CLI path parses with ``parsing``; the
TFX path passes a ``preprocess`` that applies the Transform graph instead (same parse code).

A segment model (trained on 5-frame segments, docs/segments.md) reads whole records, scores
every segment and serves a video by its best segment (the maximum over its segments, per
class); its ``segments`` signature returns the segments themselves: ``predictions`` [segments,
3862], top k, ``video_id`` and ``segment_start`` [segments]; its ``segments_per_video`` signature
(the Evaluator's: TFMA splits every output by video) returns ``predictions`` [batch, 3862] as
serving does and ``segment_scores`` [batch, 60, 1000]: each segment slot's scores of the segment
vocabulary's classes (data/segments.SEGMENT_LABEL_IDS, ascending), 0 past the video's end.
"""
from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from trainer_module.data import features as F
from trainer_module.data import parsing
from trainer_module.data import segments as S
from trainer_module.evaluation import metrics as M

SERVING_TOP_K = M.DEFAULT_TOP_K  # (class, score) pairs the serving signature returns
# A pipeline Model artifact holds the SavedModel in Format-Serving/ (what the Pusher pushes) and
# the Kaggle contract beside it in Format-Kaggle/: model_flags.json and the seed's
# inference_model.* MetaGraph (KaggleExport packs both into its model.tgz).
KAGGLE_MODEL_DIR = "Format-Kaggle"
SIGNATURE = "serving_default"
SEGMENTS_SIGNATURE = "segments"  # a segment model's per-segment predictions
PER_VIDEO_SIGNATURE = "segments_per_video"  # the same by video, for the Evaluator
SEGMENT_SCORES = "segment_scores"  # PER_VIDEO_SIGNATURE's [batch, slots, segment classes]
MAX_SEGMENTS = F.MAX_FRAMES // S.SEGMENT_FRAMES  # slots per video
EXAMPLES_INPUT = "examples"  # the serving signature's only input: serialized records [batch]
EXAMPLES_SPEC = tf.TensorSpec([None], tf.string, name=EXAMPLES_INPUT)


class ServingModule(tf.Module):
    """Holds the model and its preprocessing so tf.saved_model.save tracks both."""

    def __init__(self, model, preprocess, extra_trackable=None):
        super().__init__()
        self.model = model
        self._preprocess = preprocess
        self.extra = extra_trackable

    def _predict(self, inputs):
        num_frames = tf.cast(inputs[F.NUM_FRAMES], tf.int32)
        return self.model({F.FEATURES: inputs[F.FEATURES], F.NUM_FRAMES: num_frames},
                          training=False)  # [batch, num_classes]

    @tf.function(input_signature=[EXAMPLES_SPEC])
    def serve(self, examples):
        inputs = self._preprocess(examples)
        return _outputs(self._predict(inputs), inputs[F.VIDEO_ID])


def _outputs(probs, video_id) -> dict:
    top = tf.math.top_k(probs, k=min(SERVING_TOP_K, probs.shape[-1]))
    return {"predictions": probs, "top_k_scores": top.values,
            "top_k_classes": tf.cast(top.indices, tf.int64), "video_id": video_id}


class SegmentServingModule(ServingModule):
    """A segment model's serving: a video by its best segment, and the segments themselves."""

    @tf.function(input_signature=[EXAMPLES_SPEC])
    def serve(self, examples):
        inputs = self._preprocess(examples)
        probs = self._predict(inputs)  # [segments, classes]
        best = tf.math.unsorted_segment_max(probs, inputs[S.SEGMENT_VIDEO],
                                            tf.shape(examples)[0])  # [batch, classes]
        return _outputs(tf.maximum(best, 0.0), inputs[S.RECORD_ID])  # a frameless record: 0

    @tf.function(input_signature=[EXAMPLES_SPEC])
    def segments(self, examples):
        inputs = self._preprocess(examples)
        return {**_outputs(self._predict(inputs), inputs[F.VIDEO_ID]),
                "segment_start": inputs[S.SEGMENT_START]}

    @tf.function(input_signature=[EXAMPLES_SPEC])
    def segments_per_video(self, examples):
        inputs = self._preprocess(examples)
        probs = self._predict(inputs)  # [segments, classes]
        batch = tf.shape(examples)[0]
        best = tf.math.unsorted_segment_max(probs, inputs[S.SEGMENT_VIDEO], batch)
        slot = tf.cast(inputs[S.SEGMENT_START] // S.SEGMENT_FRAMES, tf.int32)
        where = tf.stack([inputs[S.SEGMENT_VIDEO], slot], axis=1)  # [segments, 2]
        classes = [c for c in sorted(S.load_class_ids()) if c < probs.shape[-1]]
        rated = tf.gather(probs, classes, axis=1)  # [segments, 1000]
        per_video = tf.scatter_nd(where, rated, tf.stack([batch, MAX_SEGMENTS, tf.shape(rated)[1]]))
        return {**_outputs(tf.maximum(best, 0.0), inputs[S.RECORD_ID]), SEGMENT_SCORES: per_video}


def default_preprocess(spec: F.FeatureSpec):
    return lambda examples: parsing.parse_batch(examples, spec, with_labels=False)


def segment_preprocess(spec: F.FeatureSpec):
    """Whole records -> every segment and the records' ids (parsing.to_all_segments);
    ``spec``: the segment model's features."""
    read = S.read_spec(spec)
    return lambda examples: parsing.parse_segments(examples, read, rated=False, with_labels=False)


def export_saved_model(model, export_dir: str, preprocess, extra_signatures: dict | None = None,
                       extra_trackable=None, segments: bool = False) -> str:
    """Writes the serving SavedModel (no optimizer state) to export_dir and returns it;
    ``segments``: a segment model, ``preprocess`` a ``segment_preprocess``.

    Raises:
      ValueError: a weight holds NaN or infinity (nothing is written).
    """
    check_finite_weights(model)
    module = (SegmentServingModule if segments else ServingModule)(model, preprocess,
                                                                   extra_trackable)
    signatures = {SIGNATURE: module.serve.get_concrete_function(), **(extra_signatures or {})}
    if segments:
        signatures[SEGMENTS_SIGNATURE] = module.segments.get_concrete_function()
        signatures[PER_VIDEO_SIGNATURE] = module.segments_per_video.get_concrete_function()
    tf.saved_model.save(module, export_dir, signatures=signatures)
    return export_dir


def kaggle_dir(serving_model_dir: str) -> str:
    """The Format-Kaggle folder beside a Model artifact's Format-Serving SavedModel."""
    return os.path.join(os.path.dirname(serving_model_dir.rstrip("/")), KAGGLE_MODEL_DIR)


def check_finite_weights(model) -> None:
    """Raises ValueError naming the first weight that holds NaN or infinity."""
    bad = [w.name for w in model.weights if not np.isfinite(w.numpy()).all()]
    if bad:
        raise ValueError(f"the model's weight {bad[0]} ({len(bad)} of {len(model.weights)} "
                         "weights) holds NaN or infinity: not exported")


def load_serving_fn(saved_model_dir: str):
    """The ``serving_default`` function of an exported model."""
    if not tf.io.gfile.exists(os.path.join(saved_model_dir, "saved_model.pb")):
        raise FileNotFoundError(f"no SavedModel in {saved_model_dir} (expected saved_model.pb)")
    return tf.saved_model.load(saved_model_dir).signatures[SIGNATURE]
