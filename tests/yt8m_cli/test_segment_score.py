"""`yt8m score --segment_labels`: MAP@K of a segment submission against generated segment
ratings; inconsistent ratings named by file and record."""
import tensorflow as tf

from trainer_module.data import records
from trainer_module.data import segments as S
from trainer_module.evaluation import segment_metrics as SM
from trainer_module.export import segment_csv
from yt8m_cli.main import main


def _ratings(folder):
    out = {}
    for path in sorted(folder.glob("frame/validate*.tfrecord")):
        for record in records.iterate_records(str(path)):
            ex = tf.train.SequenceExample.FromString(record)
            vid = ex.context.feature["id"].bytes_list.value[0].decode()
            for r in S.from_sequence_example(ex, "r"):
                out[(SM.segment_id(vid, r.start), r.label)] = r.score
    return out


def test_score_a_segment_submission(tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["generate-data", "--output_dir", str(data), "--num_videos", "60",
                 "--frame_level", "--segments", "--min_frames", "20", "--max_frames", "40"]) == 0
    ratings = _ratings(data)
    classes = sorted({c for _, c in ratings})
    best = {c: sorted((s for s, k in ratings if k == c), key=lambda s: -ratings[(s, c)])
            for c in classes}
    worst = {c: segs[::-1] for c, segs in best.items()}
    pattern = str(data / "frame" / "validate*")
    capsys.readouterr()
    for ranked, k in ((best, 100_000), (worst, 100_000), (worst, 2)):
        path = tmp_path / "sub.csv"
        segment_csv.write(str(path), ranked)
        assert main(["score", "--segment_labels", "--predictions", str(path),
                     "--labels_data_pattern", pattern, "--segment_max_pred", str(k),
                     "--output_json", str(tmp_path / "m.json")]) == 0
        expected = SM.segment_map(ranked, ratings, k).map
        assert f"MAP@{k}: {expected:.6f} over" in capsys.readouterr().out
    assert SM.segment_map(best, ratings).map == 1.0 > SM.segment_map(worst, ratings).map


def test_inconsistent_ratings_are_named(tmp_path, capsys):
    ex = tf.train.SequenceExample()
    ex.context.feature["id"].bytes_list.value.append(b"ab12")
    ex.context.feature[S.LABELS_KEY].int64_list.value.extend([3, 4])
    ex.context.feature[S.START_TIMES_KEY].int64_list.value.extend([0])
    ex.context.feature[S.SCORES_KEY].float_list.value.extend([1.0, 0.0])
    ex.feature_lists.feature_list["rgb"].feature.add().bytes_list.value.append(bytes(1024))
    shard = tmp_path / "validate0.tfrecord"
    with tf.io.TFRecordWriter(str(shard)) as w:
        w.write(ex.SerializeToString())
    sub = tmp_path / "sub.csv"
    segment_csv.write(str(sub), {3: ["ab12:0"]})
    assert main(["score", "--segment_labels", "--predictions", str(sub),
                 "--labels_data_pattern", str(shard)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{shard} record 0: segment_labels, segment_start_times and " \
        "segment_scores have 2, 1 and 2 entries" in err[0]
    assert main(["score", "--segment_labels", "--predictions", str(sub), "--labels_data_pattern",
                 str(shard), "--segment_max_pred", "0"]) == 2
    assert "--segment_max_pred must be >= 1, got 0" in capsys.readouterr().err
    assert main(["score", "--segment_labels", "--predictions", str(sub), "--labels",
                 str(sub)]) == 2
    assert "--segment_labels scores against --labels_data_pattern" in capsys.readouterr().err
