"""Own videos end to end: `yt8m extract-features` and `yt8m convert-mediapipe` output goes
through `yt8m pipeline run` and through `yt8m train` / `yt8m inference` (with label names);
fine-tuning on an own label set with `--start_from` and `--num_classes`; and 2017 records
(`video_id`) through the pipeline."""
import csv
import glob
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from pipeline import local_runner
from pipeline.config import PipelineConfig
from tests.trainer_module.ingest import media
from tests.trainer_module.ingest.test_mediapipe import mediapipe_example
from trainer_module import log_filters
from trainer_module.data import synthetic as synthetic_data
from yt8m_cli.main import main

pytestmark = pytest.mark.e2e
SPLITS = {"train": 10, "validate": 4, "test": 4}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """18 short videos of two looks (labels 3 and 7), extracted into train/validate/test."""
    base = tmp_path_factory.mktemp("own_videos")
    graph = media.tiny_inception_graph(str(base / "classify_image_graph_def.pb"))
    pca = media.random_pca(str(base / "pca"))
    out = base / "features"
    n = 0
    for split, count in SPLITS.items():
        folder = base / "videos" / split
        folder.mkdir(parents=True)
        labels = ["video,labels"]
        for _ in range(count):
            media.write_video(str(folder / f"clip{n:02d}.mp4"), 2.0 + n % 3, pattern=n % 2)
            labels.append(f"clip{n:02d}.mp4,{'label three' if n % 2 else 'label seven'}")
            n += 1
        (base / f"{split}.csv").write_text("\n".join(labels) + "\n")
    vocab = base / "vocabulary.csv"
    vocab.write_text("Index,TrainVideoCount,Name\n" +
                     "".join(f"{i},{10 + i},label {w}\n" for i, w in ((3, "three"), (7, "seven"))))
    for split in SPLITS:
        labelled = ["--labels_csv", str(base / f"{split}.csv"), "--vocabulary", str(vocab)] \
            if split != "test" else []
        assert main(["extract-features", "--videos", str(base / "videos" / split), "--output_dir",
                     str(out), "--inception_weights", graph, "--pca_dir", pca, "--prefix", split,
                     "--no_progress", *labelled]) == 0
    return base, out, vocab


