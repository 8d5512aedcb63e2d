"""``yt8m eval``: the seed's eval.py: evaluate the latest checkpoint of a train_dir.

Prints the seed's line, writes eval TensorBoard summaries (train_dir/eval) and a metrics JSON
(train_dir/eval/metrics.json, also per step). Without run_once, waits for new checkpoints.
"""
from __future__ import annotations

import dataclasses
import os
import time

import numpy as np
import tensorflow as tf

from trainer_module import io_utils
from trainer_module.data import features as F
from trainer_module.data import input_pipeline
from trainer_module.data import parsing
from trainer_module.data import records
from trainer_module.errors import DataError
from trainer_module.evaluation import metrics as M
from trainer_module.jobs import segment_rank
from trainer_module.train import checkpoints
from trainer_module.train import loop as training
from trainer_module.train import losses
from trainer_module.train import model_flags as MF


@dataclasses.dataclass(frozen=True, kw_only=True)
class EvalJob:
    eval_data_pattern: str
    train_dir: str
    batch_size: int = 1024
    top_k: int = M.DEFAULT_TOP_K
    run_once: bool = False
    save_predictions: str | None = None
    poll_seconds: float = 30.0
    skip_corrupt_records: bool = False
    # segment MAP@K of every 5-second segment against the 2019 ratings (docs/segments.md)
    segments: segment_rank.Settings | None = None

    def __post_init__(self):
        if self.save_predictions and self.segments:
            raise ValueError("`save_predictions` keeps video predictions; with `segment_labels` "
                             "write the segment submission with `yt8m inference` "
                             "and `segment_labels`")


def evaluate_model(model, files: list[str], spec: F.FeatureSpec, batch_size: int, top_k: int,
                   label_loss: str, keep_predictions: bool = False, skip_corrupt: bool = False,
                   log=None):
    """Streams ``files`` through ``model``: (metrics dict, (ids, predictions, labels) or None).

    A corrupt shard raises DataError naming it, unless ``skip_corrupt`` (then it is reported).
    """
    loss_fn = losses.get(label_loss)
    acc = M.MetricsAccumulator(spec.num_classes, top_k)
    report = records.ReadReport()
    ds = input_pipeline.make_dataset(files, spec, batch_size, training=False,
                                     skip_corrupt=skip_corrupt, report=report)
    saved_ids, saved_preds, saved_labels = [], [], []
    with records.corruption_named(files, lambda b: parsing.parse_batch(b, spec)):
        for ids, preds, labels in training.predict_batches(model, ds):
            acc.add(preds, labels, float(loss_fn(labels, preds).numpy()) * len(preds))
            if keep_predictions:
                saved_ids.append(ids), saved_preds.append(preds), saved_labels.append(labels)
    for line in report.lines(acc.num_videos, "videos") if log else ():
        log(line)
    if acc.num_videos == 0:
        raise DataError(f"no records to evaluate in {len(files)} files ({files[0]} ...): "
                        "empty split?")
    if not acc.positives_per_class.any():
        raise DataError(f"none of the {acc.num_videos} videos in {len(files)} files "
                        f"({files[0]} ...) has a label: an unlabelled split (test?) cannot be "
                        "evaluated")
    saved = ((np.concatenate(saved_ids), np.concatenate(saved_preds), np.concatenate(saved_labels))
             if keep_predictions and saved_ids else None)
    result = acc.result()
    result["num_classes"] = int((acc.positives_per_class > 0).sum())
    return result, saved


