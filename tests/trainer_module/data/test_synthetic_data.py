"""The generator writes real-format YT8M records with the promised statistics."""
import filecmp
import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from trainer_module.data import features as F
from trainer_module.data import synthetic as S


def _records(pattern):
    return [r.numpy() for r in tf.data.TFRecordDataset(sorted(glob.glob(pattern)))]


def test_video_records_parse_with_plain_tf(tiny_data):
    spec = {"id": tf.io.FixedLenFeature([], tf.string), "labels": tf.io.VarLenFeature(tf.int64),
            "mean_rgb": tf.io.FixedLenFeature([1024], tf.float32),
            "mean_audio": tf.io.FixedLenFeature([128], tf.float32)}
    recs = _records(os.path.join(tiny_data, "video", "train*.tfrecord"))
    assert len(recs) == 42  # 60 * 0.7
    for r in recs:
        ex = tf.io.parse_single_example(r, spec)
        assert len(ex["id"].numpy()) == 4
        labels = ex["labels"].values.numpy()
        assert len(labels) >= 1 and labels.max() < F.NUM_CLASSES


def test_frame_records_parse_and_means_match(tiny_data):
    ctx = {"id": tf.io.FixedLenFeature([], tf.string), "labels": tf.io.VarLenFeature(tf.int64)}
    seq = {"rgb": tf.io.FixedLenSequenceFeature([], tf.string),
           "audio": tf.io.FixedLenSequenceFeature([], tf.string)}
    vid_spec = {"id": tf.io.FixedLenFeature([], tf.string),
                "mean_rgb": tf.io.FixedLenFeature([1024], tf.float32),
                "mean_audio": tf.io.FixedLenFeature([128], tf.float32)}
    frame_recs = _records(os.path.join(tiny_data, "frame", "validate*.tfrecord"))
    video_recs = _records(os.path.join(tiny_data, "video", "validate*.tfrecord"))
    assert len(frame_recs) == len(video_recs) == 9
    for fr, vr in zip(frame_recs, video_recs):
        c, s = tf.io.parse_single_sequence_example(fr, ctx, seq)
        v = tf.io.parse_single_example(vr, vid_spec)
        assert c["id"].numpy() == v["id"].numpy()
        n = s["rgb"].shape[0]
        assert 10 <= n <= 20 and s["audio"].shape[0] == n
        rgb = np.stack([np.frombuffer(b, np.uint8) for b in s["rgb"].numpy()])
        audio = np.stack([np.frombuffer(b, np.uint8) for b in s["audio"].numpy()])
        assert rgb.shape == (n, 1024) and audio.shape == (n, 128)
        np.testing.assert_allclose(F.dequantize_np(rgb).mean(0), v["mean_rgb"].numpy(), atol=1e-5)
        np.testing.assert_allclose(F.dequantize_np(audio).mean(0), v["mean_audio"].numpy(), atol=1e-5)


def test_test_split_has_no_labels_and_label_csvs_match(tiny_data):
    for r in _records(os.path.join(tiny_data, "video", "test*.tfrecord")):
        assert len(tf.train.Example.FromString(r).features.feature["labels"].int64_list.value) == 0
    lines = open(os.path.join(tiny_data, "train_labels.csv")).read().splitlines()
    assert lines[0] == "VideoId,Labels" and len(lines) == 43
    first = tf.train.Example.FromString(_records(os.path.join(tiny_data, "video", "train0000*"))[0])
    vid = first.features.feature["id"].bytes_list.value[0].decode()
    labels = " ".join(map(str, first.features.feature["labels"].int64_list.value))
    assert f"{vid},{labels}" in lines


def test_label_statistics_follow_distribution():
    factory = S.VideoFactory(S.GeneratorConfig(output_dir="/nonexistent", num_videos=10))
    rng = np.random.default_rng(0)
    labels = [factory.labels(rng) for _ in range(4000)]
    assert 2.8 < np.mean([len(ids) for ids in labels]) < 3.2
    counts = np.bincount(np.concatenate(labels), minlength=F.NUM_CLASSES)
    # Zipf(1): class 0 twice as frequent as class 1, ten times class 9.
    p = S.class_frequencies(None)
    expected_top = p[:10] / p[:10].sum()
    observed_top = counts[:10] / counts[:10].sum()
    np.testing.assert_allclose(observed_top, expected_top, atol=0.03)


