"""`yt8m pipeline run --segment_labels` end to end on generated segment-rated frame-level data:
the Transform passes whole videos and ratings, the Trainer trains on the rated 5-frame
segments, the Evaluator blesses on segment MAP@K, KaggleExport writes the Class,Segments CSV.
One run is shared by the assertions (docs/segments.md)."""
import contextlib
import io
import json
import os
import tarfile

import pytest
import tensorflow as tf

from trainer_module.data import synthetic as synthetic_data
from trainer_module.export import saved_model as export
from yt8m_cli.main import main

pytestmark = pytest.mark.e2e


def _pipeline(*argv) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["pipeline", "run", *argv])
    return code, out.getvalue()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("e2e_segments")
    data, root = str(base / "data"), str(base / "root")
    synthetic_data.generate(synthetic_data.GeneratorConfig(
        output_dir=data, num_videos=150, frame_level=True, segments=True, num_shards=2, seed=4,
        min_frames=20, max_frames=40, signal=2.0), progress=False)
    args = ["--data_dir", data, "--pipeline_root", root, "--frame_features", "--segment_labels",
            "--model", "FrameLevelLogisticModel", "--batch_size", "32", "--num_epochs", "3"]
    code, log = _pipeline(*args)
    assert code == 0, log[-3000:]
    return base, data, root, args, log, json.loads(log.strip().splitlines()[-1])


def _kaggle_paths(log: str) -> tuple[str, str]:
    lines = dict(line.split(": ", 1) for line in log.splitlines()
                 if line.startswith(("Kaggle CSV: ", "model .tgz: ")))
    return lines["Kaggle CSV"].split(" (")[0], lines["model .tgz"]


def _score(base, name: str, tgz: str, pattern: str, score: bool = True) -> tuple[str, str]:
    """The CLI's segment submission of ``pattern`` by the pipeline's model, and its score."""
    csv_path = str(base / f"{name}.csv")
    assert main(["inference", "--segment_labels", "--input_model_tgz", tgz, "--untar_model_dir",
                 str(base / f"untar_{name}"), "--input_data_pattern", pattern,
                 "--output_file", csv_path]) == 0
    if not score:  # unrated records (the test split)
        return csv_path, ""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["score", "--segment_labels", "--predictions", csv_path,
                     "--labels_data_pattern", pattern]) == 0
    return csv_path, out.getvalue()


def test_blessed_on_segment_map_equal_to_the_cli_score(run):
    """The Evaluator's segment MAP@K is what `yt8m inference --segment_labels` + `yt8m score`
    compute for the same model on the eval split's records."""
    base, data, _, _, log, result = run
    metrics = result["metrics"]
    assert result["blessed"] and "segment MAP@100000: " in log
    assert set(metrics) >= {"segment_map", "gap", "hit_at_one"}
    _, tgz = _kaggle_paths(log)
    _, said = _score(base, "validate", tgz, os.path.join(data, "frame", "validate*"))
    cli_map = float(said.split("MAP@100000: ")[1].split()[0])
    assert 0.2 < metrics["segment_map"] == pytest.approx(cli_map, abs=1e-6)  # printed to 6 places


