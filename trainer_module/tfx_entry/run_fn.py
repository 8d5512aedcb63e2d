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
from trainer_module.data import records
from trainer_module.data import segments as S
from trainer_module.export import metagraph as metagraph_export
from trainer_module.export import saved_model as export
from trainer_module.export import warmup
from trainer_module.tfx_entry import run_time
from trainer_module.train import distribute
from trainer_module.train import length as train_length
from trainer_module.train import loop as training
from trainer_module.train import model_flags as MF



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
        self.segments, self._spec = segments, spec
        self.tft_layer = tft_output.transform_features_layer()
        self._parse_serving = _raw_parser(tft_output, spec, with_labels=False)
        self._parse_labeled = _raw_parser(tft_output, spec, with_labels=True, segments=segments)

    def serving_inputs(self, serialized):
        t = self.tft_layer(self._parse_serving(serialized))
        if self.segments:  # every segment of every video (the CLI's segment_preprocess)
            return parsing.all_segments(t[F.FEATURES], t[F.NUM_FRAMES], t[F.VIDEO_ID], self._spec)
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


def _raw_batches(fn_args, tft_output, files, batch_size, num_epochs, shuffle, spec):
    """Batches of ``batch_size`` raw records (TFXIO: the layout the Transform graph takes)."""
    options = tfxio.TensorFlowDatasetOptions(
        batch_size=batch_size, num_epochs=num_epochs, shuffle=shuffle, shuffle_seed=0,
        shuffle_buffer_size=F.shuffle_buffer_records(spec, batch_size))
    return fn_args.data_accessor.tf_dataset_factory(files, options,
                                                    tft_output.raw_metadata.schema)


