"""Segment ratings (2019 records): the generator writes consistent, learnable ratings without
changing the frames' bytes; inconsistent lists are one-line errors naming the record."""
import numpy as np
import pytest
import tensorflow as tf

from trainer_module.data import features as F
from trainer_module.data import records
from trainer_module.data import segments as S
from trainer_module.data import synthetic
from yt8m_cli.main import main


def _config(tmp_path, name, **kw):
    return synthetic.GeneratorConfig(str(tmp_path / name), num_videos=40, frame_level=True,
                                     num_shards=1, seed=3, min_frames=20, max_frames=40, **kw)


def test_generated_ratings_are_consistent_and_carry_the_planted_signal(tmp_path):
    config = _config(tmp_path, "seg", segments=True)
    factory = synthetic.VideoFactory(config)
    inside, outside, rated = [], [], 0
    for index in range(40):
        video = factory.make(index, with_labels=True)
        frames = F.dequantize_np(video.frames)  # [frames, 1152]
        for r in video.segments:
            assert r.label in video.labels and r.start % S.SEGMENT_FRAMES == 0
            segment = frames[r.start:r.start + S.SEGMENT_FRAMES].mean(axis=0)
            (inside if r.score == 1.0 else outside).append(segment @ factory.protos[r.label])
        rated += bool(video.segments)
    assert rated >= 35 and len(inside) >= 40 and len(outside) >= 40
    # positive segments hold their class's prototype, rated negatives do not
    assert np.mean(inside) > np.mean(outside) + 3 * np.std(outside) / np.sqrt(len(outside))


def test_ratings_in_the_records_and_frames_unchanged(tmp_path):
    synthetic.generate(_config(tmp_path, "seg", segments=True), progress=False)
    synthetic.generate(_config(tmp_path, "plain"), progress=False)
    for split in ("train", "validate", "test"):
        seg = list(records.iterate_records(str(tmp_path / "seg" / "frame" / f"{split}0000.tfrecord")))
        plain = list(records.iterate_records(str(tmp_path / "plain" / "frame" /
                                                 f"{split}0000.tfrecord")))
        assert len(seg) == len(plain)
        for i, (a, b) in enumerate(zip(seg, plain)):
            a, b = tf.train.SequenceExample.FromString(a), tf.train.SequenceExample.FromString(b)
            assert a.feature_lists == b.feature_lists  # the same frames, byte for byte
            ratings = S.from_sequence_example(a, f"{split} record {i}")
            assert bool(ratings) == (split != "test") or not a.context.feature["labels"].int64_list.value
            for key in (S.LABELS_KEY, S.START_TIMES_KEY, S.SCORES_KEY):
                a.context.feature.pop(key, None)
            assert a == b  # nothing else differs
    for split in ("train", "validate", "test"):  # video level: byte-identical
        assert (tmp_path / "seg" / "video" / f"{split}0000.tfrecord").read_bytes() == \
            (tmp_path / "plain" / "video" / f"{split}0000.tfrecord").read_bytes()


@pytest.mark.parametrize("labels, starts, scores, said", [
    ([1, 2], [0], [1.0, 0.0], "segment_labels, segment_start_times and segment_scores have 2, 1 "
                              "and 2 entries"),
    ([1], [30], [1.0], "segment start time 30 is outside the video's 30 frames"),
    ([1], [-5], [1.0], "segment start time -5 is outside"),
    ([7], [0], [1.0], "segment label 7 is not in the segment vocabulary"),
    ([1], [0], [2.0], "segment score 2.0 for label 1 at 0; expected 1 (present) or 0"),
    ([1], [0], [float("nan")], "segment score nan"),
    ([1, 1], [5, 5], [1.0, 0.0], "a segment is rated twice for one label"),
])
def test_inconsistent_ratings_are_named(labels, starts, scores, said):
    with pytest.raises(ValueError, match=None) as e:
        S.check(labels, starts, scores, 30, "f.tfrecord record 4", frozenset({1, 2, 3}))
    assert str(e.value).startswith("f.tfrecord record 4: ") and said in str(e.value)
    with pytest.raises(ValueError, match="segment label 3862 is not in the classes"):
        S.check([3862], [0], [1.0], 30, "r")


def test_generate_data_segments_flag(tmp_path, capsys):
    assert main(["generate-data", "--output_dir", str(tmp_path / "a"), "--num_videos", "4",
                 "--segments"]) == 2
    assert "--segments are rated 5-frame segments: they need --frame_level" in \
        capsys.readouterr().err
    assert main(["generate-data", "--output_dir", str(tmp_path / "b"), "--num_videos", "10",
                 "--frame_level", "--segments", "--min_frames", "10", "--max_frames", "20"]) == 0
    record = next(records.iterate_records(str(tmp_path / "b" / "frame" / "train0000.tfrecord")))
    assert S.from_sequence_example(tf.train.SequenceExample.FromString(record), "r")


