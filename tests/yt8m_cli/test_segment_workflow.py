"""The segment commands as a script runs them: `train --segment_labels` (from scratch and
fine-tuned `--start_from` a model trained on whole videos), `eval --segment_labels`,
`inference --segment_labels` whose CSV `score --segment_labels` rates at eval's MAP@K."""
import glob
import re

import numpy as np
import pytest
import tensorflow as tf

from trainer_module.data import records

from yt8m_cli.main import main

MAP_LINE = re.compile(r"^MAP@(\d+): ([0-9.]+) over (\d+) classes", re.M)
COMMON = ["--frame_features", "--model", "FrameLevelLogisticModel", "--no_metagraph"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    base = tmp_path_factory.mktemp("segments")
    assert main(["generate-data", "--output_dir", str(base / "data"), "--num_videos", "240",
                 "--frame_level", "--segments", "--min_frames", "20", "--max_frames", "40",
                 "--seed", "5"]) == 0
    return base


def _eval_map(capsys, train_dir, pattern, *extra) -> float:
    capsys.readouterr()
    assert main(["eval", "--eval_data_pattern", pattern, "--train_dir", str(train_dir),
                 "--segment_labels", "--run_once", *extra]) == 0
    found = MAP_LINE.findall(capsys.readouterr().out)
    assert len(found) == 1
    return float(found[0][1])


def test_segment_training_inference_and_score(data, tmp_path, capsys):
    train = str(data / "data" / "frame" / "train*")
    validate = str(data / "data" / "frame" / "validate*")
    video_dir, segment_dir, tuned_dir = (tmp_path / n for n in ("video", "segment", "tuned"))
    assert main(["train", "--train_data_pattern", train, "--train_dir", str(video_dir),
                 "--num_epochs", "3", "--batch_size", "16", *COMMON]) == 0
    assert main(["train", "--train_data_pattern", train, "--train_dir", str(segment_dir),
                 "--segment_labels", "--num_epochs", "3", "--batch_size", "64", *COMMON]) == 0
    capsys.readouterr()
    assert main(["train", "--train_data_pattern", train, "--train_dir", str(tuned_dir),
                 "--segment_labels", "--start_from", str(video_dir), "--num_epochs", "2",
                 "--batch_size", "64", *COMMON]) == 0
    assert "initialised 4,452,886 parameters from" in capsys.readouterr().out

    video_map = _eval_map(capsys, video_dir, validate)  # a whole-video model scores segments too
    segment_map = _eval_map(capsys, segment_dir, validate)
    tuned_map = _eval_map(capsys, tuned_dir, validate)
    # the planted signal is in some segments of a video: trained on them, a model ranks them
    assert segment_map > video_map + 0.1 and tuned_map > video_map + 0.1

    submission = tmp_path / "segments.csv"
    assert main(["inference", "--train_dir", str(segment_dir), "--input_data_pattern",
                 validate, "--segment_labels", "--output_file", str(submission)]) == 0
    lines = submission.read_text().splitlines()
    assert lines[0] == "Class,Segments" and len(lines) > 10
    assert all(re.fullmatch(r"\d+,(\S+:\d+)( \S+:\d+)*", line) for line in lines[1:])
    capsys.readouterr()
    assert main(["score", "--segment_labels", "--predictions", str(submission),
                 "--labels_data_pattern", validate]) == 0
    scored = MAP_LINE.findall(capsys.readouterr().out)
    assert float(scored[0][1]) == pytest.approx(segment_map, abs=1e-6)

    # K bounds each class's row; MAP@K from eval and from the K-cut submission agree
    assert main(["inference", "--train_dir", str(segment_dir), "--input_data_pattern",
                 validate, "--segment_labels", "--segment_max_pred", "3", "--output_file",
                 str(submission)]) == 0
    assert max(len(line.split(",")[1].split()) for line in submission.read_text().splitlines()[1:]) == 3
    capsys.readouterr()
    assert main(["score", "--segment_labels", "--predictions", str(submission),
                 "--labels_data_pattern", validate, "--segment_max_pred", "3"]) == 0
    at_3 = float(MAP_LINE.findall(capsys.readouterr().out)[0][1])
    assert at_3 == pytest.approx(_eval_map(capsys, segment_dir, validate,
                                           "--segment_max_pred", "3"), abs=1e-6)


def test_segment_commands_refuse_what_they_cannot_use(data, tmp_path, capsys):
    plain = tmp_path / "plain"
    assert main(["generate-data", "--output_dir", str(plain), "--num_videos", "30",
                 "--frame_level", "--min_frames", "10", "--max_frames", "20"]) == 0
    capsys.readouterr()
    assert main(["train", "--train_data_pattern", str(plain / "frame" / "train*"), "--train_dir",
                 str(tmp_path / "t"), "--segment_labels", "--batch_size", "8", *COMMON]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no rated segments in" in err[0] and "generate-data" in err[0]

    video_level = tmp_path / "v"
    assert main(["train", "--train_data_pattern", str(data / "data" / "video" / "train*"),
                 "--train_dir", str(video_level), "--model", "LogisticModel", "--num_epochs", "1",
                 "--no_metagraph"]) == 0
    capsys.readouterr()
    assert main(["eval", "--eval_data_pattern", str(data / "data" / "frame" / "validate*"),
                 "--train_dir", str(video_level), "--segment_labels", "--run_once"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "segments need a frame-level model" in err[0]

    assert main(["train", "--train_data_pattern", "x", "--train_dir", str(tmp_path / "u"),
                 "--segment_labels", "--model", "LogisticModel"]) == 2
    assert "--segment_labels trains on 5-frame segments of frame-level records: it needs " \
        "--frame_features" in capsys.readouterr().err


def test_a_segment_model_serves_videos_by_their_best_segment(data, tmp_path):
    """The exported SavedModel of a segment model reads whole records: `serving_default` gives
    a video the maximum of its segments' scores, `segments` the segments themselves (every
    5-second one, with its start); `yt8m inference` writes the video CSV from it."""
    train_dir = tmp_path / "t"
    validate = str(data / "data" / "frame" / "validate*")
    assert main(["train", "--train_data_pattern", str(data / "data" / "frame" / "train*"),
                 "--train_dir", str(train_dir), "--segment_labels", "--num_epochs", "1",
                 "--batch_size", "64", *COMMON]) == 0
    saved = glob.glob(str(train_dir / "export" / "step_*" / "saved_model"))[0]
    loaded = tf.saved_model.load(saved)
    examples = tf.constant(list(records.iterate_records(sorted(glob.glob(validate))[0]))[:6])
    videos = loaded.signatures["serving_default"](examples=examples)
    segments = loaded.signatures["segments"](examples=examples)
    ids = [v.decode() for v in videos["video_id"].numpy()]
    seg_ids = [v.decode() for v in segments["video_id"].numpy()]
    starts = segments["segment_start"].numpy()
    assert len(set(ids)) == 6 and set(seg_ids) == set(ids)
    for i, vid in enumerate(ids):
        rows = [j for j, s in enumerate(seg_ids) if s == vid]
        assert list(starts[rows]) == list(range(0, 5 * len(rows), 5)) and 4 <= len(rows) <= 8
        np.testing.assert_allclose(videos["predictions"].numpy()[i],
                                   segments["predictions"].numpy()[rows].max(axis=0), rtol=1e-6)
    out = tmp_path / "videos.csv"
    assert main(["inference", "--train_dir", str(train_dir), "--input_data_pattern", validate,
                 "--output_file", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 1 + 36  # the validate split's videos
    # a float16 archive's weights are frozen into its graph: segments cannot rebuild it
    half = tmp_path / "half.tgz"
    assert main(["inference", "--train_dir", str(train_dir), "--output_model_tgz", str(half),
                 "--float16_weights"]) == 0
    assert main(["inference", "--input_model_tgz", str(half), "--input_data_pattern", validate,
                 "--segment_labels", "--output_file", str(tmp_path / "s.csv")]) == 2
    assert not (tmp_path / "s.csv").exists()


def test_segment_inputs_that_cannot_be_ranked_are_named(data, tmp_path, capsys):
    """A video in two shards (its segments would be ranked twice) and a segment vocabulary
    file without a usable class: one line each, no submission written."""
    import shutil

    train_dir = tmp_path / "t"
    assert main(["train", "--train_data_pattern", str(data / "data" / "frame" / "train0000*"),
                 "--train_dir", str(train_dir), "--segment_labels", "--num_epochs", "1",
                 "--batch_size", "64", *COMMON]) == 0
    twice = tmp_path / "twice"
    twice.mkdir()
    shard = sorted(glob.glob(str(data / "data" / "frame" / "test*")))[0]
    shutil.copy(shard, twice / "test0000.tfrecord")
    shutil.copy(shard, twice / "test0001.tfrecord")
    out = tmp_path / "s.csv"
    capsys.readouterr()
    assert main(["inference", "--train_dir", str(train_dir), "--input_data_pattern",
                 str(twice / "*"), "--segment_labels", "--output_file", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "a video id appears twice" in err[0] and not out.exists()
    for text, said in (("Index\n5000\n", "class 5000 is outside [0, 3862)"),
                       ("Index\n", "no class ids")):
        ids = tmp_path / "ids.csv"
        ids.write_text(text)
        assert main(["inference", "--train_dir", str(train_dir), "--input_data_pattern", shard,
                     "--segment_labels", "--segment_label_ids_file", str(ids),
                     "--output_file", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(ids) in err[0] and said in err[0] and not out.exists()
