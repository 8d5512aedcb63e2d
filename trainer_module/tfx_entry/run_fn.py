"""TFX Trainer entry point (``trainer_module.tfx_entry.run_fn.run_fn``): the CLI's training loop on the
Transform graph, exported with serving and transform_features (labels for the Evaluator)
signatures.

A segment model (``segment_labels``, docs/segments.md): the Transform passes whole videos and
their ratings; the input pipeline cuts the rated segments (``parsing.rated_segments``, the
CLI's function) and trains on (segments, rated scores, weights); the export scores every
segment (``SegmentServingModule``: serving a video by its best segment, and a ``segments``
signature), and its transform_features signature carries the ratings, padded, for the
Evaluator's segment MAP.
"""
from __future__ import annotations

import os
import signal

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras
from tfx_bsl.public import tfxio

from trainer_module import models
from trainer_module.data import features as F
from trainer_module.data import input_pipeline
from trainer_module.data import parsing
from trainer_module.data import segments as S
from trainer_module.export import metagraph as metagraph_export
from trainer_module.export import saved_model as export
from trainer_module.export import warmup
from trainer_module.tfx_entry import run_time
from trainer_module.train import length as train_length
from trainer_module.train import loop as training
from trainer_module.train import model_flags as MF
from trainer_module.train import run



def _raw_parser(tft_output, spec: F.FeatureSpec, with_labels: bool, segments: bool = False):
    """Serialized records -> raw feature dict in the layout the Transform graph expects
    (``segments``: with the segment ratings)."""
    if spec.frame_level:
        graph_keys = set(tft_output.raw_feature_spec())

        def parse_frames(serialized):
            raw = parsing.parse_serialized(serialized, spec, with_labels, segments)
            for key in F.ID_KEYS:  # the id key the schema (and so the graph) has, shape [1]
                value = raw.pop(key)
                if key in graph_keys:
                    raw[key] = tf.reshape(value, [-1, 1])
            for name in spec.names:  # the Transform graph knows feature lists by their path
                frames = raw.pop(name)  # [b, frames] ragged strings
                flat = frames.flat_values
                per_frame = tf.RaggedTensor.from_row_splits(  # [frames, 1], ragged like TFXIO's
                    flat, tf.range(tf.size(flat, out_type=tf.int64) + 1), validate=False)
                raw[F.SEQUENCE_PREFIX + name] = tf.RaggedTensor.from_row_splits(
                    per_frame, frames.row_splits, validate=False)  # [b, frames, 1]
            return raw
        return parse_frames
    feature_spec = dict(tft_output.raw_feature_spec())
    if not with_labels:
        feature_spec.pop(F.LABELS_KEY, None)
    return lambda s: tf.io.parse_example(s, feature_spec)


class TransformedModel(tf.Module):
    """Model + Transform layer: serving on raw records, training on transformed features.
    ``spec``: the records' features (a segment model's: whole videos, ``segments`` True)."""

    def __init__(self, model, tft_output, spec, segments: bool = False):
        super().__init__()
        self.model = model
        self.segments, self.spec = segments, spec
        self.tft_layer = tft_output.transform_features_layer()
        self._parse_serving = _raw_parser(tft_output, spec, with_labels=False)
        self._parse_labeled = _raw_parser(tft_output, spec, with_labels=True, segments=segments)

    def serving_inputs(self, serialized):
        t = self.tft_layer(self._parse_serving(serialized))
        if self.segments:  # every segment of every video (the CLI's segment_preprocess)
            return parsing.all_segments(t[F.FEATURES], t[F.NUM_FRAMES], t[F.VIDEO_ID], self.spec)
        return t

    @tf.function(input_signature=[export.EXAMPLES_SPEC])
    def transform_features(self, examples):
        """The Transform graph's outputs for the Evaluator (labels, frame count, video id) except
        the model input ``features``: TFMA keeps every output of this signature with each batch,
        and the dequantized frames are 4x the records' bytes (the serving signature computes
        them itself). The whole graph stays available through the Transform output."""
        transformed = self.tft_layer(self._parse_labeled(examples))
        out = {k: v for k, v in transformed.items() if k != F.FEATURES}
        for key in S.RATING_KEYS if self.segments else ():  # a signature returns dense tensors
            out[key] = tf.sparse.to_dense(out[key], default_value=-1)  # [batch, ratings], -1 pad
        return out


def _raw_batches(fn_args, tft_output, files, batch_size, seed, spec):
    """One epoch of shuffled batches of ``batch_size`` raw records (TFXIO: the layout the
    Transform graph takes)."""
    options = tfxio.TensorFlowDatasetOptions(
        batch_size=batch_size, num_epochs=1, shuffle=True, shuffle_seed=seed,
        shuffle_buffer_size=F.shuffle_buffer_records(spec, batch_size))
    return fn_args.data_accessor.tf_dataset_factory(files, options,
                                                    tft_output.raw_metadata.schema)


