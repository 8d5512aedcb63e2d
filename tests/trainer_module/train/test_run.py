"""train/run.py's train_and_export on its own, with a hand-made Plan (a logistic model on
random features, CPU): epochs of one dataset each, resume by progress.json (an interrupted
epoch again from its start, a finished run trains nothing), max_steps, the export step and
folder, a new run's initialisation, the empty and unlabelled data refused before any export."""
import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf

from trainer_module import models
from trainer_module.data import features as F
from trainer_module.errors import DataError
from trainer_module.train import loop as training
from trainer_module.train import run

SPEC = F.FeatureSpec.from_flags("mean_rgb,mean_audio", "1024,128", False, 1)
BATCHES = 3  # per epoch, of 4 videos


def _epoch(epoch: int, labelled: bool = True) -> tf.data.Dataset:
    rng = np.random.default_rng(epoch)
    n = 4 * BATCHES
    x = {F.FEATURES: rng.normal(size=(n, SPEC.dim)).astype(np.float32),
         F.NUM_FRAMES: np.ones(n, np.int32)}
    y = np.zeros((n, F.NUM_CLASSES), np.float32)
    if labelled:
        y[np.arange(n), rng.integers(0, 10, n)] = 1.0
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(4)


class Recorder:
    """A Plan's callbacks that record what train_and_export asked of them."""

    def __init__(self, tmp_path, labelled=True, empty=False):
        self.root, self.labelled, self.empty = tmp_path, labelled, empty
        self.epochs, self.exports = [], []

    def plan(self, **changes) -> run.Plan:
        return run.Plan(**{**dict(
            model_name="LogisticModel", files=["a.tfrecord"], epoch_data=self.epoch_data,
            export=self.export, export_dir=lambda step: str(self.root / f"export_{step}")),
            **changes})

    def epoch_data(self, epoch, report):
        self.epochs.append(epoch)
        return _epoch(epoch, self.labelled).take(0 if self.empty else BATCHES)

    def export(self, model, target):
        self.exports.append(target)
        os.makedirs(target, exist_ok=True)
        return target


def _trainer(tmp_path, **settings):
    cfg = training.TrainConfig(batch_size=4, log_every_steps=1000, **settings)
    return training.Trainer(lambda: models.build_model("LogisticModel", SPEC), cfg,
                            checkpoint_dir=str(tmp_path / "ckpt"))


def _run(tmp_path, recorder, plan=None, **settings):
    trainer = _trainer(tmp_path, **settings)
    lines = []
    try:
        result = run.train_and_export(trainer, plan or recorder.plan(), lines.append)
    finally:
        trainer.close()
    return result, lines


def test_epochs_of_one_dataset_each_then_one_export_at_the_last_step(tmp_path):
    rec = Recorder(tmp_path)
    result, lines = _run(tmp_path, rec, num_epochs=3)
    assert rec.epochs == [1, 2, 3]
    assert result.global_step == 3 * BATCHES and result.examples == 3 * 4 * BATCHES
    assert rec.exports == [str(tmp_path / f"export_{3 * BATCHES}")]
    progress = json.loads((tmp_path / "ckpt" / run.PROGRESS_FILE).read_text())
    assert progress == {"epochs_done": 3, "num_epochs": 3, "global_step": 3 * BATCHES}
    assert lines[0] == "starting global step 0: LogisticModel on 1 files, batch 4, 3 epochs"
    assert "epoch 2/3 done: global step 6, loss" in "\n".join(lines)
    assert lines[-1].startswith(f"done at global step {3 * BATCHES}: 36 examples")


def test_a_resumed_run_trains_only_the_missing_epochs(tmp_path):
    first = Recorder(tmp_path)
    _run(tmp_path, first, num_epochs=2)
    again = Recorder(tmp_path)
    result, lines = _run(tmp_path, again, num_epochs=4)
    assert again.epochs == [3, 4] and result.global_step == 4 * BATCHES
    assert lines[0].startswith(f"resuming from global step {2 * BATCHES}:")
    done = Recorder(tmp_path)
    result, lines = _run(tmp_path, done, num_epochs=4)
    assert done.epochs == [] and result.global_step == 4 * BATCHES  # nothing left: exported as is
    assert "4 of --num_epochs 4 epochs already trained; nothing to train" in lines[1]
    assert done.exports[0] == str(tmp_path / f"export_{4 * BATCHES}")


def test_an_epoch_cut_by_max_steps_is_not_done(tmp_path):
    """max_steps inside epoch 2: progress.json keeps 1 epoch done, so a resumed run with a
    higher limit trains epoch 2 again from its start (global step continues from the checkpoint)."""
    rec = Recorder(tmp_path)
    result, _ = _run(tmp_path, rec, num_epochs=3, max_steps=BATCHES + 1)
    assert rec.epochs == [1, 2] and result.global_step == BATCHES + 1
    assert json.loads((tmp_path / "ckpt" / run.PROGRESS_FILE).read_text())["epochs_done"] == 1
    again = Recorder(tmp_path)
    result, _ = _run(tmp_path, again, num_epochs=3)
    assert again.epochs == [2, 3] and result.global_step == 3 * BATCHES + 1


def test_a_new_run_is_initialised_and_a_resumed_one_is_not(tmp_path):
    rec = Recorder(tmp_path)
    started = []

    def initialise(model):
        started.append(model.count_params())
        return "initialised from elsewhere"

    _, lines = _run(tmp_path, rec, rec.plan(initialise=initialise), num_epochs=1)
    assert started and lines[0] == "initialised from elsewhere"
    _, lines = _run(tmp_path, rec, rec.plan(initialise=initialise), num_epochs=2)
    assert len(started) == 1
    assert lines[0] == "resuming at global step 3: `start_from` applies to a new run only"


@pytest.mark.parametrize("recorder, segments, message", [
    (dict(empty=True), False, "no training records in 1 files (a.tfrecord ...): empty split?"),
    (dict(empty=True), True, "no rated segments in 1 files (a.tfrecord ...): segment training"),
    (dict(labelled=False), False, "none of the 12 training videos in 1 files (a.tfrecord ...) "
                                  "has a label"),
])
def test_no_records_or_no_labels_export_nothing(tmp_path, recorder, segments, message):
    rec = Recorder(tmp_path, **recorder)
    with pytest.raises(DataError, match=re.escape(message)):
        _run(tmp_path, rec, rec.plan(segments=segments), num_epochs=1)
    assert rec.exports == []


def test_a_custom_fit_chooses_the_exported_step(tmp_path):
    """Plan.fit (the CLI's validation mode) returns the step whose weights are exported."""
    rec = Recorder(tmp_path)

    def fit(trainer, plan, log, report):
        result = trainer.fit(plan.epoch_data(1, report), log=log)
        return result, 1

    result, _ = _run(tmp_path, rec, rec.plan(fit=fit), num_epochs=5)
    assert rec.epochs == [1] and result.global_step == BATCHES
    assert rec.exports[0] == str(tmp_path / "export_1")
