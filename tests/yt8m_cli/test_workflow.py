"""The seed's loop through the CLI: train -> resume -> eval -> inference -> .tgz -> MetaGraph."""
import csv
import glob
import io
import json
import os
import tarfile
import tempfile

import numpy as np
import pytest
import tensorflow as tf

from trainer_module.data import features as F
from trainer_module.evaluation import metrics as M
from yt8m_cli.main import main

TRAIN_ARGS = ["--model", "MoeModel", "--batch_size", "16", "--num_epochs", "1",
              "--log_every_steps", "1", "--export_model_steps", "1"]


@pytest.fixture(scope="module")
def trained(tiny_data, tmp_path_factory):
    train_dir = str(tmp_path_factory.mktemp("cli") / "train_dir")
    pattern = os.path.join(tiny_data, "video", "train*.tfrecord")
    assert main(["train", "--train_data_pattern", pattern, "--train_dir", train_dir,
                 "--max_steps", "2", *TRAIN_ARGS]) == 0
    return tiny_data, train_dir, pattern


def _step(train_dir):
    return int(tf.train.latest_checkpoint(train_dir).rsplit("-", 1)[1])


def test_train_writes_flags_checkpoints_summaries(trained):
    _, train_dir, _ = trained
    flags = json.load(open(os.path.join(train_dir, "model_flags.json")))
    assert flags["model"] == "MoeModel" and flags["feature_names"] == "mean_rgb,mean_audio"
    assert flags["frame_features"] is False and flags["feature_sizes"] == "1024,128"
    assert _step(train_dir) == 2
    assert len(glob.glob(os.path.join(train_dir, "train", "events.out.tfevents.*"))) == 1


def test_resume_continues_global_step_and_refuses_other_flags(trained, capsys):
    _, train_dir, pattern = trained
    assert main(["train", "--train_data_pattern", pattern, "--train_dir", train_dir,
                 "--max_steps", "4", *TRAIN_ARGS]) == 0
    assert "resuming from global step 2" in capsys.readouterr().out
    assert _step(train_dir) == 4
    rc = main(["train", "--train_data_pattern", pattern, "--train_dir", train_dir,
               "--max_steps", "5", *TRAIN_ARGS, "--moe_num_mixtures", "4"])
    err = capsys.readouterr().err
    assert rc == 2 and "--start_new_model" in err and "moe_num_mixtures" in err


def test_eval_matches_metrics_module(trained, tmp_path, capsys):
    data, train_dir, _ = trained
    preds_file = str(tmp_path / "preds.npz")
    assert main(["eval", "--eval_data_pattern", os.path.join(data, "video", "validate*"),
                 "--train_dir", train_dir, "--run_once", "--save_predictions", preds_file]) == 0
    assert "| GAP:" in capsys.readouterr().out
    saved = np.load(preds_file)
    assert len(saved["ids"]) == 9
    reported = json.load(open(os.path.join(train_dir, "eval", "metrics.json")))
    assert reported["gap"] == pytest.approx(M.gap(saved["predictions"], saved["labels"], 20), abs=1e-9)
    assert reported["hit_at_one"] == pytest.approx(M.hit_at_one(saved["predictions"], saved["labels"]))