def _dataset(fn_args, tft_output, files, tft_layer, batch_size, seed, spec):
    """One epoch of (inputs, multi-hot labels) batches through the Transform graph."""
    ds = _raw_batches(fn_args, tft_output, files, batch_size, seed, spec)

    def to_xy(raw):
        t = tft_layer(raw)
        return ({F.FEATURES: t[F.FEATURES], F.NUM_FRAMES: tf.cast(t[F.NUM_FRAMES], tf.int32)},
                t[F.LABELS_MULTI_HOT])

    ds = ds.map(to_xy, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    return F.with_ram_budget(ds, spec, batch_size)


def _segment_dataset(fn_args, tft_output, files, tft_layer, batch_size, seed,
                     read: F.FeatureSpec) -> tf.data.Dataset:
    """One epoch of ``batch_size`` rated segments (x, rated scores, weights), shuffled: videos
    read in groups of input_pipeline.VIDEOS_PER_PARSE, their rated segments cut from the
    Transform's whole videos, unbatched and re-batched, as the CLI's make_segment_dataset."""
    ds = _raw_batches(fn_args, tft_output, files, input_pipeline.VIDEOS_PER_PARSE, seed, read)

    def cut(raw):
        t = tft_layer(raw)
        rows = parsing.rated_segments(t[F.FEATURES], t[F.NUM_FRAMES], t[F.VIDEO_ID],
                                      *(t[key] for key in S.RATING_KEYS), read)
        return {k: rows[k] for k in (F.FEATURES, F.NUM_FRAMES, F.LABELS_MULTI_HOT,
                                     S.LABEL_WEIGHTS)}

    ds = input_pipeline.rebatch_segments(ds.map(cut, num_parallel_calls=tf.data.AUTOTUNE),
                                         batch_size, training=True, seed=seed)
    return ds.map(input_pipeline.split_segment_inputs).prefetch(tf.data.AUTOTUNE)


def run_fn(fn_args) -> None:
    """Trains the configured model and exports it to fn_args.serving_model_dir.

    custom_config: {"model_flags": ModelFlags dict, "training": TrainConfig kwargs, and the
    run-time parameters (trainer_module/tfx_entry/run_time.py)}.
    """
    cc = fn_args.custom_config
    flags, settings = run_time.resolve(cc)
    spec = flags.feature_spec()
    cfg = training.TrainConfig(**settings)
    files = sorted(f for pattern in fn_args.train_files for f in tf.io.gfile.glob(pattern))
    total_steps = None  # segments: a step is a batch of segments, unknown before reading
    if not flags.segment_labels:  # min_steps counts video batches
        cfg, length = train_length.apply(cfg, files, compression="GZIP")  # ExampleGen gzips
        total_steps = length.total_steps(cfg.batch_size)
    tft_output = tft.TFTransformOutput(fn_args.transform_output)
    trainer = training.Trainer(lambda: models.build_model(flags.model, spec, flags.hparams), cfg,
                               os.path.join(fn_args.model_run_dir, "checkpoints"),
                               summary_dir=os.path.join(fn_args.model_run_dir, "train"))
    try:
        wrapped = TransformedModel(trainer.model, tft_output,
                                   S.read_spec(spec) if flags.segment_labels else spec,
                                   flags.segment_labels)
        run.train_and_export(trainer, plan(fn_args, tft_output, wrapped, flags, cfg, files,
                                           total_steps, cc.get("export_metagraph", True)))
    except training.TrainingInterrupted as e:  # the checkpoint is this execution's own
        how = "terminated (SIGTERM)" if e.signum == signal.SIGTERM else "interrupted"
        step = int(trainer.optimizer.iterations.numpy())
        raise training.TrainingInterrupted(
            f"{how} in the Trainer at global step {step}; nothing was published and the run "
            "shows as killed (`yt8m runs`): running it again reuses the cached steps before the "
            "Trainer and trains anew", e.signum) from None
    finally:
        trainer.close()
    # On LocalDagRunner the next component shares this process: drop the model and Keras'
    # global state here; the local runner then trims the heap (memory.trim_heap).
    del trainer
    tf_keras.backend.clear_session()


def plan(fn_args, tft_output, wrapped: TransformedModel, flags: MF.ModelFlags,
         cfg: training.TrainConfig, files: list[str], total_steps: int | None,
         export_metagraph: bool) -> run.Plan:
    """What the pipeline's Trainer reads and writes: the train split's batches through the
    Transform graph; the export into serving_model_dir (the chief's; any other replica of a
    training cluster exports into scratch), with TF Serving warm-up requests from the eval
    split and, beside the SavedModel (never pushed), the Kaggle MetaGraph."""
    segments, read = flags.segment_labels, wrapped.spec

    def epoch_data(epoch: int, report) -> tf.data.Dataset:
        if segments:
            return _segment_dataset(fn_args, tft_output, fn_args.train_files, wrapped.tft_layer,
                                    cfg.batch_size, cfg.seed + epoch, read)
        return _dataset(fn_args, tft_output, fn_args.train_files, wrapped.tft_layer,
                        cfg.batch_size, cfg.seed + epoch, read)

    def export_to(model, serving_dir: str) -> str:
        export.export_saved_model(
            model, serving_dir, wrapped.serving_inputs,
            extra_signatures={"transform_features":
                              wrapped.transform_features.get_concrete_function()},
            extra_trackable=wrapped, segments=segments)
        eval_files = sorted(f for p in fn_args.eval_files for f in tf.io.gfile.glob(p))
        warm = warmup.read_records(eval_files, max(warmup.BATCH_SIZES), compression="GZIP")
        print(f"TF Serving warm-up: {warmup.write(serving_dir, warm)} requests of the eval "
              f"split's records in {warmup.warmup_path(serving_dir)}")
        kaggle = export.kaggle_dir(serving_dir)  # beside the SavedModel: never pushed
        tf.io.gfile.makedirs(kaggle)
        MF.save(kaggle, flags)
        if export_metagraph:
            metagraph_export.export_metagraph(model, flags.to_dict(),
                                              os.path.join(kaggle, "inference_model"))
        return serving_dir

    return run.Plan(
        model_name=flags.model, files=files, epoch_data=epoch_data, export=export_to,
        export_dir=lambda step: fn_args.serving_model_dir, compression="GZIP",  # ExampleGen's
        check_batch=(lambda b: parsing.parse_segments(b, read, rated=True)) if segments else None,
        segments=segments, total_steps=total_steps)
