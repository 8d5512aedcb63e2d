"""Training options: mixed precision, EMA export, warm-up, size limit, ensembles."""
import glob
import re
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from trainer_module import models
from trainer_module.data import features as F
from trainer_module.data import input_pipeline
from trainer_module.data import parsing
from trainer_module.train import checkpoints
from trainer_module.train import loop as training
from trainer_module.train import model_flags as MF
from yt8m_cli.main import main

BASE = ["--batch_size", "8", "--log_every_steps", "1", "--no_metagraph"]


def _train(tiny_data, train_dir, *extra):
    return main(["train", "--train_data_pattern", os.path.join(tiny_data, "video", "train*"),
                 "--train_dir", str(train_dir), *BASE, *extra])


def _serve(export_dir, tiny_data):
    serve = tf.saved_model.load(os.path.join(export_dir, "saved_model")).signatures["serving_default"]
    records = [r.numpy() for r in tf.data.TFRecordDataset(
        sorted(glob.glob(os.path.join(tiny_data, "video", "validate*"))))]
    return serve(examples=tf.constant(records))["predictions"].numpy()


def test_mixed_precision_trains_and_exports_float32(tiny_data, tmp_path):
    assert _train(tiny_data, tmp_path / "t", "--model", "MoeModel", "--max_steps", "2",
                  "--mixed_precision") == 0
    export = glob.glob(str(tmp_path / "t" / "export" / "step_*"))[0]
    preds = _serve(export, tiny_data)
    assert preds.dtype == np.float32 and ((preds >= 0) & (preds <= 1)).all()
    assert tf.keras.mixed_precision.global_policy().name == "float32"  # nothing leaks


def test_ema_weights_are_what_gets_exported(tiny_data):
    spec = F.FeatureSpec.default()
    cfg = training.TrainConfig(batch_size=8, ema_decay=0.5, log_every_steps=100)
    trainer = training.Trainer(lambda: models.build_model("LogisticModel", spec), cfg,
                               checkpoint_dir=os.path.join(tiny_data, "..", "ema_ckpt"))
    ds = input_pipeline.make_dataset(input_pipeline.list_files(
        os.path.join(tiny_data, "video", "train*")), spec, 8, training=True, num_epochs=1)
    trainer.fit(ds.map(input_pipeline.split_inputs).take(4), log=lambda *_: None)
    raw = [v.numpy() for v in trainer.model.trainable_variables]
    averages = [v.numpy() for v in trainer.optimizer._model_variables_moving_average]
    assert trainer.use_averaged_weights()
    exported = [v.numpy() for v in trainer.model.trainable_variables]
    for e, a in zip(exported, averages):
        np.testing.assert_allclose(e, a)
    assert any(not np.allclose(a, r) for a, r in zip(averages, raw))


def test_eval_reads_the_averaged_weights_that_were_exported(tiny_data, tmp_path, capsys):
    train_dir = tmp_path / "t"
    assert _train(tiny_data, train_dir, "--model", "LogisticModel", "--max_steps", "6",
                  "--ema_decay", "0.5", "--base_learning_rate", "0.1") == 0
    flags, latest = MF.load(str(train_dir)), tf.train.latest_checkpoint(str(train_dir))
    records = [r.numpy() for r in tf.data.TFRecordDataset(
        sorted(glob.glob(os.path.join(tiny_data, "video", "validate*"))))]
    inputs = input_pipeline.split_inputs(
        parsing.parse_batch(tf.constant(records), flags.feature_spec()))[0]
    restored = checkpoints.restore_model(flags, latest)(inputs).numpy()
    raw = models.build_model(flags.model, flags.feature_spec(), flags.hparams)
    tf.train.Checkpoint(model=raw).read(latest).expect_partial()
    exported = _serve(glob.glob(str(train_dir / "export" / "step_*"))[0], tiny_data)
    np.testing.assert_allclose(restored, exported, atol=1e-6)
    assert np.abs(raw(inputs).numpy() - exported).max() > 1e-3  # the raw weights differ
    capsys.readouterr()
    assert main(["eval", "--eval_data_pattern", os.path.join(tiny_data, "video", "validate*"),
                 "--train_dir", str(train_dir), "--run_once"]) == 0
    assert "evaluating the moving average of the weights at step 6" in capsys.readouterr().out
    # training resumes from such a checkpoint with its averages
    assert _train(tiny_data, train_dir, "--model", "LogisticModel", "--max_steps", "8",
                  "--ema_decay", "0.5", "--base_learning_rate", "0.1") == 0


