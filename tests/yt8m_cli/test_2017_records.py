"""Records of the 2017 dataset name the video id ``video_id`` (2018: ``id``): every reader
accepts both, and the CSV carries the id either way."""
import csv
import glob
import os

import pytest
import tensorflow as tf

from yt8m_cli.main import main


def _as_2017(src: str, dst: str) -> None:
    """Copies a shard with each record's ``id`` renamed ``video_id``."""
    with tf.io.TFRecordWriter(dst) as writer:
        for raw in tf.data.TFRecordDataset(src):
            record = tf.train.SequenceExample.FromString(raw.numpy())  # context: field 1 of both
            context = record.context.feature
            context["video_id"].CopyFrom(context["id"])
            del context["id"]
            writer.write(record.SerializeToString())


def _ids(path: str) -> list:
    return [row[0] for row in list(csv.reader(open(path)))[1:]]


@pytest.mark.parametrize("level", ["video", "frame"])
def test_2017_records_train_evaluate_and_predict(tiny_data, tmp_path, level, capsys):
    frame = ["--frame_features", "--model", "FrameLevelLogisticModel"] if level == "frame" else [
        "--model", "LogisticModel"]
    shards = sorted(glob.glob(os.path.join(tiny_data, level, "validate*.tfrecord")))
    old = tmp_path / "2017"
    old.mkdir()
    for shard in shards:
        _as_2017(shard, str(old / os.path.basename(shard)))
    train_dir = str(tmp_path / "train")
    assert main(["train", "--train_data_pattern", str(old / "*"), "--train_dir", train_dir,
                 "--max_steps", "2", "--batch_size", "8", "--no_metagraph", *frame]) == 0
    assert main(["eval", "--eval_data_pattern", str(old / "*"), "--train_dir", train_dir,
                 "--run_once"]) == 0
    assert "Hit@1" in capsys.readouterr().out
    for name, pattern in (("2017.csv", str(old / "*")), ("2018.csv", ",".join(shards))):
        assert main(["inference", "--input_data_pattern", pattern, "--train_dir", train_dir,
                     "--output_file", str(tmp_path / name)]) == 0
    ids_2017, ids_2018 = _ids(tmp_path / "2017.csv"), _ids(tmp_path / "2018.csv")
    assert len(ids_2017) > 0 and "" not in ids_2017
    assert sorted(ids_2017) == sorted(ids_2018)  # the same videos under the 2017 key
