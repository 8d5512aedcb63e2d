"""``yt8m train``: the seed's train.py on tf_keras, with resume and export.

train_dir layout:
  model_flags.json            model, features and hyperparameters (checked on resume)
  model.ckpt-N.*, checkpoint  tf.train checkpoints (global step = optimizer iterations)
  train/                      TensorBoard summaries
  export/step_N/saved_model   serving SavedModel (signature on serialized records)
  export/step_N/inference_model.*  the seed's Kaggle MetaGraph
  export/step_N/model_flags.json
"""
from __future__ import annotations

import dataclasses
import os
import shutil

import tensorflow as tf

from trainer_module import export
from trainer_module import input_pipeline
from trainer_module import metagraph_export
from trainer_module import model_flags as MF
from trainer_module import models
from trainer_module import training


@dataclasses.dataclass(frozen=True)
class TrainJob:
    train_data_pattern: str
    train_dir: str
    flags: MF.ModelFlags
    train: training.TrainConfig
    start_new_model: bool = False
    export_metagraph: bool = True


def prepare_train_dir(job: TrainJob, log=print) -> None:
    """Checks or starts the train_dir: resume only with the same model flags."""
    if job.start_new_model and os.path.isdir(job.train_dir):
        log(f"--start_new_model: removing {job.train_dir}")
        shutil.rmtree(job.train_dir)
    if os.path.exists(os.path.join(job.train_dir, MF.FILENAME)):
        MF.check_compatible(MF.load(job.train_dir), job.flags, job.train_dir)
    else:
        os.makedirs(job.train_dir, exist_ok=True)
        MF.save(job.train_dir, job.flags)


def export_dir_for(train_dir: str, step: int) -> str:
    return os.path.join(train_dir, "export", f"step_{step:08d}")


def latest_export(train_dir: str) -> str:
    """The newest complete export of a train_dir (raises FileNotFoundError if none)."""
    root = os.path.join(train_dir, "export")
    done = sorted(d for d in (os.listdir(root) if os.path.isdir(root) else [])
                  if d.startswith("step_") and os.path.exists(os.path.join(root, d, MF.FILENAME)))
    if not done:
        raise FileNotFoundError(f"--train_dir {train_dir}: no exported model under {root}; "
                                "run `yt8m train` to completion first")
    return os.path.join(root, done[-1])


def export_model(model, flags: MF.ModelFlags, out_dir: str, with_metagraph: bool = True) -> str:
    """saved_model/ + inference_model.* + model_flags.json, complete or not at all."""
    tmp = out_dir + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    export.export_saved_model(model, os.path.join(tmp, "saved_model"),
                              export.default_preprocess(flags.feature_spec()))
    if with_metagraph:
        metagraph_export.export_metagraph(model, flags.to_dict(), os.path.join(tmp, "inference_model"))
    MF.save(tmp, flags)  # written last: marks the export complete
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    return out_dir


def run(job: TrainJob, log=print) -> training.TrainResult:
    prepare_train_dir(job, log)
    spec = job.flags.feature_spec()
    files = input_pipeline.list_files(job.train_data_pattern, "--train_data_pattern")
    tf.random.set_seed(job.train.seed)
    trainer = training.Trainer(
        lambda: models.build_model(job.flags.model, spec, job.flags.hparams), job.train,
        job.train_dir, summary_dir=os.path.join(job.train_dir, "train"))
    step = trainer.restore()
    log(f"{'resuming from' if step else 'starting'} global step {step}: {job.flags.model} on "
        f"{len(files)} files, batch {job.train.batch_size}, {job.train.num_epochs} epochs")
    ds = input_pipeline.make_dataset(files, spec, job.train.batch_size, training=True,
                                     num_epochs=job.train.num_epochs, seed=job.train.seed)
    result = trainer.fit(ds.map(input_pipeline.split_inputs), log=log)
    out = export_model(trainer.model, job.flags, export_dir_for(job.train_dir, result.global_step),
                       job.export_metagraph)
    params = trainer.model.count_params()
    log(f"done at global step {result.global_step}: {result.examples} examples in "
        f"{result.seconds:.1f}s ({result.examples_per_sec:.0f}/s); {params:,} parameters; "
        f"exported {out}")
    return result