def test_inference_csv_tgz_and_metagraph(trained, tmp_path, monkeypatch):
    data, train_dir, _ = trained
    test_pattern = os.path.join(data, "video", "test*")
    out1, tgz = str(tmp_path / "a.csv"), str(tmp_path / "model.tgz")
    assert main(["inference", "--input_data_pattern", test_pattern, "--train_dir", train_dir,
                 "--output_file", out1, "--output_model_tgz", tgz, "--top_k", "20"]) == 0
    rows = list(csv.reader(open(out1)))
    assert rows[0] == ["VideoId", "LabelConfidencePairs"]
    assert len(rows) == 1 + 9  # one row per test video
    for vid, pairs in rows[1:]:
        assert len(vid) == 4
        tokens = pairs.split(" ")
        classes, scores = [int(t) for t in tokens[::2]], [float(t) for t in tokens[1::2]]
        assert len(classes) == 20 and all(0 <= c < F.NUM_CLASSES for c in classes)
        assert scores == sorted(scores, reverse=True)
    names = tarfile.open(tgz).getnames()
    for required in ("model_flags.json", "inference_model.meta", "inference_model.index",
                     "inference_model.data-00000-of-00001", "saved_model/saved_model.pb"):
        assert required in names
    out2 = str(tmp_path / "b.csv")
    assert main(["inference", "--input_data_pattern", test_pattern, "--input_model_tgz", tgz,
                 "--untar_model_dir", str(tmp_path / "untar"), "--output_file", out2]) == 0
    assert open(out1).read() == open(out2).read()
    # Without --untar_model_dir the archive is unpacked into a temporary folder, removed after.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    assert main(["inference", "--input_data_pattern", test_pattern, "--input_model_tgz", tgz,
                 "--output_file", str(tmp_path / "c.csv")]) == 0
    assert open(tmp_path / "c.csv").read() == open(out1).read() and os.listdir(scratch) == []

    # The MetaGraph gives the SavedModel's predictions.
    serialized = tf.constant([r.numpy() for r in tf.data.TFRecordDataset(
        sorted(glob.glob(test_pattern)))])
    saved = tf.saved_model.load(str(tmp_path / "untar" / "saved_model")).signatures["serving_default"]
    expected = saved(examples=serialized)["predictions"].numpy()
    got, _ = _metagraph_predictions(str(tmp_path / "untar"), serialized)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def _metagraph_predictions(model_dir: str, serialized):
    """Predictions of the Kaggle MetaGraph in model_dir on video-level records, and the dtypes
    of its stored variables."""
    from trainer_module.data import parsing

    inputs = parsing.parse_batch(serialized, F.FeatureSpec.default(), with_labels=False)
    with tf.Graph().as_default() as graph, tf.compat.v1.Session() as sess:
        saver = tf.compat.v1.train.import_meta_graph(os.path.join(model_dir, "inference_model.meta"))
        saver.restore(sess, os.path.join(model_dir, "inference_model"))
        stored = {v.dtype.base_dtype for v in graph.get_collection("variables")}
        got = sess.run(graph.get_collection("predictions")[0],
                       {graph.get_collection("input_batch_raw")[0]: inputs[F.FEATURES].numpy(),
                        graph.get_collection("num_frames")[0]: inputs[F.NUM_FRAMES].numpy()})
    return got, stored


def test_traversal_member_in_tgz_is_refused(tmp_path, capsys):
    bad = tmp_path / "bad.tgz"
    with tarfile.open(bad, "w:gz") as tar:
        payload = b"{}"
        info = tarfile.TarInfo("../escaped.json")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    rc = main(["inference", "--input_model_tgz", str(bad), "--untar_model_dir",
               str(tmp_path / "dest"), "--output_file", str(tmp_path / "o.csv"),
               "--input_data_pattern", "x"])
    assert rc == 2 and "'..'" in capsys.readouterr().err
    assert not (tmp_path / "escaped.json").exists() and not (tmp_path / "o.csv").exists()


def test_unknown_model_and_level_mismatch(tiny_data, tmp_path, capsys):
    pattern = os.path.join(tiny_data, "video", "train*")
    assert main(["train", "--train_data_pattern", pattern, "--train_dir", str(tmp_path / "a"),
                 "--model", "Nope"]) == 2
    assert "unknown model 'Nope'" in capsys.readouterr().err
    assert main(["train", "--train_data_pattern", pattern, "--train_dir", str(tmp_path / "b"),
                 "--model", "DbofModel"]) == 2
    assert "needs frame-level data" in capsys.readouterr().err
    assert main(["train", "--train_data_pattern", str(tmp_path / "none*"), "--train_dir",
                 str(tmp_path / "c"), "--model", "LogisticModel"]) == 2
    assert "--train_data_pattern: no files match" in capsys.readouterr().err


