"""The Transform graph needs no analysis pass: TFX then runs the in-place Transform, which
reads no data (TFT counts the inputs of any stateful op, such as an Assert, as analyzer inputs).
The same graph still rejects bad records with a message naming the feature."""
import pytest
import tensorflow as tf
import tensorflow_transform as tft

from trainer_module.data import features as F
from trainer_module.tfx_entry import transform
from trainer_module.train.model_flags import ModelFlags

VIDEO_SPECS = {"id": tf.TensorSpec([None, 1], tf.string),
               "labels": tf.SparseTensorSpec([None, None], tf.int64),
               "mean_rgb": tf.TensorSpec([None, 1024], tf.float32),
               "mean_audio": tf.TensorSpec([None, 128], tf.float32)}
FRAME_SPECS = {"id": tf.TensorSpec([None, 1], tf.string),
               "labels": tf.SparseTensorSpec([None, None], tf.int64),
               **{F.SEQUENCE_PREFIX + n: tf.RaggedTensorSpec([None, None, None], tf.string,
                                                            ragged_rank=2, row_splits_dtype=tf.int64)
                  for n in ("rgb", "audio")}}


def _preprocessing_fn(frame: bool):
    flags = ModelFlags(model="DbofModel" if frame else "LogisticModel",
                       feature_names="rgb,audio" if frame else "mean_rgb,mean_audio",
                       feature_sizes="1024,128", frame_features=frame, max_frames=300, hparams={})
    custom = transform.transform_custom_config(flags.to_dict())
    return lambda inputs: transform.preprocessing_fn(inputs, custom)


@pytest.mark.parametrize("frame, specs", [(False, VIDEO_SPECS), (True, FRAME_SPECS)])
def test_no_feature_needs_analysis(frame, specs):
    fn = _preprocessing_fn(frame)
    assert tft.get_analyze_input_columns(fn, specs, force_tf_compat_v1=False) == []
    assert set(tft.get_transform_input_columns(fn, specs, force_tf_compat_v1=False)) == set(specs)


def _frames(n_frames, rgb_bytes=1024):
    per_frame = [[b"\x80" * rgb_bytes] for _ in range(n_frames)]
    return tf.RaggedTensor.from_nested_row_lengths(
        tf.constant([f[0] for f in per_frame]), [[n_frames], [1] * n_frames])


def test_bad_frames_are_refused_by_name():
    fn = _preprocessing_fn(True)
    good = {"id": tf.constant([[b"a"]]), "labels": tf.sparse.from_dense(tf.constant([[3]], tf.int64)),
            F.SEQUENCE_PREFIX + "rgb": _frames(2), F.SEQUENCE_PREFIX + "audio": _frames(2, 128)}
    out = fn(good)
    assert out[F.FEATURES].shape == (1, 300, 1152) and int(out[F.NUM_FRAMES][0]) == 2
    bad = {**good, F.SEQUENCE_PREFIX + "rgb": _frames(2, 1000)}
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="frame feature 'rgb': every frame must hold exactly 1024 bytes"):
        fn(bad)
    short = {**good, F.SEQUENCE_PREFIX + "audio": _frames(1, 128)}
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="frame feature 'audio': frame count differs from 'rgb'"):
        fn(short)


def _segment_fn():
    flags = ModelFlags.resolve("FrameLevelLogisticModel", True, segment_labels=True)
    custom = transform.transform_custom_config(flags.to_dict())
    assert custom["features"]["max_frames"] == 300 and custom["features"]["segments"]
    return lambda inputs: transform.preprocessing_fn(inputs, custom)


SEGMENT_SPECS = {**FRAME_SPECS, **{key: tf.SparseTensorSpec([None, None], dtype) for key, dtype in (
    ("segment_start_times", tf.int64), ("segment_labels", tf.int64),
    ("segment_scores", tf.float32))}}


def test_a_segment_models_transform_passes_whole_videos_and_checked_ratings():
    """Whole videos (300 frames) and the three rating lists as sparse outputs, with no analysis
    pass; a start time past the video's frames refused by name; no ratings in the schema: one
    message naming them."""
    fn = _segment_fn()
    assert tft.get_analyze_input_columns(fn, SEGMENT_SPECS, force_tf_compat_v1=False) == []

    def sparse(values, dtype):
        return tf.sparse.from_dense(tf.constant([values], dtype))

    inputs = {"id": tf.constant([[b"a"]]), "labels": sparse([3], tf.int64),
              F.SEQUENCE_PREFIX + "rgb": _frames(12), F.SEQUENCE_PREFIX + "audio": _frames(12, 128),
              "segment_start_times": sparse([5, 10], tf.int64),
              "segment_labels": sparse([3, 7], tf.int64),
              "segment_scores": tf.SparseTensor([[0, 0], [0, 1]], [1.0, 0.0], [1, 2])}
    out = fn(inputs)
    assert out[F.FEATURES].shape == (1, 300, 1152) and int(out[F.NUM_FRAMES][0]) == 12
    assert out["segment_start_times"].values.numpy().tolist() == [5, 10]
    assert out["segment_labels"].values.numpy().tolist() == [3, 7]
    assert out["segment_scores"].values.numpy().tolist() == [1.0, 0.0]
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="a segment start time is outside its video's frames"):
        fn({**inputs, "segment_start_times": sparse([5, 12], tf.int64)})
    with pytest.raises(ValueError, match="missing: segment_start_times, segment_labels, "
                                         "segment_scores"):
        fn({k: v for k, v in inputs.items() if not k.startswith("segment_")})
