"""One training run, for both entries: ``yt8m train`` (jobs/train.py) and the pipeline's
Trainer (tfx_entry/run_fn.py) each call ``train_and_export`` with a ``Plan`` of what differs
between them: where an epoch's batches come from, the model's name, how it is exported and
into which folder.

Shared: restore from the newest checkpoint (or a new run's starting weights), ``num_epochs``
epochs of one dataset each, resumed by ``progress.json`` beside the checkpoints (a resumed run
trains only the epochs still missing, the interrupted one again from its start), ``max_steps``,
a bad record named by file and number, the checks that the data had records and labels, the
moving-average weights, a training cluster's replica digest, the export by the chief alone
(every replica saves, the others into scratch) and the barrier after it.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Callable

import tensorflow as tf

from trainer_module import io_utils
from trainer_module.data import records
from trainer_module.errors import DataError
from trainer_module.train import distribute
from trainer_module.train import loop as training

PROGRESS_FILE = "progress.json"  # epochs done, beside the checkpoints

# epoch (1-based), the read report to fill (first epoch of a run only) -> that epoch's batches:
# (inputs, labels) or (inputs, rated scores, weights) for a segment model
EpochData = Callable[[int, "records.ReadReport | None"], tf.data.Dataset]


@dataclasses.dataclass(frozen=True)
class Plan:
    """What one entry's training run reads and writes."""

    model_name: str
    files: list[str]  # the train split's shards (a bad record is named in them)
    epoch_data: EpochData
    export: Callable[[object, str], str]  # (model, folder) -> what was exported, for the log
    export_dir: Callable[[int], str]  # the exported weights' global step -> the export folder
    check_batch: Callable | None = None  # re-parses serialized records to name a bad one
    compression: str | None = None  # of ``files`` (ExampleGen writes GZIP)
    segments: bool = False  # a step is a batch of rated segments
    total_steps: int | None = None  # the run's last global step, when known before training
    initialise: Callable[[object], str] | None = None  # a new run's starting weights -> log line
    # (trainer, plan, log, report) -> (totals, global step of the weights to export)
    fit: Callable | None = None  # None: fit_epochs


def train_and_export(trainer: training.Trainer, plan: Plan, log=print) -> training.TrainResult:
    """Trains ``trainer``'s model as ``plan`` says and exports it; returns the totals.

    Raises:
      DataError: the train files hold no records (no rated segments), or no labelled one.
    """
    role, cfg = trainer.role, trainer.cfg
    step = trainer.restore()
    if plan.initialise and step == 0:
        log(plan.initialise(trainer.model))
    elif plan.initialise:
        log(f"resuming at global step {step}: `start_from` applies to a new run only")
    log(f"{'resuming from' if step else 'starting'} global step {step}: {plan.model_name} on "
        f"{len(plan.files)} files, batch {cfg.batch_size}, {cfg.num_epochs} epochs")
    report = records.ReadReport()
    with records.corruption_named(plan.files, plan.check_batch, plan.compression):
        result, exported_step = (plan.fit or fit_epochs)(trainer, plan, log, report)
    if report.files:  # the CLI's reader fills it (skipped damaged files)
        for line in report.lines(result.examples, "examples (all epochs)"):
            log(line)
    _check_trained(result, plan)
    if trainer.use_averaged_weights():
        log(f"exporting the moving average of the weights (`ema_decay` {cfg.ema_decay})")
    if role.replicas > 1:
        log(f"replica {role.name} of {role.replicas}: weights digest "
            f"{distribute.weights_digest(trainer.model):.9g} ({result.examples} examples in "
            f"{result.global_step} steps)")
    with distribute.writable(plan.export_dir(exported_step), role) as target:
        exported = plan.export(trainer.model, target)
    distribute.barrier(trainer.strategy, role)
    log(f"done at global step {result.global_step}: {result.examples} examples in "
        f"{result.seconds:.1f}s ({result.examples_per_sec:.0f}/s); "
        f"{trainer.model.count_params():,} parameters; exported "
        f"{exported if role.is_chief else 'to scratch (the chief exports)'}")
    return result


def _check_trained(result: training.TrainResult, plan: Plan) -> None:
    files = f"{len(plan.files)} files ({plan.files[0] if plan.files else '-'} ...)"
    if result.examples == 0 and result.global_step == 0:
        raise DataError(f"no rated segments in {files}: segment training reads the 2019 ratings "
                        "(segment_labels, segment_start_times, segment_scores), which `yt8m "
                        "generate-data` writes with `segments`; nothing exported"
                        if plan.segments else
                        f"no training records in {files}: empty split?")
    if result.examples and result.labelled == 0:
        raise DataError(f"none of the {result.examples} training videos in {files} has a label: "
                        "an unlabelled split (test?) cannot be trained on; nothing exported")


def fit_epochs(trainer: training.Trainer, plan: Plan, log=print,
               report: records.ReadReport | None = None) -> tuple[training.TrainResult, int]:
    """``num_epochs`` passes in all, one dataset per epoch. ``progress.json`` (the chief writes
    it after every epoch) makes a resumed run train only the epochs still missing, the
    interrupted one again from its start, instead of ``num_epochs`` more.

    Returns:
      (the totals, the global step of the weights to export: the last).
    """
    cfg = trainer.cfg
    state_path = os.path.join(trainer.checkpoint_dir, PROGRESS_FILE)
    done = io_utils.read_json(state_path)["epochs_done"] if tf.io.gfile.exists(state_path) else 0
    if done >= cfg.num_epochs:
        log(f"{done} of --num_epochs {cfg.num_epochs} epochs already trained; nothing to "
            "train (pass a larger --num_epochs, or --start_new_model)")
    step = int(trainer.optimizer.iterations.numpy())
    total = training.TrainResult(step, 0, 0.0, float("nan"), 0)
    end_step = plan.total_steps  # else known once an epoch's steps are: then an ETA
    for epoch in range(done + 1, cfg.num_epochs + 1):
        if cfg.max_steps is not None and total.global_step >= cfg.max_steps:
            break
        ds = plan.epoch_data(epoch, report if epoch == done + 1 else None)
        result = trainer.fit(ds, log=log, total_steps=end_step)
        if plan.total_steps is None:
            end_step = result.global_step + (result.global_step - total.global_step) * (
                cfg.num_epochs - epoch)
        total = training.TrainResult(result.global_step, total.examples + result.examples,
                                     total.seconds + result.seconds, result.last_loss,
                                     total.labelled + max(result.labelled, 0))
        if not result.exhausted:  # cut short by max_steps: the epoch is not done
            break
        log(f"epoch {epoch}/{cfg.num_epochs} done: global step {result.global_step}, "
            f"loss {result.last_loss:.4f}")
        if trainer.role.is_chief:
            io_utils.write_json(state_path, {"epochs_done": epoch, "num_epochs": cfg.num_epochs,
                                             "global_step": total.global_step})
    return total, total.global_step