def test_pipeline_runs_on_extracted_and_converted_records(extracted, tmp_path):
    """train/validate from extract-features, test from convert-mediapipe, in one pipeline run,
    started as a user starts it: no warning line in its output (trainer_module/log_filters.py
    drops the known-harmless ones)."""
    base, out, _ = extracted
    data = tmp_path / "data"
    for level in ("frame", "video"):
        (data / level).mkdir(parents=True)
        for shard in glob.glob(str(out / level / "*.tfrecord")):
            if not os.path.basename(shard).startswith("test"):
                shutil.copy(shard, data / level)
    rng = np.random.default_rng(2)
    for i in range(3):
        (tmp_path / f"mp{i}.pb").write_bytes(mediapipe_example(
            rng.normal(0, 1, (5, 1024)), rng.normal(0, 1, (5, 128)), data_path=f"/v/mp{i}.mp4"))
    converted = tmp_path / "converted"  # its own folder: a command fills no folder it did not
    assert main(["convert-mediapipe", "--inputs", str(tmp_path / "mp*.pb"), "--output_dir",
                 str(converted), "--prefix", "test"]) == 0
    for level in ("frame", "video"):
        for shard in glob.glob(str(converted / level / "test*.tfrecord")):
            shutil.copy(shard, data / level)
    # As a user runs it (a `yt8m` process): its output shows no warning but the project's own.
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL",
                                                             log_filters.VERBOSE_ENV)}
    proc = subprocess.run(
        [sys.executable, "-m", "yt8m_cli.main", "pipeline", "run", "--data_dir", str(data),
         "--pipeline_root", str(base / "root"), "--frame_features", "--batch_size", "4",
         "--num_epochs", "2", "--max_frames", "20", "--model", "FrameLevelLogisticModel"],
        capture_output=True, text=True, env=env, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    warned = [line for line in (proc.stdout + proc.stderr).splitlines()
              if re.search(r"warn|deprecat", line, re.I)]
    assert warned == [], "\n".join(warned)
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["blessed"]
    csv_path = next(line.split(": ", 1)[1].rsplit(" (", 1)[0]
                    for line in proc.stdout.splitlines() if line.startswith("Kaggle CSV: "))
    rows = list(csv.reader(open(csv_path)))[1:]
    assert sorted(r[0] for r in rows) == ["mp0", "mp1", "mp2"]


def test_train_and_predict_with_label_names(extracted, tmp_path):
    base, out, vocab = extracted
    train_dir = str(tmp_path / "train")
    assert main(["train", "--train_data_pattern", str(out / "frame" / "train*"), "--train_dir",
                 train_dir, "--frame_features", "--model", "FrameLevelLogisticModel",
                 "--num_epochs", "2", "--batch_size", "4", "--no_metagraph"]) == 0
    named = tmp_path / "named.csv"
    assert main(["inference", "--train_dir", train_dir, "--input_data_pattern",
                 str(out / "frame" / "test*"), "--output_file", str(tmp_path / "p.csv"),
                 "--top_k", "2", "--vocabulary", str(vocab), "--named_output_file",
                 str(named)]) == 0
    rows = list(csv.DictReader(open(named)))
    assert len(rows) == 8 and {r["VideoId"] for r in rows} == {f"clip{n}" for n in range(14, 18)}
    # the two labels trained on rank first, with their names
    assert {(r["LabelId"], r["LabelName"]) for r in rows} == {("3", "label three"),
                                                             ("7", "label seven")}


def test_mediapipe_output_through_inference(extracted, tmp_path):
    """Video-level model trained on extracted means predicts on converted MediaPipe records."""
    base, out, _ = extracted
    rng = np.random.default_rng(1)
    for i in range(3):
        (tmp_path / f"mp{i}.pb").write_bytes(mediapipe_example(
            rng.normal(0, 1, (4, 1024)), rng.normal(0, 1, (4, 128)), data_path=f"/v/mp{i}.mp4"))
    assert main(["convert-mediapipe", "--inputs", str(tmp_path / "*.pb"), "--output_dir",
                 str(tmp_path / "conv"), "--prefix", "test"]) == 0
    train_dir = str(tmp_path / "train")
    assert main(["train", "--train_data_pattern", str(out / "video" / "train*"), "--train_dir",
                 train_dir, "--model", "LogisticModel", "--num_epochs", "1", "--batch_size", "4",
                 "--no_metagraph"]) == 0
    assert main(["inference", "--train_dir", train_dir, "--input_data_pattern",
                 str(tmp_path / "conv" / "video" / "test*"), "--output_file",
                 str(tmp_path / "p.csv")]) == 0
    assert sorted(r[0] for r in list(csv.reader(open(tmp_path / "p.csv")))[1:]) == [
        "mp0", "mp1", "mp2"]


def test_fine_tune_on_an_own_label_set(tiny_data, tmp_path, capsys):
    """A YouTube-8M model (3862 classes) fine-tuned on data with 5 classes: every weight but the
    classifier's comes from it; eval and inference work in the new label space."""
    source = str(tmp_path / "source")
    hp = ["--dnn_hidden_size", "32", "--min_steps", "0"]
    assert main(["train", "--train_data_pattern", os.path.join(tiny_data, "video", "train*"),
                 "--train_dir", source, "--num_epochs", "1", "--batch_size", "16",
                 "--no_metagraph", *hp]) == 0
    tgz = str(tmp_path / "source.tgz")
    assert main(["inference", "--train_dir", source, "--output_model_tgz", tgz]) == 0
    own = str(tmp_path / "own")
    synthetic_data.generate(synthetic_data.GeneratorConfig(
        output_dir=own, num_videos=80, num_shards=1, seed=4, label_classes=5), progress=False)
    capsys.readouterr()
    tuned = str(tmp_path / "tuned")
    assert main(["train", "--train_data_pattern", os.path.join(own, "video", "train*"),
                 "--train_dir", tuned, "--num_epochs", "1", "--batch_size", "16",
                 "--no_metagraph", "--start_from", tgz, "--num_classes", "5", *hp]) == 0
    assert "classifier for 5 classes (was 3862) starts fresh" in capsys.readouterr().out
    assert main(["eval", "--train_dir", tuned, "--eval_data_pattern",
                 os.path.join(own, "video", "validate*"), "--run_once"]) == 0
    assert "num_classes: 5" in capsys.readouterr().out
    assert main(["inference", "--train_dir", tuned, "--input_data_pattern",
                 os.path.join(own, "video", "test*"), "--output_file",
                 str(tmp_path / "p.csv")]) == 0
    labels = {int(t) for _, pairs in list(csv.reader(open(tmp_path / "p.csv")))[1:]
              for t in pairs.split()[0::2]}
    assert labels == set(range(5))
    # Another architecture is refused by name.
    assert main(["train", "--train_data_pattern", os.path.join(own, "video", "train*"),
                 "--train_dir", str(tmp_path / "other"), "--model", "MoeModel",
                 "--start_from", source, "--num_classes", "5"]) == 2
    assert "is another model (model: 'GatedDnnModel' there, 'MoeModel' here)" in \
        capsys.readouterr().err
    # A float16 archive's weights are frozen constants: refused by name, not mis-read.
    half = str(tmp_path / "half.tgz")
    assert main(["inference", "--train_dir", source, "--output_model_tgz", half,
                 "--float16_weights"]) == 0
    capsys.readouterr()
    assert main(["train", "--train_data_pattern", os.path.join(own, "video", "train*"),
                 "--train_dir", str(tmp_path / "from_half"), "--start_from", half,
                 "--num_classes", "5", *hp]) == 2
    assert f"--start_from {half}: a float16 export" in capsys.readouterr().err


def test_pipeline_runs_on_2017_records(tmp_path):
    data = tmp_path / "data"
    synthetic_data.generate(synthetic_data.GeneratorConfig(
        output_dir=str(data / "2018"), num_videos=90, num_shards=1, seed=3, signal=2.0),
        progress=False)
    (data / "video").mkdir()
    for shard in glob.glob(str(data / "2018" / "video" / "*.tfrecord")):
        with tf.io.TFRecordWriter(str(data / "video" / os.path.basename(shard))) as writer:
            for raw in tf.data.TFRecordDataset(shard):
                record = tf.train.Example.FromString(raw.numpy())
                record.features.feature["video_id"].CopyFrom(record.features.feature["id"])
                del record.features.feature["id"]
                writer.write(record.SerializeToString())
    config = PipelineConfig.of(data_dir=str(data), pipeline_root=str(tmp_path / "root"),
                            batch_size=16, num_epochs=2, gap_threshold=0.0, min_steps=0,
                            hparams={"dnn_hidden_size": 32})
    result = local_runner.run(config)
    ids = [r[0] for r in list(csv.reader(open(result["csv"])))[1:]]
    assert len(ids) == result["csv_rows"] > 0 and "" not in ids