def test_validation_selects_best_epoch_and_resumes(tiny_data, tmp_path, capsys):
    """--validation_data_pattern: GAP per epoch, best weights exported, resume continues epochs."""
    train_dir = str(tmp_path / "val_dir")
    args = ["train", "--train_data_pattern", os.path.join(tiny_data, "video", "train*"),
            "--validation_data_pattern", os.path.join(tiny_data, "video", "validate*"),
            "--train_dir", train_dir, "--model", "LogisticModel", "--batch_size", "8",
            "--log_every_steps", "100", "--no_metagraph"]
    assert main([*args, "--num_epochs", "2"]) == 0
    state = json.load(open(os.path.join(train_dir, "validation.json")))
    assert state["epochs_done"] == 2 and len(state["history"]) == 2
    best = max(state["history"], key=lambda h: h["gap"])
    assert (state["best_epoch"], state["best_gap"]) == (best["epoch"], best["gap"])
    export = os.path.join(train_dir, "export", f"step_{state['best_step']:08d}")
    assert os.path.exists(os.path.join(export, "model_flags.json"))
    capsys.readouterr()
    assert main([*args, "--num_epochs", "3"]) == 0
    out = capsys.readouterr().out
    assert "epoch 3: validation GAP" in out and "epoch 1:" not in out
    state = json.load(open(os.path.join(train_dir, "validation.json")))
    assert [h["epoch"] for h in state["history"]] == [1, 2, 3]
    assert main([*args[:-1], "--num_epochs", "4", "--early_stopping_patience", "-1"]) == 2
    assert "--early_stopping_patience must be >= 0" in capsys.readouterr().err


def test_float16_tgz_halves_the_weights_and_predicts_like_float32(trained, tmp_path):
    data, train_dir, _ = trained
    test_pattern = os.path.join(data, "video", "test*")
    full, half = str(tmp_path / "full.tgz"), str(tmp_path / "half.tgz")
    assert main(["inference", "--train_dir", train_dir, "--output_model_tgz", full]) == 0
    assert main(["inference", "--train_dir", train_dir, "--output_model_tgz", half,
                 "--float16_weights"]) == 0
    assert os.path.getsize(half) < 0.6 * os.path.getsize(full)
    for tgz in (full, half):
        assert main(["inference", "--input_model_tgz", tgz, "--untar_model_dir",
                     tgz[:-len(".tgz")], "--output_file", tgz + ".csv",
                     "--input_data_pattern", test_pattern]) == 0
    serialized = tf.constant([r.numpy() for r in tf.data.TFRecordDataset(
        sorted(glob.glob(test_pattern)))])
    preds = {}
    for name in ("full", "half"):
        folder = str(tmp_path / name)
        serve = tf.saved_model.load(os.path.join(folder, "saved_model")).signatures["serving_default"]
        out = serve(examples=serialized)
        preds[name] = out["predictions"].numpy()
        assert sorted(out) == ["predictions", "top_k_classes", "top_k_scores", "video_id"]
        got, stored = _metagraph_predictions(folder, serialized)
        assert stored == ({tf.float16} if name == "half" else {tf.float32})
        np.testing.assert_allclose(got, preds[name], atol=1e-5)  # MetaGraph == SavedModel
    # float16 keeps ~3 significant digits of each weight: predictions move by far less than 1e-2
    np.testing.assert_allclose(preds["half"], preds["full"], atol=2e-3)
    assert np.abs(preds["half"] - preds["full"]).max() > 0  # the weights did change
    rows = [open(t + ".csv").read().splitlines() for t in (full, half)]
    assert [r.split(",")[0] for r in rows[0]] == [r.split(",")[0] for r in rows[1]]
