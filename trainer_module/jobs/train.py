"""``yt8m train``: the seed's train.py on tf_keras, with resume and export.

train_dir layout:
  model_flags.json            model, features and hyperparameters (checked on resume)
  model.ckpt-N.*, checkpoint  tf.train checkpoints (global step = optimizer iterations)
  train/                      TensorBoard summaries
  export/step_N/saved_model   serving SavedModel (signature on serialized records)
  export/step_N/inference_model.*  the seed's Kaggle MetaGraph
  export/step_N/model_flags.json
  progress.json               epochs done (a resumed run trains only the missing ones)
  validation.json             with --validation_data_pattern: GAP per epoch, the best epoch
  best/                       weights of the best epoch (what gets exported)
"""
from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import os
import shutil
import tempfile

import tensorflow as tf

from trainer_module import io_utils
from trainer_module import models
from trainer_module.data import input_pipeline
from trainer_module.data import parsing
from trainer_module.data import records
from trainer_module.data import segments as S
from trainer_module.evaluation import metrics as M
from trainer_module.export import metagraph as metagraph_export
from trainer_module.export import saved_model as export
from trainer_module.train import distribute
from trainer_module.train import length as train_length
from trainer_module.train import loop as training
from trainer_module.train import model_flags as MF
from trainer_module.train import run as training_run
from trainer_module.jobs import start_from


VALIDATION_FILE = "validation.json"


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainJob:
    train_data_pattern: str
    train_dir: str
    flags: MF.ModelFlags
    train: training.TrainConfig
    start_new_model: bool = False
    export_metagraph: bool = True
    validation_data_pattern: str | None = None  # select the best epoch by GAP on these files
    early_stopping_patience: int = 0  # stop after this many epochs without a better GAP (0: never)
    skip_corrupt_records: bool = False
    max_model_size_mb: float = 1024.0  # the Kaggle limit; the export fails above it
    start_from: str | None = None  # a train_dir or model .tgz to initialise a new run from

    def __post_init__(self):
        if self.train.ema_decay and self.validation_data_pattern:
            raise ValueError("`ema_decay` with `validation_data_pattern` is not supported: pick "
                             "one way to smooth the exported weights")
        if self.max_model_size_mb <= 0:
            raise ValueError(f"`max_model_size_mb` must be > 0, got {self.max_model_size_mb}")
        if self.early_stopping_patience < 0:
            raise ValueError(f"`early_stopping_patience` must be >= 0, got "
                             f"{self.early_stopping_patience}")
        if self.early_stopping_patience and not self.validation_data_pattern:
            raise ValueError("`early_stopping_patience` needs `validation_data_pattern`")
        if self.flags.segment_labels and self.validation_data_pattern:
            raise ValueError("`validation_data_pattern` selects an epoch by video-level GAP; "
                             "a segment model is judged by segment MAP (`yt8m eval` with "
                             "`segment_labels` on its checkpoints)")
        if self.flags.segment_labels and self.train.min_steps:
            raise ValueError("`min_steps` counts videos per step; with `segment_labels` a step "
                             "is a batch of segments: set `num_epochs` instead")


def prepare_train_dir(job: TrainJob, log=print, role: distribute.Role | None = None) -> None:
    """Checks or starts the train_dir: resume only with the same model flags. Only the chief
    of a training cluster writes (and checks: the others may start before it wrote)."""
    if role is not None and not role.is_chief:
        return
    if job.start_new_model and os.path.isdir(job.train_dir):
        removed = remove_training_outputs(job.train_dir)
        log(f"--start_new_model: removed {len(removed)} entries that training wrote in "
            f"{job.train_dir}")
    remove_debris(job.train_dir)
    if os.path.exists(os.path.join(job.train_dir, MF.FILENAME)):
        MF.check_compatible(MF.load(job.train_dir), job.flags, job.train_dir)
    else:
        os.makedirs(job.train_dir, exist_ok=True)
        MF.save(job.train_dir, job.flags)


