"""Damaged and invalid input through the CLI: one-line errors naming the file, nothing partial."""
import json
import os
import shutil

import pytest

from trainer_module import models
from yt8m_cli.main import main


@pytest.fixture(scope="module")
def setup(tiny_data, tmp_path_factory):
    """A tiny trained train_dir and a folder of shards: one intact, one truncated, one corrupted."""
    base = tmp_path_factory.mktemp("bad_input")
    train_dir = str(base / "train_dir")
    assert main(["train", "--train_data_pattern", os.path.join(tiny_data, "video", "train*"),
                 "--train_dir", train_dir, "--model", "LogisticModel", "--max_steps", "2",
                 "--batch_size", "8", "--no_metagraph"]) == 0
    shards = base / "shards"
    shards.mkdir()
    good = os.path.join(tiny_data, "video", "validate0000.tfrecord")
    shutil.copy(good, shards / "a_good.tfrecord")
    # the damaged ones from other shards: one video is in one shard once (`inference` refuses
    # a video id seen twice)
    data = open(os.path.join(tiny_data, "video", "train0000.tfrecord"), "rb").read()
    (shards / "b_truncated.tfrecord").write_bytes(data[:-50])  # last record cut short
    corrupted = bytearray(open(os.path.join(tiny_data, "video", "train0001.tfrecord"),
                               "rb").read())
    corrupted[len(corrupted) // 2] ^= 0xFF  # a flipped byte inside a record: CRC mismatch
    (shards / "c_corrupted.tfrecord").write_bytes(bytes(corrupted))
    return train_dir, shards, good


def _records(path):
    import tensorflow as tf
    return sum(1 for _ in tf.data.TFRecordDataset(path))


def test_eval_names_the_damaged_file_and_record(setup, capsys):
    train_dir, shards, _ = setup
    rc = main(["eval", "--eval_data_pattern", str(shards / "*"), "--train_dir", train_dir,
               "--run_once"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "b_truncated.tfrecord: record" in err[0] and "--skip_corrupt_records" in err[0]
    assert not os.path.exists(os.path.join(train_dir, "eval", "metrics.json"))


def test_inference_stops_without_a_partial_csv_or_skips_and_reports(setup, tmp_path, capsys):
    train_dir, shards, good = setup
    out = tmp_path / "p.csv"
    args = ["inference", "--input_data_pattern", str(shards / "*"), "--train_dir", train_dir,
            "--output_file", str(out)]
    assert main(args) == 2
    assert "b_truncated.tfrecord: record" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".p.csv.*"))  # no partial output
    assert main([*args, "--skip_corrupt_records"]) == 0
    printed = capsys.readouterr().out
    rows = open(out).read().splitlines()[1:]
    n, truncated = _records(good), _records(os.path.join(os.path.dirname(good),
                                                         "train0000.tfrecord"))
    corrupted = _records(os.path.join(os.path.dirname(good), "train0001.tfrecord"))
    # the good file + the readable prefixes of the others
    assert n + truncated - 1 <= len(rows) < n + truncated - 1 + corrupted
    assert f"read {len(rows)} videos from 3 files; skipped the rest of 2 damaged files" in printed
    assert "skipped after record" in printed and "c_corrupted.tfrecord: corrupted record" in printed


def test_train_names_the_damaged_file(setup, tmp_path, capsys):
    _, shards, _ = setup
    rc = main(["train", "--train_data_pattern", str(shards / "*"), "--train_dir",
               str(tmp_path / "t"), "--model", "LogisticModel", "--batch_size", "4",
               "--no_metagraph"])
    assert rc == 2 and "tfrecord: record" in capsys.readouterr().err


def _write_examples(path, examples):
    import tensorflow as tf
    with tf.io.TFRecordWriter(str(path)) as writer:
        for ex in examples:
            writer.write(ex.SerializeToString())
    return str(path)


def _video_example(vid=b"abcd", labels=(1,), rgb=1024):
    import tensorflow as tf
    ex = tf.train.Example()
    ex.features.feature["id"].bytes_list.value.append(vid)
    ex.features.feature["labels"].int64_list.value.extend(labels)
    ex.features.feature["mean_rgb"].float_list.value.extend([0.1] * rgb)
    ex.features.feature["mean_audio"].float_list.value.extend([0.1] * 128)
    return ex


@pytest.mark.parametrize("example, needle", [
    (_video_example(rgb=512), "Values size: 512 but output shape: [1024]"),
    (_video_example(labels=(1, 3862)), "labels: label id 3862 is outside [0, 3862)"),
    (_video_example(labels=(-4,)), "labels: label id -4 is outside [0, 3862)"),
])
def test_bad_records_are_named_by_file_and_record(setup, tmp_path, capsys, example, needle):
    train_dir, _, good = setup
    bad = _write_examples(tmp_path / "bad.tfrecord", [_video_example(), _video_example(), example])
    for args in (["train", "--train_data_pattern", bad, "--train_dir", str(tmp_path / "t"),
                  "--model", "LogisticModel", "--no_metagraph"],
                 ["eval", "--eval_data_pattern", f"{good},{bad}", "--train_dir", train_dir,
                  "--run_once"]):
        assert main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"{bad}: record 2: " in err[0] and needle in err[0], err


def test_frame_bytes_of_wrong_length(tiny_data, tmp_path, capsys):
    import tensorflow as tf
    ex = tf.train.SequenceExample()
    ex.context.feature["id"].bytes_list.value.append(b"abcd")
    ex.context.feature["labels"].int64_list.value.append(3)
    for name, size in (("rgb", 1000), ("audio", 128)):
        ex.feature_lists.feature_list[name].feature.add().bytes_list.value.append(b"\0" * size)
    bad = _write_examples(tmp_path / "bad.tfrecord", [ex])
    assert main(["train", "--frame_features", "--train_data_pattern", bad, "--train_dir",
                 str(tmp_path / "t"), "--model", "FrameLevelLogisticModel", "--no_metagraph"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: record 0: frame feature 'rgb': every frame must hold exactly 1024 bytes" in err


def test_empty_inputs_and_invalid_utf8_ids(setup, tmp_path, capsys):
    train_dir, _, _ = setup
    empty_dir = tmp_path / "no_records"
    empty_dir.mkdir()
    assert main(["eval", "--eval_data_pattern", str(empty_dir / "*.tfrecord"), "--train_dir",
                 train_dir, "--run_once"]) == 2
    assert "--eval_data_pattern: no files match" in capsys.readouterr().err
    assert main(["eval", "--eval_data_pattern", " , ", "--train_dir", train_dir,
                 "--run_once"]) == 2
    assert "--eval_data_pattern is empty" in capsys.readouterr().err
    empty_split = tmp_path / "validate0000.tfrecord"
    empty_split.write_bytes(b"")  # a valid shard with no records
    assert main(["eval", "--eval_data_pattern", str(empty_split), "--train_dir", train_dir,
                 "--run_once"]) == 2
    assert "no records to evaluate in 1 files" in capsys.readouterr().err
    empty_csv = tmp_path / "e.csv"
    assert main(["inference", "--input_data_pattern", str(empty_split), "--train_dir", train_dir,
                 "--output_file", str(empty_csv)]) == 2
    assert "no records to predict" in capsys.readouterr().err and not empty_csv.exists()
    bad_id = _write_examples(tmp_path / "ids.tfrecord", [_video_example(vid=b"\xff\xfe")])
    out = tmp_path / "p.csv"
    assert main(["inference", "--input_data_pattern", bad_id, "--train_dir", train_dir,
                 "--output_file", str(out)]) == 2
    assert "is not valid UTF-8" in capsys.readouterr().err and not out.exists()


def test_missing_and_malformed_model_flags(setup, tmp_path, capsys):
    _, _, good = setup
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["eval", "--eval_data_pattern", good, "--train_dir", str(empty), "--run_once"]) == 2
    assert "model_flags.json" in capsys.readouterr().err
    (empty / "model_flags.json").write_text("{not json")
    assert main(["eval", "--eval_data_pattern", good, "--train_dir", str(empty), "--run_once"]) == 2
    err = capsys.readouterr().err
    assert "model_flags.json" in err and len(err.strip().splitlines()) == 1
    (empty / "model_flags.json").write_text(json.dumps({"model": "LogisticModel"}))
    assert main(["eval", "--eval_data_pattern", good, "--train_dir", str(empty), "--run_once"]) == 2
    assert "feature_names" in capsys.readouterr().err


def test_unknown_or_mismatched_feature_names(setup, tmp_path, capsys):
    _, _, good = setup
    base = ["train", "--train_data_pattern", good, "--train_dir", str(tmp_path / "t"),
            "--model", "LogisticModel"]
    assert main([*base, "--feature_names", "mean_rgb,mean_color"]) == 2
    assert "--feature_names" in capsys.readouterr().err
    assert main([*base, "--feature_names", "mean_rgb,mean_audio", "--feature_sizes", "1024"]) == 2
    err = capsys.readouterr().err
    assert "--feature_names has 2 entries (mean_rgb,mean_audio) but --feature_sizes has 1" in err


def test_checkpoint_of_another_model_is_refused(setup, tmp_path, capsys):
    train_dir, _, good = setup
    other = tmp_path / "other"
    other.mkdir()
    for name in os.listdir(train_dir):  # LogisticModel checkpoints ...
        if name.startswith(("model.ckpt", "checkpoint")):
            shutil.copy(os.path.join(train_dir, name), other / name)
    flags = json.load(open(os.path.join(train_dir, "model_flags.json")))
    flags.update(model="MoeModel", hparams=models.resolve_hparams("MoeModel"))  # ... as a MoE
    (other / "model_flags.json").write_text(json.dumps(flags))
    rc = main(["train", "--train_data_pattern", good, "--train_dir", str(other),
               "--model", "MoeModel", "--no_metagraph", "--max_steps", "5"])
    err = capsys.readouterr().err
    assert rc == 2 and "does not match the model being trained" in err and "--start_new_model" in err


def test_report_for_a_train_dir(setup, tmp_path, capsys):
    train_dir, _, good = setup
    out = tmp_path / "r.html"
    assert main(["report", "--train_dir", train_dir, "--eval_data_pattern", good,
                 "--output", str(out)]) == 0
    page = out.read_text()
    assert page.count("data:image/png;base64,") >= 3 and "LogisticModel" in page
    assert main(["report", "--train_dir", train_dir, "--output", str(out)]) == 2
    assert "--eval_data_pattern" in capsys.readouterr().err
