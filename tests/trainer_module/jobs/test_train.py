"""jobs/train.py on its own: the job's settings checked by field, what its Plan hands the shared
training run (train/run.py: batches seeded by epoch, segments as (x, y, w), the export folder
of a step, a new run's initialisation), a train_dir prepared and cleared, one `yt8m train` per
train_dir."""
import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from trainer_module import models
from trainer_module.data import synthetic as synthetic_data
from trainer_module.jobs import train as train_job
from trainer_module.train import loop as training
from trainer_module.train import model_flags as MF
from trainer_module.train import run


def _job(tmp_path, frame=False, **changes):
    model = "FrameLevelLogisticModel" if frame else "LogisticModel"
    settings = dict(train_data_pattern="x*", train_dir=str(tmp_path / "t"),
                    flags=MF.ModelFlags.resolve(model, frame, max_frames=20,
                                                segment_labels=changes.pop("segments", False)),
                    train=training.TrainConfig(batch_size=8, **changes.pop("train", {})))
    return train_job.TrainJob(**{**settings, **changes})


@pytest.mark.parametrize("changes, said", [
    (dict(train={"ema_decay": 0.9}, validation_data_pattern="v*"),
     "`ema_decay` with `validation_data_pattern` is not supported"),
    (dict(max_model_size_mb=0), "`max_model_size_mb` must be > 0, got 0"),
    (dict(early_stopping_patience=2), "`early_stopping_patience` needs `validation_data_pattern`"),
    (dict(early_stopping_patience=-1), "`early_stopping_patience` must be >= 0"),
    (dict(segments=True, frame=True, validation_data_pattern="v*"),
     "`validation_data_pattern` selects an epoch by video-level GAP"),
    (dict(segments=True, frame=True, train={"min_steps": 10}), "`min_steps` counts videos"),
])
def test_a_job_refuses_settings_that_do_not_go_together(tmp_path, changes, said):
    with pytest.raises(ValueError) as e:
        _job(tmp_path, **changes)
    assert said in str(e.value)


def test_a_job_is_built_by_keyword_only(tmp_path):
    job = _job(tmp_path)
    with pytest.raises(TypeError):
        train_job.TrainJob(job.train_data_pattern, job.train_dir, job.flags, job.train)


@pytest.fixture(scope="module")
def segment_data(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("segments"))
    synthetic_data.generate(synthetic_data.GeneratorConfig(
        output_dir=out, num_videos=24, frame_level=True, segments=True, num_shards=1, seed=3,
        min_frames=10, max_frames=20), progress=False)
    return out


def _ids(dataset) -> list:
    """The batches' first feature values, to compare orders."""
    return [float(x["features"].numpy().ravel()[0]) for x, *_ in dataset]


def test_the_plan_reads_one_epoch_a_dataset_seeded_by_epoch(tmp_path, tiny_data):
    files = sorted(glob.glob(os.path.join(tiny_data, "video", "train*.tfrecord")))
    job = _job(tmp_path)
    plan = train_job.plan(job, job.train, files)
    assert plan.files == files and plan.model_name == "LogisticModel" and not plan.segments
    first, again, second = (_ids(plan.epoch_data(e, None)) for e in (1, 1, 2))
    assert first == again  # an epoch's order is reproducible (a resumed epoch reads the same)
    assert first != second  # another epoch, another order
    batches = list(plan.epoch_data(1, None))
    assert sum(int(y.shape[0]) for _, y in batches) == sum(
        1 for _ in tf.data.TFRecordDataset(files))  # every training video once
    assert plan.export_dir(7) == os.path.join(job.train_dir, "export", "step_00000007")
    assert plan.initialise is None and plan.fit is None


def test_a_segment_plan_reads_rated_segments_with_weights(tmp_path, segment_data):
    files = sorted(glob.glob(os.path.join(segment_data, "frame", "train*.tfrecord")))
    job = _job(tmp_path, frame=True, segments=True)
    plan = train_job.plan(job, job.train, files)
    x, y, w = next(iter(plan.epoch_data(1, None)))
    assert plan.segments and x["features"].shape[1:] == (5, 1152)
    assert np.all((w.numpy() == 0) | (w.numpy() == 1)) and w.numpy().sum() > 0
    assert np.all(y.numpy()[w.numpy() == 0] == 0)  # scores only where rated


def test_a_start_from_job_initialises_a_new_run(tmp_path, tiny_data):
    files = sorted(glob.glob(os.path.join(tiny_data, "video", "train*.tfrecord")))
    first = _job(tmp_path / "a", train={"num_epochs": 1, "min_steps": 0},
                 train_data_pattern=os.path.join(tiny_data, "video", "train*.tfrecord"),
                 export_metagraph=False)
    train_job.run(first, log=lambda _: None)
    job = _job(tmp_path / "b", start_from=first.train_dir)
    plan = train_job.plan(job, job.train, files)
    trainer = training.Trainer(
        lambda: models.build_model("LogisticModel", job.flags.feature_spec()), job.train,
        str(tmp_path / "ckpt"))
    try:
        line = plan.initialise(trainer.model)
    finally:
        trainer.close()
    assert first.train_dir in line


def test_start_new_model_clears_only_what_training_wrote(tmp_path):
    """progress.json (the shared run's resume state) goes with the checkpoints and exports; a
    file of the user's stays; a folder that is no train_dir is refused untouched."""
    job = _job(tmp_path)
    train_job.prepare_train_dir(job, log=lambda _: None)  # writes model_flags.json
    os.makedirs(os.path.join(job.train_dir, "export", "step_3"))
    for name in ("model.ckpt-3.index", "checkpoint", run.PROGRESS_FILE, "notes.txt"):
        open(os.path.join(job.train_dir, name), "w").close()
    lines = []
    train_job.prepare_train_dir(_job(tmp_path, start_new_model=True), log=lines.append)
    assert sorted(os.listdir(job.train_dir)) == ["model_flags.json", "notes.txt"]
    assert lines == [f"--start_new_model: removed 5 entries that training wrote in {job.train_dir}"]
    foreign = tmp_path / "other"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a train_dir written by `yt8m train`"):
        train_job.prepare_train_dir(_job(tmp_path, start_new_model=True,
                                         train_dir=str(foreign)), log=lambda _: None)
    assert os.listdir(foreign) == ["keep.txt"]
