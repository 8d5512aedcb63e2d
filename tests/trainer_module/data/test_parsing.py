"""The project's parse functions on generated and real YT8M records."""
import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from trainer_module.data import features as F
from trainer_module.data import parsing


def _batch(pattern, n=None):
    recs = [r for r in tf.data.TFRecordDataset(sorted(glob.glob(pattern)))]
    return tf.stack(recs[:n] if n else recs)


def test_frame_level_parse_pads_and_dequantizes(tiny_data):
    spec = F.FeatureSpec.default(frame_level=True, max_frames=15)
    serialized = _batch(os.path.join(tiny_data, "frame", "train*.tfrecord"), 8)
    out = parsing.parse_batch(serialized, spec)
    assert out[F.FEATURES].shape == (8, 15, 1152)
    assert out[F.LABELS_MULTI_HOT].shape == (8, F.NUM_CLASSES)
    num_frames = out[F.NUM_FRAMES].numpy()
    assert ((num_frames >= 10) & (num_frames <= 15)).all()
    first = tf.train.SequenceExample.FromString(serialized[0].numpy())
    rgb0 = np.frombuffer(first.feature_lists.feature_list["rgb"].feature[0].bytes_list.value[0], np.uint8)
    np.testing.assert_array_equal(out[F.FEATURES][0, 0, :1024].numpy(), F.dequantize_np(rgb0))
    feats = out[F.FEATURES].numpy()
    for i, n in enumerate(num_frames):
        assert (feats[i, n:] == 0).all()
    labels = list(first.context.feature["labels"].int64_list.value)
    assert sorted(np.flatnonzero(out[F.LABELS_MULTI_HOT][0].numpy())) == sorted(labels)


def test_video_level_parse_real_shards(real_sample_dir):
    spec = F.FeatureSpec.default()
    serialized = _batch(os.path.join(real_sample_dir, "video_validate_sample", "validate000[01].tfrecord"))
    out = parsing.parse_batch(serialized, spec)
    n = serialized.shape[0]
    assert n > 400
    assert out[F.FEATURES].shape == (n, 1152)
    labels_per_video = out[F.LABELS_MULTI_HOT].numpy().sum(1)
    assert 2.5 < labels_per_video.mean() < 3.5 and labels_per_video.min() >= 1
    assert (out[F.NUM_FRAMES].numpy() == 1).all()
    assert all(len(v) == 4 for v in out[F.VIDEO_ID].numpy())
    feats = out[F.FEATURES].numpy()
    assert -2.01 <= feats.min() and feats.max() <= 2.01


def _sequence_example(rgb_frames, audio_frames, rgb_size=1024):
    ex = tf.train.SequenceExample()
    ex.context.feature["id"].bytes_list.value.append(b"abcd")
    ex.context.feature["labels"].int64_list.value.extend([1, 5])
    for name, frames, size in (("rgb", rgb_frames, rgb_size), ("audio", audio_frames, 128)):
        fl = ex.feature_lists.feature_list[name]
        for i in range(frames):
            fl.feature.add().bytes_list.value.append(bytes([i % 256]) * size)
    return ex.SerializeToString()


def test_frame_parse_trims_long_videos_and_rejects_bad_frames():
    spec = F.FeatureSpec.default(frame_level=True, max_frames=4)
    out = parsing.parse_batch(tf.constant([_sequence_example(6, 6), _sequence_example(2, 2)]), spec)
    np.testing.assert_array_equal(out[F.NUM_FRAMES].numpy(), [4, 2])
    feats = out[F.FEATURES].numpy()
    np.testing.assert_allclose(feats[0, 3, :1024], F.dequantize_np(np.uint8(3)))  # 4th frame
    assert (feats[1, 2:] == 0).all()
    with pytest.raises(tf.errors.InvalidArgumentError, match="'rgb': every frame must hold exactly 1024"):
        parsing.parse_batch(tf.constant([_sequence_example(2, 2, rgb_size=1000)]), spec)
    with pytest.raises(tf.errors.InvalidArgumentError, match="'audio': frame count differs from 'rgb'"):
        parsing.parse_batch(tf.constant([_sequence_example(3, 2)]), spec)