@pytest.mark.parametrize("k", [1, 2, 100])
def test_label_classes_restricts_labels_to_the_most_frequent(k):
    factory = S.VideoFactory(S.GeneratorConfig(output_dir="/nonexistent", num_videos=10,
                                               label_classes=k))
    rng = np.random.default_rng(0)
    labels = [factory.labels(rng) for _ in range(2000)]
    seen = np.unique(np.concatenate(labels))
    assert seen.min() >= 0 and seen.max() < k  # Zipf: the k most frequent are classes 0..k-1
    assert all(1 <= len(ids) <= k and len(set(ids)) == len(ids) for ids in labels)
    if k == 100:
        assert len(seen) > 90  # the tail of the 100 is still drawn
        # within the k classes the Zipf proportions hold
        counts = np.bincount(np.concatenate(labels), minlength=k)
        assert 1.6 < counts[0] / counts[1] < 2.4


def test_label_classes_follow_vocabulary_counts(real_sample_dir):
    vocab = os.path.join(real_sample_dir, "vocabulary.csv")
    full, top = S.class_frequencies(vocab), S.class_frequencies(vocab, label_classes=50)
    assert np.count_nonzero(top) == 50
    np.testing.assert_array_equal(np.flatnonzero(top), np.sort(np.argsort(-full)[:50]))
    kept = top > 0
    np.testing.assert_allclose(top[kept], full[kept] / full[kept].sum())


def test_vocabulary_frequencies(real_sample_dir):
    p = S.class_frequencies(os.path.join(real_sample_dir, "vocabulary.csv"))
    assert p.shape == (F.NUM_CLASSES,) and p.argmax() == 0  # "Game" is the most frequent
    assert p.max() / p.min() > 1000


def test_same_seed_same_bytes(tmp_path):
    def gen(d, seed):
        S.generate(S.GeneratorConfig(output_dir=str(d), num_videos=20, frame_level=True, seed=seed,
                                     min_frames=3, max_frames=5, num_shards=2), progress=False)
    gen(tmp_path / "a", 5), gen(tmp_path / "b", 5), gen(tmp_path / "c", 6)
    names = sorted(os.listdir(tmp_path / "a" / "frame"))
    assert names and names == sorted(os.listdir(tmp_path / "b" / "frame"))
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a" / "frame", tmp_path / "b" / "frame",
                                               names, shallow=False)
    assert mismatch == [] and errors == []
    assert not filecmp.cmp(tmp_path / "a" / "frame" / names[0], tmp_path / "c" / "frame" / names[0],
                           shallow=False)


def test_ids_unique():
    ids = {S.video_id(i) for i in range(100_000)}
    assert len(ids) == 100_000 and all(len(i) == 4 for i in ids)


@pytest.mark.parametrize("kwargs,needle", [
    ({"num_videos": 0}, "`num_videos`"),
    ({"num_shards": 0}, "`num_shards`"),
    ({"validate_fraction": 0.6, "test_fraction": 0.5}, "sum to < 1"),
    ({"min_frames": 10, "max_frames": 5}, "`min_frames`"),
    ({"label_classes": 0}, "`label_classes`"),
    ({"label_classes": F.NUM_CLASSES + 1}, "`label_classes`"),
])
def test_bad_arguments(kwargs, needle, tmp_path):
    args = {"output_dir": str(tmp_path), "num_videos": 10, **kwargs}
    with pytest.raises(ValueError, match=needle):
        S.GeneratorConfig(**args)


def test_output_dir_that_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        S.GeneratorConfig(output_dir=str(f), num_videos=3)


def test_generate_data_cli_label_classes(tmp_path, capsys):
    from yt8m_cli.main import main

    out = tmp_path / "data"
    assert main(["generate-data", "--output_dir", str(out), "--num_videos", "40",
                 "--num_shards", "1", "--label_classes", "3"]) == 0
    rows = (out / "train_labels.csv").read_text().splitlines()[1:]
    assert len(rows) == 28
    assert {int(c) for row in rows for c in row.split(",")[1].split()} <= {0, 1, 2}
    capsys.readouterr()  # the progress bar
    assert main(["generate-data", "--output_dir", str(out), "--num_videos", "4",
                 "--label_classes", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--label_classes must be between 1 and 3862, got 0" in err[0]