def test_segment_inputs_match_the_reader_s_definition(tmp_path):
    """parsing.to_segment_inputs against a NumPy version of the dataset reader's segment mode:
    per (video, start), the 5 frames from the start (zeros past the end), the rated scores as
    labels, weight 1 on the rated classes only."""
    from trainer_module.data import parsing

    config = _config(tmp_path, "seg", segments=True)
    synthetic.generate(config, progress=False)
    serialized = list(records.iterate_records(str(tmp_path / "seg" / "frame" /
                                                  "validate0000.tfrecord")))
    spec = F.FeatureSpec(("rgb", "audio"), (1024, 128), frame_level=True, max_frames=40)
    context, sequence = parsing.sequence_feature_specs(spec, segments=True)
    parsed, lists, _ = tf.io.parse_sequence_example(tf.constant(serialized), context, sequence)
    got = {k: v.numpy() for k, v in parsing.to_segment_inputs({**parsed, **lists}, spec).items()}
    want = []  # (video id, start, frames [5, 1152], length, {label: score})
    for record in serialized:
        example = tf.train.SequenceExample.FromString(record)
        frames = F.dequantize_np(np.stack([
            np.concatenate([np.frombuffer(r.bytes_list.value[0], np.uint8),
                            np.frombuffer(a.bytes_list.value[0], np.uint8)])
            for r, a in zip(example.feature_lists.feature_list["rgb"].feature,
                            example.feature_lists.feature_list["audio"].feature)]))
        vid = example.context.feature["id"].bytes_list.value[0]
        by_start = {}
        for r in S.from_sequence_example(example, "r"):
            by_start.setdefault(r.start, {})[r.label] = r.score
        for start, rated in by_start.items():
            window = np.zeros((S.SEGMENT_FRAMES, frames.shape[1]), np.float32)
            part = frames[start:start + S.SEGMENT_FRAMES]
            window[:len(part)] = part
            want.append((vid, start, window, len(part), rated))
    assert len(got[F.VIDEO_ID]) == len(want) > 20
    index = {(v, s): i for i, (v, s) in enumerate(zip(got[F.VIDEO_ID], got[S.SEGMENT_START]))}
    for vid, start, window, length, rated in want:
        i = index[vid, start]
        np.testing.assert_allclose(got[F.FEATURES][i], window, atol=1e-6)
        assert got[F.NUM_FRAMES][i] == length
        assert set(np.flatnonzero(got[S.LABEL_WEIGHTS][i])) == set(rated)
        for label, score in rated.items():
            assert got[F.LABELS_MULTI_HOT][i, label] == score
        assert got[F.LABELS_MULTI_HOT][i].sum() == sum(rated.values())


def test_a_segment_where_the_video_ends_is_zero_padded():
    from trainer_module.data import examples, parsing

    rng = np.random.default_rng(0)
    video = examples.from_quantized_frames(
        "ab12", [4], rng.integers(0, 256, (7, 1024), dtype=np.uint8),
        rng.integers(0, 256, (7, 128), dtype=np.uint8))
    video.segments = [S.Rating(5, 4, 1.0), S.Rating(0, 4, 0.0), S.Rating(5, 9, 0.0)]
    spec = F.FeatureSpec(("rgb", "audio"), (1024, 128), frame_level=True, max_frames=300)
    context, sequence = parsing.sequence_feature_specs(spec, segments=True)
    parsed, lists, _ = tf.io.parse_sequence_example(
        tf.constant([examples.frame_sequence_example(video)]), context, sequence)
    got = {k: v.numpy() for k, v in parsing.to_segment_inputs({**parsed, **lists}, spec).items()}
    assert list(got[S.SEGMENT_START]) == [0, 5] and list(got[F.NUM_FRAMES]) == [5, 2]
    frames = F.dequantize_np(video.frames)
    np.testing.assert_allclose(got[F.FEATURES][1, :2], frames[5:7], atol=1e-6)
    assert not got[F.FEATURES][1, 2:].any()
    assert got[F.LABELS_MULTI_HOT][1, 4] == 1.0 and got[S.LABEL_WEIGHTS][1].sum() == 2
    assert got[S.LABEL_WEIGHTS][0].sum() == 1 and got[F.LABELS_MULTI_HOT][0].sum() == 0


def _seed_get_segments(video_mtx, num_frames, segment_size=5):
    """The dataset's inference.get_segments (google/youtube-8m inference.py), in NumPy as written
    there: every segment of every video, zero-padded, with (video, start) ids."""
    batch, max_frame, dim = video_mtx.shape
    padded = (num_frames + segment_size - 1) // segment_size * segment_size
    mask = 0 < (padded[:, None] - np.arange(0, max_frame))
    bags = np.pad(video_mtx, ((0, 0), (0, segment_size), (0, 0)))[:, :max_frame]
    frames = bags[mask.reshape(batch, -1)].reshape(-1, segment_size, dim) \
        if max_frame % segment_size == 0 else None
    starts = np.arange(0, max_frame, segment_size)
    counts = num_frames[:, None] - starts
    valid = counts.reshape(-1) > 0
    seg_frames = np.minimum(counts.reshape(-1)[valid], segment_size)
    ids = np.stack([np.repeat(np.arange(batch), len(starts)),
                    np.tile(starts, batch)], axis=-1)[valid]
    return frames, seg_frames, ids


