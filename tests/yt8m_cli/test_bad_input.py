"""Damaged and invalid input through the CLI: one-line errors naming the file, nothing partial."""
import json
import os
import shutil

import pytest

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
    data = open(good, "rb").read()
    (shards / "b_truncated.tfrecord").write_bytes(data[:-50])  # last record cut short
    corrupted = bytearray(data)
    corrupted[len(data) // 2] ^= 0xFF  # a flipped byte inside a record: CRC mismatch
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
    n = _records(good)
    assert n - 1 <= len(rows) - n < 2 * n - 1  # the good file + readable prefixes of the others
    assert f"read {len(rows)} videos from 3 files; skipped the rest of 2 damaged files" in printed
    assert "skipped after record" in printed and "c_corrupted.tfrecord: corrupted record" in printed


def test_train_names_the_damaged_file(setup, tmp_path, capsys):
    _, shards, _ = setup
    rc = main(["train", "--train_data_pattern", str(shards / "*"), "--train_dir",
               str(tmp_path / "t"), "--model", "LogisticModel", "--batch_size", "4",
               "--no_metagraph"])
    assert rc == 2 and "tfrecord: record" in capsys.readouterr().err


def test_feature_size_mismatch_and_bad_labels(setup, tmp_path, capsys):
    train_dir, _, good = setup
    rc = main(["train", "--train_data_pattern", good, "--train_dir", str(tmp_path / "t"),
               "--model", "LogisticModel", "--feature_sizes", "512,128", "--no_metagraph"])
    err = capsys.readouterr().err
    assert rc == 2 and "mean_rgb" in err and len(err.strip().splitlines()) == 1


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
