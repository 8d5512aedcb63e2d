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