def test_segment_csv_is_the_cli_submission_and_the_model_a_segment_model(run):
    base, data, root, _, log, _ = run
    csv_path, tgz = _kaggle_paths(log)
    assert os.path.basename(csv_path) == "segments.csv"
    mine, _ = _score(base, "test", tgz, os.path.join(data, "frame", "test*"), score=False)
    assert open(csv_path).read() == open(mine).read()  # byte for byte, ties included
    lines = open(csv_path).read().splitlines()
    assert lines[0] == "Class,Segments" and len(lines) > 100
    assert f"segments.csv ({len(lines) - 1} rows)" in log  # the count KaggleExport recorded
    with tarfile.open(tgz) as tar:
        flags = json.load(tar.extractfile("model_flags.json"))
    assert flags["segment_labels"] is True and flags["max_frames"] == 5
    pushed = log.split("pushed model: ")[1].split()[0]
    assert pushed.startswith(os.path.join(root, "serving_model_segments", ""))
    model = tf.saved_model.load(pushed)
    assert {export.SIGNATURE, export.SEGMENTS_SIGNATURE, export.PER_VIDEO_SIGNATURE} <= set(
        model.signatures)
    records = [r.numpy() for r in tf.data.TFRecordDataset(
        tf.io.gfile.glob(os.path.join(data, "frame", "test*")))][:3]
    videos = model.signatures[export.SIGNATURE](examples=tf.constant(records))
    segments = model.signatures[export.SEGMENTS_SIGNATURE](examples=tf.constant(records))
    assert videos["predictions"].shape == (3, 3862)
    for row, vid in enumerate(videos["video_id"].numpy()):  # a video: its best segment
        mask = segments["video_id"].numpy() == vid
        assert mask.sum() >= 4  # 20-40 frames: 4-8 segments
        assert videos["predictions"][row].numpy() == pytest.approx(
            segments["predictions"].numpy()[mask].max(axis=0))


def test_the_blessing_threshold_is_on_segment_map(run):
    """A threshold between the run's segment MAP and its video GAP blesses by segment MAP."""
    _, _, _, args, _, result = run
    m = result["metrics"]
    threshold = (m["segment_map"] + m["gap"]) / 2
    code, log = _pipeline(*args, "--gap_threshold", f"{threshold:.6f}")
    assert code == 0, log[-3000:]
    rerun = json.loads(log.strip().splitlines()[-1])
    assert rerun["metrics"]["segment_map"] == m["segment_map"]  # the Trainer was cached
    assert rerun["blessed"] == (m["segment_map"] > m["gap"])
    assert ("Kaggle CSV: none" in log) != rerun["blessed"]


def test_a_bad_rating_stops_the_trainer_naming_the_shard_and_record(run, tmp_path):
    """A start time past the video's frames in one train record: one line naming the
    ExampleGen shard and the record, nothing trained or exported."""
    _, data, _, args, _, _ = run
    bad = tmp_path / "data"
    frame = bad / "frame"
    frame.mkdir(parents=True)
    for path in tf.io.gfile.glob(os.path.join(data, "frame", "*")):
        records = [r.numpy() for r in tf.data.TFRecordDataset(path)]
        if os.path.basename(path) == "train0000.tfrecord":
            example = tf.train.SequenceExample.FromString(records[3])
            frames = len(example.feature_lists.feature_list["rgb"].feature)
            example.context.feature["segment_start_times"].int64_list.value[0] = frames + 10
            records[3] = example.SerializeToString()
        with tf.io.TFRecordWriter(str(frame / os.path.basename(path))) as out:
            for record in records:
                out.write(record)
    argv = [*args]
    argv[argv.index("--data_dir") + 1] = str(bad)
    argv[argv.index("--pipeline_root") + 1] = str(tmp_path / "root")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code, _ = _pipeline(*argv)
    lines = [line for line in err.getvalue().splitlines() if line.startswith("yt8m pipeline:")]
    assert code == 2 and len(lines) == 1, err.getvalue()[-2000:]
    assert "Split-train/data_tfrecord-" in lines[0] and ": record " in lines[0]
    assert "a segment start time is outside its video's frames" in lines[0]
    assert not (tmp_path / "root" / "serving_model_segments").exists()


def test_runs_show_names_the_blessing_metric(run):
    _, _, root, _, _, result = run
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["runs", "--pipeline_root", root]) == 0
    run_id = out.getvalue().splitlines()[-2].split()[0]  # newest first: the fixture's is last
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["runs", "show", run_id, "--pipeline_root", root]) == 0
    said = out.getvalue().splitlines()[1]
    assert f"segment MAP {result['metrics']['segment_map']:.4f} (the blessing metric" in said
