"""``yt8m report --train_dir``: the HTML report's data for a `yt8m train` directory.

Restores the newest checkpoint, evaluates it on the given records and reads the GAP history
that `yt8m eval` (per checkpoint) or validation during training (per epoch) wrote.
"""
from __future__ import annotations

import glob
import os

from trainer_module import io_utils
from trainer_module.data import input_pipeline
from trainer_module.evaluation import metrics as M
from trainer_module.evaluation import report
from trainer_module.jobs import eval as eval_job
from trainer_module.train import checkpoints


def gap_history(train_dir: str) -> list[tuple[str, float]]:
    """[(label, GAP)] oldest first: eval's per-step metrics, else training's validation epochs."""
    history = []
    for path in sorted(glob.glob(os.path.join(train_dir, "eval", "metrics_step_*.json"))):
        m = io_utils.read_json(path)
        history.append((f"step {m['global_step']}", m["gap"]))
    validation = os.path.join(train_dir, "validation.json")
    if not history and os.path.exists(validation):
        history = [(f"epoch {h['epoch']}", h["gap"])
                   for h in io_utils.read_json(validation)["history"]]
    return history


def from_train_dir(train_dir: str, eval_data_pattern: str, batch_size: int = 1024,
                   top_k: int = M.DEFAULT_TOP_K):
    """(ReportData, GAP history, details) of the newest checkpoint on ``eval_data_pattern``."""
    flags, model, checkpoint = checkpoints.restore_latest(train_dir)
    files = input_pipeline.list_files(eval_data_pattern, "`eval_data_pattern`")
    _, saved = eval_job.evaluate_model(model, files, flags.feature_spec(), batch_size, top_k,
                                       flags.label_loss, keep_predictions=True)
    data = report.reduce_predictions(saved[1], saved[2], top_k)
    return data, gap_history(train_dir), {"model": flags.model, "checkpoint": checkpoint,
                                          "evaluated": eval_data_pattern}