def evaluate_checkpoint(job: EvalJob, flags: MF.ModelFlags, checkpoint: str, files, log=print) -> dict:
    spec = flags.feature_spec()
    model = checkpoints.restore_model(flags, checkpoint)
    step = int(checkpoint.rsplit("-", 1)[-1])
    if checkpoints.has_averages(checkpoint):
        log(f"evaluating the moving average of the weights at step {step} (as exported)")
    metrics, saved = evaluate_model(model, files, spec, job.batch_size, job.top_k, flags.label_loss,
                                    keep_predictions=bool(job.save_predictions),
                                    skip_corrupt=job.skip_corrupt_records, log=log)
    result = {**metrics, "global_step": step, "top_k": job.top_k, "checkpoint": checkpoint}
    log(f"epoch/eval number {step} | Avg_Hit@1: {result['hit_at_one']:.3f} | Avg_PERR: "
        f"{result['perr']:.3f} | MAP: {result['map']:.3f} | GAP: {result['gap']:.3f} | Avg_Loss: "
        f"{result['loss']:f} | num_classes: {result['num_classes']}")
    eval_dir = os.path.join(job.train_dir, "eval")
    with tf.summary.create_file_writer(eval_dir).as_default(step=step):
        for key in ("gap", "hit_at_one", "perr", "map", "loss"):
            tf.summary.scalar(key, result[key])
    io_utils.write_json(os.path.join(eval_dir, f"metrics_step_{step:08d}.json"), result)
    io_utils.write_json(os.path.join(eval_dir, "metrics.json"), result)
    if saved is not None:
        with io_utils.atomic_path(job.save_predictions) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, ids=saved[0].astype("S"), predictions=saved[1], labels=saved[2])
    return result


def evaluate_segments(job: EvalJob, flags: MF.ModelFlags, checkpoint: str, files,
                      log=print) -> dict:
    """Segment MAP@K of the checkpoint: every segment of ``files`` ranked per class as
    ``yt8m inference --segment_labels`` ranks them, judged against the files' ratings; plus
    video-level GAP of each video's best segment."""
    from trainer_module.evaluation import segment_metrics as SM
    from trainer_module.jobs import segment_score

    ratings = segment_score.read_ratings(job.eval_data_pattern, "`eval_data_pattern`")
    model = segment_rank.load_model(flags, checkpoint, "train_dir")
    step = int(checkpoint.rsplit("-", 1)[-1])
    classes = job.segments.classes()
    ranking = segment_rank.rank(model, files, flags.feature_spec(), classes,
                                job.segments.max_pred, job.top_k, job.batch_size,
                                with_labels=True, skip_corrupt=job.skip_corrupt_records, log=log)
    result = SM.segment_map(ranking.top.ranked(), ratings, job.segments.max_pred)
    strict = SM.over_rated_classes(result, ratings, classes)
    out = {"segment_map": result.map, "segment_map_over_rated_classes": strict,
           "segment_max_pred": result.k,
           "segment_classes": len(result.per_class), "segments": ranking.top.segments,
           "videos": ranking.videos, "global_step": step, "checkpoint": checkpoint,
           "segments_per_sec": ranking.segments_per_sec}
    video = ranking.video_metrics
    if video:
        out.update({f"video_{key}": video[key] for key in ("gap", "hit_at_one", "perr", "map")})
    log(f"MAP@{result.k}: {result.map:.6f} over {len(result.per_class)} classes "
        f"({ranking.top.segments} segments of {ranking.videos} videos, global step {step}; "
        f"over every rated class {strict:.6f}"
        + (f"; video GAP of the best segment {video['gap']:.4f})" if video else ")"))
    eval_dir = os.path.join(job.train_dir, "eval")
    with tf.summary.create_file_writer(eval_dir).as_default(step=step):
        tf.summary.scalar("segment_map", result.map)
        tf.summary.scalar("segment_map_over_rated_classes", strict)
    io_utils.write_json(os.path.join(eval_dir, "segment_metrics.json"), out)
    return out


def run(job: EvalJob, log=print) -> dict | None:
    flags = MF.load(job.train_dir)
    if job.segments:
        MF.segment_model(flags)  # a video-level model is refused before any data is read
    files = input_pipeline.list_files(job.eval_data_pattern, "`eval_data_pattern`")
    records.check_level(files, flags.frame_features)
    last = None
    while True:
        latest = tf.train.latest_checkpoint(job.train_dir)
        if latest is None and job.run_once:
            raise FileNotFoundError(f"`train_dir` {job.train_dir}: no checkpoint to evaluate")
        if latest and latest != last:
            last_result = (evaluate_segments if job.segments else evaluate_checkpoint)(
                job, flags, latest, files, log)
            last = latest
            if job.run_once:
                return last_result
        time.sleep(job.poll_seconds)