TRAIN_PID = ".yt8m-train.pid"  # the pid of the `yt8m train` that holds the folder's lock
# What `yt8m train` (and `eval`) write into a train_dir: nothing else is ever removed.
TRAIN_DIR_ENTRIES = (MF.FILENAME, TRAIN_PID, "checkpoint", "model.ckpt-*", "train", "eval", "export", "best",
                     "best.tmp", "best.old", VALIDATION_FILE, training_run.PROGRESS_FILE, ".*.tmp", "*_temp")


def remove_training_outputs(train_dir: str) -> list[str]:
    """Removes what training wrote in train_dir; returns the removed paths.

    Raises:
      ValueError: train_dir holds files but no model_flags.json: it is not a train_dir.
    """
    entries = os.listdir(train_dir)
    if entries and MF.FILENAME not in entries:
        raise ValueError(f"`train_dir` {train_dir} holds {len(entries)} entries but no "
                         f"{MF.FILENAME}: not a train_dir written by `yt8m train`; refusing to "
                         "remove anything (pass an empty or new folder)")
    removed = [os.path.join(train_dir, e) for e in entries
               if any(fnmatch.fnmatch(e, p) for p in TRAIN_DIR_ENTRIES)]
    for path in removed:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    return removed


def remove_debris(train_dir: str) -> None:
    """What a killed run leaves: temporary files of atomic writes (``.NAME.*.tmp``),
    TensorFlow's half-written checkpoints (``model.ckpt-N_temp/``) and half-written exports."""
    for folder in (train_dir, os.path.join(train_dir, "export")):
        if not os.path.isdir(folder):
            continue
        for entry in os.listdir(folder):
            path = os.path.join(folder, entry)
            if fnmatch.fnmatch(entry, ".*.tmp") or fnmatch.fnmatch(entry, "*_temp") or (
                    folder.endswith("export") and entry.endswith(".tmp")):
                if os.path.isdir(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.remove(path)


def export_dir_for(train_dir: str, step: int) -> str:
    return os.path.join(train_dir, "export", f"step_{step:08d}")


def latest_export(train_dir: str) -> str:
    """The newest complete export of a train_dir (raises FileNotFoundError if none)."""
    root = os.path.join(train_dir, "export")
    done = sorted(d for d in (os.listdir(root) if os.path.isdir(root) else [])
                  if d.startswith("step_") and os.path.exists(os.path.join(root, d, MF.FILENAME)))
    if not done:
        raise FileNotFoundError(f"`train_dir` {train_dir}: no exported model under {root}; "
                                "run `yt8m train` to completion first")
    return os.path.join(root, done[-1])


def dir_size_mb(path: str) -> float:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs) / 2**20


def export_model(model, flags: MF.ModelFlags, out_dir: str, with_metagraph: bool = True,
                 max_size_mb: float | None = None, finish=None) -> str:
    """saved_model/ + inference_model.* + model_flags.json, complete or not at all;
    ``finish(staging folder)`` adds the caller's files before the swap.

    Raises:
      ValueError: the export is larger than ``max_size_mb`` (nothing is left at ``out_dir``).
    """
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    # a new scratch sibling of this run's own (never a user's OUT.tmp)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.abspath(out_dir))}.", suffix=".tmp",
                           dir=parent)
    try:
        spec = flags.feature_spec()
        export.export_saved_model(model, os.path.join(tmp, "saved_model"),
                                  export.segment_preprocess(spec) if flags.segment_labels
                                  else export.default_preprocess(spec),
                                  segments=flags.segment_labels)
        if with_metagraph:
            metagraph_export.export_metagraph(model, flags.to_dict(),
                                              os.path.join(tmp, "inference_model"))
        size = dir_size_mb(tmp)
        if max_size_mb is not None and size > max_size_mb:
            raise ValueError(f"the exported model is {size:.0f} MB, above `max_model_size_mb` "
                             f"{max_size_mb:g} ({model.count_params():,} parameters): use a "
                             "smaller model or raise the limit")
        if finish:
            finish(tmp)
        MF.save(tmp, flags)  # written last: marks the export complete
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    return out_dir