def test_warmup_schedule_ramps_linearly():
    base = training.tf_keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1000,
                                                                   decay_rate=1.0)
    warm = training.WarmUp(base, warmup_steps=10)
    values = [float(warm(step)) for step in (0, 4, 9, 50)]
    np.testing.assert_allclose(values, [0.01, 0.05, 0.1, 0.1], rtol=1e-6)
    assert float(base(0)) == pytest.approx(0.1)


def test_size_limit_fails_the_export_cleanly(tiny_data, tmp_path, capsys):
    assert _train(tiny_data, tmp_path / "t", "--model", "LogisticModel", "--max_steps", "1",
                  "--max_model_size_mb", "1") == 2
    err = capsys.readouterr().err
    assert "above --max_model_size_mb 1" in err and "4,452,886 parameters" in err
    assert not glob.glob(str(tmp_path / "t" / "export" / "*"))


def test_ensemble_predicts_the_mean_of_its_members(tiny_data, tmp_path):
    dirs = []
    for model in ("LogisticModel", "MoeModel"):
        assert _train(tiny_data, tmp_path / model, "--model", model, "--max_steps", "2") == 0
        dirs.append(str(tmp_path / model))
    out = tmp_path / "ensemble"
    assert main(["ensemble", "--train_dirs", ",".join(dirs), "--output_dir", str(out)]) == 0
    members = [_serve(glob.glob(os.path.join(d, "export", "step_*"))[0], tiny_data) for d in dirs]
    np.testing.assert_allclose(_serve(str(out), tiny_data), np.mean(members, axis=0), atol=1e-6)
    assert [m["model"] for m in json.load(open(out / "ensemble.json"))["members"]] == [
        "LogisticModel", "MoeModel"]
    assert main(["ensemble", "--train_dirs", dirs[0], "--output_dir", str(out)]) == 2


def test_same_seed_same_weights(tiny_data, tmp_path):
    """Initial weights (tf_keras draws their seeds from Python's generator), dropout and the
    shuffle all follow --seed: two trainings of the default model give identical weights."""
    weights = []
    for name in ("a", "b", "c"):
        seed = "1" if name == "c" else "0"
        assert _train(tiny_data, tmp_path / name, "--max_steps", "3", "--dnn_hidden_size", "16",
                      "--seed", seed) == 0
        reader = tf.train.load_checkpoint(str(tmp_path / name))
        weights.append({k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
                        if k.startswith("model/")})
    assert weights[0].keys() == weights[1].keys() and len(weights[0]) > 5
    for key in weights[0]:
        np.testing.assert_array_equal(weights[0][key], weights[1][key], err_msg=key)
    assert any(not np.array_equal(weights[0][k], weights[2][k]) for k in weights[0])


def test_a_short_run_logs_its_last_step_and_writes_tensorboard_scalars(tiny_data, tmp_path,
                                                                     capsys):
    """5 steps with --log_every_steps 100: the last step is still logged and summarized."""
    train_dir = tmp_path / "short"
    assert main(["train", "--train_data_pattern", os.path.join(tiny_data, "video", "train*"),
                 "--train_dir", str(train_dir), "--batch_size", "4", "--max_steps", "5",
                 "--log_every_steps", "100", "--no_metagraph", "--model", "LogisticModel"]) == 0
    out = capsys.readouterr().out
    assert "training on CPU (no GPU visible)" in out
    assert "training step 5 | Loss: " in out
    events = glob.glob(str(train_dir / "train" / "events.out.tfevents.*"))
    tags = {(v.tag, e.step) for path in events
            for e in tf.compat.v1.train.summary_iterator(path) for v in e.summary.value}
    assert {("loss", 5), ("gap", 5), ("learning_rate", 5)} <= tags


def test_epochs_are_logged_and_later_steps_show_progress_and_eta(tiny_data, tmp_path, capsys):
    assert main(["train", "--train_data_pattern", os.path.join(tiny_data, "video", "train*"),
                 "--train_dir", str(tmp_path / "e"), "--batch_size", "8", "--num_epochs", "2",
                 "--log_every_steps", "2", "--no_metagraph", "--model", "LogisticModel"]) == 0
    out = capsys.readouterr().out
    assert "epoch 1/2 done: global step" in out and "epoch 2/2 done: global step" in out
    first, second = out.split("epoch 1/2 done")
    assert "ETA" not in first  # the first epoch's length is not known yet
    end = int(re.search(r"epoch 2/2 done: global step (\d+)", second).group(1))
    assert re.search(rf"\| step {end}/{end} \(100%\), ETA 00s", second)
