"""Serialized YouTube-8M records: the video-level tf.Example and the frame-level SequenceExample.

The one writer of the dataset's record layout (2018 keys), used by the synthetic generator,
``yt8m extract-features`` and ``yt8m convert-mediapipe``: keys, dtypes and feature order as in
the released shards, serialized deterministically (map keys sorted).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from trainer_module.data import features as F
from trainer_module.data import segments as S


@dataclasses.dataclass
class Video:
    """One video: id, labels, quantized frames [frames, 1152] and float means."""

    vid: str
    labels: np.ndarray
    frames: np.ndarray | None  # uint8 [frames, 1152] (rgb then audio), only for frame-level output
    mean_rgb: np.ndarray
    mean_audio: np.ndarray
    segments: list | None = None  # segments.Rating list (2019 records), frame level only


def from_quantized_frames(vid: str, labels, rgb: np.ndarray, audio: np.ndarray) -> Video:
    """A video from its quantized frames, rgb uint8 [frames, 1024] and audio uint8 [frames, 128];
    the video-level means are the means of the dequantized frames (as in the dataset)."""
    if rgb.dtype != np.uint8 or audio.dtype != np.uint8 or len(rgb) != len(audio) or not len(rgb):
        raise ValueError(f"video {vid}: expected uint8 rgb [frames, {F.RGB_SIZE}] and audio "
                         f"[frames, {F.AUDIO_SIZE}] with the same frame count > 0, got "
                         f"{rgb.dtype} {rgb.shape} and {audio.dtype} {audio.shape}")
    frames = np.concatenate([rgb, audio], axis=1)  # [frames, 1152]
    means = F.dequantize_np(frames).mean(axis=0)
    return Video(vid, np.asarray(sorted(labels), np.int64), frames, means[:F.RGB_SIZE],
                 means[F.RGB_SIZE:])


def video_example(video: Video) -> bytes:
    """Serialized video-level tf.Example (keys and dtypes of the real 2018 records).

    Deterministic serialization (map keys sorted) makes the bytes reproducible for a seed.
    """
    import tensorflow as tf

    feature = {
        F.ID_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[video.vid.encode()])),
        "mean_rgb": tf.train.Feature(float_list=tf.train.FloatList(value=video.mean_rgb)),
        F.LABELS_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=video.labels)),
        "mean_audio": tf.train.Feature(float_list=tf.train.FloatList(value=video.mean_audio)),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString(deterministic=True)


def frame_sequence_example(video: Video) -> bytes:
    """Serialized frame-level tf.SequenceExample: one uint8 byte string per frame and feature."""
    import tensorflow as tf

    context = {
        F.ID_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[video.vid.encode()])),
        F.LABELS_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=video.labels)),
    }
    if video.segments is not None:  # the 2019 ratings, parallel lists (data/segments.py)
        ratings = sorted(video.segments)
        context[S.LABELS_KEY] = tf.train.Feature(int64_list=tf.train.Int64List(
            value=[r.label for r in ratings]))
        context[S.START_TIMES_KEY] = tf.train.Feature(int64_list=tf.train.Int64List(
            value=[r.start for r in ratings]))
        context[S.SCORES_KEY] = tf.train.Feature(float_list=tf.train.FloatList(
            value=[r.score for r in ratings]))
    rgb = [tf.train.Feature(bytes_list=tf.train.BytesList(value=[f[:F.RGB_SIZE].tobytes()]))
           for f in video.frames]
    audio = [tf.train.Feature(bytes_list=tf.train.BytesList(value=[f[F.RGB_SIZE:].tobytes()]))
             for f in video.frames]
    lists = {"rgb": tf.train.FeatureList(feature=rgb), "audio": tf.train.FeatureList(feature=audio)}
    return tf.train.SequenceExample(
        context=tf.train.Features(feature=context),
        feature_lists=tf.train.FeatureLists(feature_list=lists)).SerializeToString(deterministic=True)