def run(job: TrainJob, log=print) -> training.TrainResult:
    role = distribute.role_from_env()
    if role.replicas > 1 and job.validation_data_pattern:
        raise ValueError("`validation_data_pattern` is single-process only: it keeps the best "
                         "epoch's weights in one train_dir (TF_CONFIG names a cluster of "
                         f"{role.replicas})")
    with _train_dir_lock(job.train_dir, role):
        return _run_locked(job, role, log)


@contextlib.contextmanager
def _train_dir_lock(train_dir: str, role: distribute.Role):
    """One `yt8m train` per local train_dir (the chief's; a gs:// train_dir has no locks): a
    second one would overwrite the first's checkpoints. The lock is a ``flock`` on the folder
    itself, so nothing is written into a folder that turns out not to be a train_dir; the
    holder's pid goes into TRAIN_PID once the folder is one."""
    import fcntl

    if "://" in train_dir or not role.is_chief:
        yield
        return
    os.makedirs(train_dir, exist_ok=True)
    fd = os.open(train_dir, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                with open(os.path.join(train_dir, TRAIN_PID), encoding="utf-8") as f:
                    holder = f.read().strip() or "?"
            except OSError:
                holder = "?"
            raise ValueError(f"`train_dir` {train_dir} is in use by another `yt8m train` (pid "
                             f"{holder}): wait for it to finish or use another `train_dir`"
                             ) from None
        yield
    finally:
        os.close(fd)  # releases the lock


def _run_locked(job: TrainJob, role: distribute.Role, log) -> training.TrainResult:
    prepare_train_dir(job, log, role)
    if role.is_chief and "://" not in job.train_dir:
        io_utils.write_text(os.path.join(job.train_dir, TRAIN_PID), str(os.getpid()))
    spec = job.flags.feature_spec()
    files = input_pipeline.list_files(job.train_data_pattern, "`train_data_pattern`")
    records.check_level(files, spec.frame_level)
    cfg, _ = train_length.apply(job.train, files, log)
    trainer = training.Trainer(
        lambda: models.build_model(job.flags.model, spec, job.flags.hparams), cfg,
        job.train_dir, summary_dir=os.path.join(job.train_dir, "train"), role=role)
    try:
        return training_run.train_and_export(trainer, plan(job, cfg, files), log)
    finally:
        trainer.close()


def plan(job: TrainJob, cfg: training.TrainConfig, files: list[str]) -> training_run.Plan:
    """What ``yt8m train`` reads and writes: batches of ``files`` parsed by the job's feature
    spec, an export under ``train_dir/export/step_N`` (the best epoch's with validation)."""
    spec = job.flags.feature_spec()

    def epoch_data(epoch: int, report: records.ReadReport | None) -> tf.data.Dataset:
        common = dict(training=True, num_epochs=1, seed=cfg.seed + epoch,
                      skip_corrupt=job.skip_corrupt_records, report=report)
        if job.flags.segment_labels:
            return input_pipeline.make_segment_dataset(
                files, spec, cfg.batch_size, rated=True, **common).map(
                input_pipeline.split_segment_inputs)
        return input_pipeline.make_dataset(files, spec, cfg.batch_size, **common).map(
            input_pipeline.split_inputs)

    def export(model, target: str) -> str:
        out = export_model(model, job.flags, target, job.export_metagraph, job.max_model_size_mb)
        return f"{out} ({dir_size_mb(out):.1f} MB)"

    if job.flags.segment_labels:
        check = lambda b: parsing.parse_segments(b, S.read_spec(spec), True)  # noqa: E731
    else:
        check = lambda b: parsing.parse_batch(b, spec)  # noqa: E731
    return training_run.Plan(
        model_name=job.flags.model, files=files, epoch_data=epoch_data, export=export,
        export_dir=lambda step: export_dir_for(job.train_dir, step), check_batch=check,
        segments=job.flags.segment_labels,
        initialise=(lambda model: start_from.initialise(model, job.flags, job.start_from))
        if job.start_from else None,
        fit=(lambda *a: fit_with_validation(job, *a)) if job.validation_data_pattern else None)


def fit_with_validation(job: TrainJob, trainer: training.Trainer, plan: training_run.Plan, log=print,
                        report: records.ReadReport | None = None,
                        ) -> tuple[training.TrainResult, int]:
    """Epoch by epoch: train, evaluate GAP on the validation files, keep the best weights
    (``training_run.Plan.fit`` for a job with ``validation_data_pattern``).

    The model left in ``trainer`` holds the best epoch's weights, so more epochs never make the
    export worse. ``validation.json`` (written atomically after every epoch) makes a resumed run
    continue with the next epoch; an epoch interrupted midway is trained again from its start
    checkpoint's step onwards.

    Returns:
      (the training totals, the global step of the best epoch).
    """
    from trainer_module.jobs import eval as eval_job  # eval_job imports training; keep this edge local

    cfg, spec = trainer.cfg, job.flags.feature_spec()
    val_files = input_pipeline.list_files(job.validation_data_pattern, "`validation_data_pattern`")
    state_path = os.path.join(job.train_dir, VALIDATION_FILE)
    best_prefix = os.path.join(job.train_dir, "best", "weights")
    state = io_utils.read_json(state_path) if os.path.exists(state_path) else {
        "epochs_done": 0, "best_gap": -1.0, "best_step": 0, "best_epoch": 0, "history": []}
    best_ckpt = tf.train.Checkpoint(model=trainer.model)
    examples, seconds, loss, labelled = 0, 0.0, float("nan"), 0
    step = int(trainer.optimizer.iterations.numpy())
    for epoch in range(state["epochs_done"] + 1, cfg.num_epochs + 1):
        if cfg.max_steps is not None and step >= cfg.max_steps:
            break
        ds = plan.epoch_data(epoch, report if epoch == state["epochs_done"] + 1 else None)
        result = trainer.fit(ds, log=log)
        step, examples, seconds = result.global_step, examples + result.examples, seconds + result.seconds
        labelled += result.labelled
        loss = result.last_loss
        metrics, _ = eval_job.evaluate_model(  # names damaged files itself
            trainer.model, val_files, spec, cfg.batch_size, M.DEFAULT_TOP_K,
            job.flags.label_loss, skip_corrupt=job.skip_corrupt_records)
        improved = metrics["gap"] > state["best_gap"]
        if improved:
            _write_best(best_ckpt, best_prefix)
            state.update(best_gap=metrics["gap"], best_step=step, best_epoch=epoch)
        state["epochs_done"] = epoch
        state["history"].append({"epoch": epoch, "global_step": step, "gap": metrics["gap"],
                                 "hit_at_one": metrics["hit_at_one"], "loss": metrics["loss"]})
        io_utils.write_json(state_path, state)
        log(f"epoch {epoch}: validation GAP {metrics['gap']:.4f} Hit@1 {metrics['hit_at_one']:.4f}"
            f" (best {state['best_gap']:.4f} at epoch {state['best_epoch']})")
        if (job.early_stopping_patience
                and epoch - state["best_epoch"] >= job.early_stopping_patience):
            log(f"early stopping: no better validation GAP for {job.early_stopping_patience} epochs")
            break
    if state["best_epoch"]:
        best_ckpt.read(best_prefix).assert_existing_objects_matched()
        log(f"exporting the best epoch {state['best_epoch']} (global step {state['best_step']}, "
            f"validation GAP {state['best_gap']:.4f})")
    return (training.TrainResult(step, examples, seconds, loss, labelled),
            state["best_step"] or step)


def _write_best(ckpt: tf.train.Checkpoint, prefix: str) -> None:
    """Replaces the best-weights checkpoint as a whole (write aside, then swap directories)."""
    directory = os.path.dirname(prefix)
    tmp = directory + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    ckpt.write(os.path.join(tmp, os.path.basename(prefix)))
    old = directory + ".old"
    shutil.rmtree(old, ignore_errors=True)
    if os.path.isdir(directory):
        os.replace(directory, old)
    os.replace(tmp, directory)
    shutil.rmtree(old, ignore_errors=True)