def _dataset(fn_args, tft_output, files, tft_layer, batch_size, num_epochs, training, spec):
    ds = _raw_batches(fn_args, tft_output, files, batch_size, num_epochs, training, spec)

    def to_xy(raw):
        t = tft_layer(raw)
        return ({F.FEATURES: t[F.FEATURES], F.NUM_FRAMES: tf.cast(t[F.NUM_FRAMES], tf.int32)},
                t[F.LABELS_MULTI_HOT])

    ds = ds.map(to_xy, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    return F.with_ram_budget(ds, spec, batch_size)


def _segment_dataset(fn_args, tft_output, files, tft_layer, batch_size, num_epochs,
                     read: F.FeatureSpec) -> tf.data.Dataset:
    """Batches of ``batch_size`` rated segments (x, rated scores, weights), shuffled: videos
    read in groups of input_pipeline.VIDEOS_PER_PARSE, their rated segments cut from the
    Transform's whole videos, unbatched and re-batched, as the CLI's make_segment_dataset."""
    ds = _raw_batches(fn_args, tft_output, files, input_pipeline.VIDEOS_PER_PARSE, num_epochs,
                      True, read)

    def cut(raw):
        t = tft_layer(raw)
        rows = parsing.rated_segments(t[F.FEATURES], t[F.NUM_FRAMES], t[F.VIDEO_ID],
                                      *(t[key] for key in S.RATING_KEYS), read)
        return {k: rows[k] for k in (F.FEATURES, F.NUM_FRAMES, F.LABELS_MULTI_HOT,
                                     S.LABEL_WEIGHTS)}

    ds = input_pipeline.rebatch_segments(ds.map(cut, num_parallel_calls=tf.data.AUTOTUNE),
                                         batch_size, training=True, seed=0)
    return ds.map(input_pipeline.split_segment_inputs).prefetch(tf.data.AUTOTUNE)


def run_fn(fn_args) -> None:
    """Trains the configured model and exports it to fn_args.serving_model_dir.

    custom_config: {"model_flags": ModelFlags dict, "training": TrainConfig kwargs, and the
    run-time parameters (trainer_module/tfx_entry/run_time.py)}.
    """
    cc = fn_args.custom_config
    flags, settings = run_time.resolve(cc)
    spec = flags.feature_spec()
    if fn_args.train_steps:
        settings["max_steps"] = fn_args.train_steps
    cfg = training.TrainConfig(**settings)
    files = sorted(f for pattern in fn_args.train_files for f in tf.io.gfile.glob(pattern))
    total_steps = None  # segments: a step is a batch of segments, unknown before reading
    if not flags.segment_labels:  # min_steps counts video batches
        cfg, length = train_length.apply(cfg, files, compression="GZIP")  # ExampleGen gzips
        total_steps = length.total_steps(cfg.batch_size)
    print(f"training {flags.model}: {cfg.num_epochs} epochs, batch {cfg.batch_size}, "
          f"learning rate {cfg.base_learning_rate}")
    tft_output = tft.TFTransformOutput(fn_args.transform_output)
    trainer = training.Trainer(lambda: models.build_model(flags.model, spec, flags.hparams), cfg,
                               os.path.join(fn_args.model_run_dir, "checkpoints"),
                               summary_dir=os.path.join(fn_args.model_run_dir, "train"))
    try:
        _train_and_export(fn_args, trainer, tft_output, flags, cc.get("export_metagraph", True),
                          files, total_steps)
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


def _train_and_export(fn_args, trainer: training.Trainer, tft_output, flags: MF.ModelFlags,
                      export_metagraph: bool, files: list[str],
                      total_steps: int | None = None) -> None:
    """Trains, then exports: the chief into serving_model_dir, any other replica of a training
    cluster into a scratch folder (saving is collective, so every replica saves). ``files``: the
    train split's shards (a bad record is named in them)."""
    spec, cfg, role = flags.feature_spec(), trainer.cfg, trainer.role
    trainer.restore()
    segments = flags.segment_labels
    read = S.read_spec(spec) if segments else spec  # a segment model reads whole videos
    wrapped = TransformedModel(trainer.model, tft_output, read, segments)
    check = None  # a segment record's bad ratings: named by file and record, as the CLI does
    if segments:
        ds = _segment_dataset(fn_args, tft_output, fn_args.train_files, wrapped.tft_layer,
                              cfg.batch_size, cfg.num_epochs, read)
        check = lambda batch: parsing.parse_segments(batch, read, rated=True)  # noqa: E731
    else:
        ds = _dataset(fn_args, tft_output, fn_args.train_files, wrapped.tft_layer,
                      cfg.batch_size, cfg.num_epochs, training=True, spec=spec)
    with records.corruption_named(files, check, compression="GZIP"):  # ExampleGen gzips
        result = trainer.fit(ds, total_steps=total_steps)
    if segments and result.examples == 0:
        raise ValueError("no rated segments in the train split: segment training reads the 2019 "
                         f"ratings ({', '.join(S.RATING_KEYS)}), which `yt8m generate-data` "
                         "writes with `segments`; nothing exported")
    if result.examples and result.labelled == 0:
        raise ValueError(f"none of the {result.examples} videos of the train split has a label: "
                         "an unlabelled split cannot be trained on; nothing exported")
    print(f"trained {flags.model}: step {result.global_step}, {result.examples} examples, "
          f"{result.examples_per_sec:.0f} examples/s, {trainer.model.count_params():,} parameters")
    if trainer.use_averaged_weights():
        print(f"exporting the moving average of the weights (ema_decay {cfg.ema_decay})")
    if role.replicas > 1:
        print(f"replica {role.name} of {role.replicas}: weights digest "
              f"{distribute.weights_digest(trainer.model):.9g}")
    with distribute.writable(fn_args.serving_model_dir, role) as serving_dir:
        export.export_saved_model(
            trainer.model, serving_dir, wrapped.serving_inputs,
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
            metagraph_export.export_metagraph(trainer.model, flags.to_dict(),
                                              os.path.join(kaggle, "inference_model"))
    distribute.barrier(trainer.strategy, role)