def test_every_segment_as_the_dataset_s_inference_cuts_them():
    """parsing.to_all_segments equals the dataset's get_segments: start times 0, 5, ... below
    each video's frame count, 5 frames each (zeros past the end), frames per segment."""
    from trainer_module.data import examples, parsing

    rng = np.random.default_rng(4)
    lengths = [7, 1, 15, 23]
    videos = [examples.from_quantized_frames(
        f"v{i}", [i], rng.integers(0, 256, (n, 1024), dtype=np.uint8),
        rng.integers(0, 256, (n, 128), dtype=np.uint8)) for i, n in enumerate(lengths)]
    spec = F.FeatureSpec(("rgb", "audio"), (1024, 128), frame_level=True, max_frames=25)
    context, sequence = parsing.sequence_feature_specs(spec)
    parsed, lists, _ = tf.io.parse_sequence_example(
        tf.constant([examples.frame_sequence_example(v) for v in videos]), context, sequence)
    got = {k: v.numpy() for k, v in
           parsing.to_all_segments({**parsed, **lists}, spec, with_labels=True).items()}
    dense = np.zeros((len(videos), 25, 1152), np.float32)
    for i, v in enumerate(videos):
        dense[i, :lengths[i]] = F.dequantize_np(v.frames)
    frames, seg_frames, ids = _seed_get_segments(dense, np.asarray(lengths))
    assert len(ids) == sum((n + 4) // 5 for n in lengths) == len(got[F.NUM_FRAMES])
    np.testing.assert_allclose(got[F.FEATURES], frames, atol=1e-6)
    np.testing.assert_array_equal(got[F.NUM_FRAMES], seg_frames)
    np.testing.assert_array_equal(got[S.SEGMENT_VIDEO], ids[:, 0])
    np.testing.assert_array_equal(got[S.SEGMENT_START], ids[:, 1])
    assert list(got[F.VIDEO_ID]) == [f"v{i}".encode() for i in ids[:, 0]]
    assert got[F.LABELS_MULTI_HOT].shape == (4, F.NUM_CLASSES) and got[F.LABELS_MULTI_HOT][2, 2] == 1


@pytest.mark.parametrize("labels, starts, scores, said", [
    ([1, 2], [0], [1.0, 0.0], "differ in length"),
    ([1], [30], [1.0], "segment start time is outside its video's frames"),
    ([1], [-5], [1.0], "segment start time is outside its video's frames"),
    ([1], [0], [2.0], "segment score is not 1 (present) or 0"),
    ([1], [0], [float("nan")], "segment score is not 1 (present) or 0"),
    ([3862], [0], [1.0], "a segment_labels id is outside [0, 3862)"),
])
def test_segment_training_names_the_inconsistent_record(tmp_path, capsys, labels, starts, scores,
                                                         said):
    """`yt8m train --segment_labels` on records whose ratings do not describe segments of the
    video: exit 2, one line naming the file and the record (the in-graph checks of
    parsing.to_segment_inputs, located by records.corruption_named)."""
    from trainer_module.data import examples

    rng = np.random.default_rng(0)
    shard = tmp_path / "train0000.tfrecord"
    with tf.io.TFRecordWriter(str(shard)) as w:
        for i in range(3):
            video = examples.from_quantized_frames(
                f"v{i}", [1], rng.integers(0, 256, (30, 1024), dtype=np.uint8),
                rng.integers(0, 256, (30, 128), dtype=np.uint8))
            video.segments = [S.Rating(0, 1, 1.0)]
            ex = tf.train.SequenceExample.FromString(examples.frame_sequence_example(video))
            if i == 2:
                for key, values, kind in ((S.LABELS_KEY, labels, "int64_list"),
                                          (S.START_TIMES_KEY, starts, "int64_list"),
                                          (S.SCORES_KEY, scores, "float_list")):
                    del getattr(ex.context.feature[key], kind).value[:]
                    getattr(ex.context.feature[key], kind).value.extend(values)
            w.write(ex.SerializeToString())
    capsys.readouterr()
    assert main(["train", "--train_data_pattern", str(shard), "--train_dir",
                 str(tmp_path / "t"), "--frame_features", "--segment_labels", "--model",
                 "FrameLevelLogisticModel", "--batch_size", "2", "--no_metagraph"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{shard}" in err[0] and "record 2" in err[0] and said in err[0], err
