"""convert-mediapipe: MediaPipe's float feature lists -> the dataset's quantized bytes."""
import numpy as np
import pytest
import tensorflow as tf

from trainer_module.data import features as F
from trainer_module.data import records
from trainer_module.jobs import convert_mediapipe as job_lib


def mediapipe_example(rgb, audio, data_path="/videos/holiday.mp4", labels=None, **context):
    """A SequenceExample as MediaPipe's feature_extraction graph writes it (media-sequence keys)."""
    ex = tf.train.SequenceExample()
    ex.context.feature["clip/data_path"].bytes_list.value.append(data_path.encode())
    ex.context.feature["clip/start/timestamp"].int64_list.value.append(0)
    ex.context.feature["RGB/feature/dimensions"].int64_list.value.append(1024)
    ex.context.feature["RGB/feature/rate"].float_list.value.append(1.0)
    for key, value in context.items():
        ex.context.feature[key].bytes_list.value.append(value.encode())
    if labels is not None:
        ex.context.feature["clip/label/index"].int64_list.value.extend(labels)
    for key, rows in (("RGB", rgb), ("AUDIO", audio)):
        for i, row in enumerate(rows):
            ex.feature_lists.feature_list[f"{key}/feature/floats"].feature.add(
            ).float_list.value.extend(row)
            ex.feature_lists.feature_list[f"{key}/feature/timestamp"].feature.add(
            ).int64_list.value.append(i * 1_000_000)
    return ex.SerializeToString()


def seed_quantize(features):
    """The dataset extractor's quantize(): clip to [-2, 2], * 255 / 4, Python's round()."""
    features = np.clip(np.asarray(features, np.float32), -2.0, 2.0)
    return bytes(int(round(f)) for f in (features + 2.0) * (255.0 / 4.0))


def test_floats_quantized_as_the_dataset_and_ids_labels_audio(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.normal(0, 1.2, (5, 1024)).astype(np.float32)
    rgb[0, :6] = [-3.0, -2.0, 0.0, 2.0, 5.0, 1e-3]  # clipped ends and the middle
    audio = rng.normal(0, 1, (4, 128)).astype(np.float32)  # 4 windows for 5 frames
    single = tmp_path / "features.pb"  # what extract_yt8m_features writes: one proto, no TFRecord
    single.write_bytes(mediapipe_example(rgb, audio, labels=[9, 2]))
    stream = tmp_path / "more.tfrecord"
    with tf.io.TFRecordWriter(str(stream)) as w:
        w.write(mediapipe_example(rgb[:2], audio[:2], **{"example/id": "ex-7"}))
        w.write(mediapipe_example(rgb[:3], audio[:0], data_path="c/quiet.mkv"))
    notes = []
    converted, before = job_lib.run(job_lib.ConvertJob(
        inputs=(str(single), str(tmp_path / "*.tfrecord")), output_dir=str(tmp_path / "out"),
        videos_per_shard=2), log=notes.append)
    assert (converted, before) == (3, 0)
    assert len(notes) == 2 and "4 audio windows for 5 frames" in notes[0]

    out = [tf.train.SequenceExample.FromString(r) for s in ("videos0000", "videos0001")
           for r in records.iterate_records(str(tmp_path / f"out/frame/{s}.tfrecord"))]
    ids = [e.context.feature["id"].bytes_list.value[0] for e in out]
    assert ids == [b"holiday", b"ex-7", b"quiet"]
    assert list(out[0].context.feature["labels"].int64_list.value) == [2, 9]
    first = out[0].feature_lists.feature_list
    assert [f.bytes_list.value[0] for f in first["rgb"].feature] == [seed_quantize(r) for r in rgb]
    assert first["rgb"].feature[0].bytes_list.value[0][:6] == bytes([0, 0, 128, 255, 255, 128])
    got_audio = [f.bytes_list.value[0] for f in first["audio"].feature]
    assert got_audio[:4] == [seed_quantize(r) for r in audio] and got_audio[4] == bytes(128)
    quiet = out[2].feature_lists.feature_list["audio"].feature
    assert [f.bytes_list.value[0] for f in quiet] == [bytes(128)] * 3

    video = tf.train.Example.FromString(next(records.iterate_records(
        str(tmp_path / "out/video/videos0000.tfrecord")))).features.feature
    frames = np.frombuffer(b"".join(seed_quantize(r) for r in rgb), np.uint8).reshape(5, 1024)
    np.testing.assert_allclose(video["mean_rgb"].float_list.value,
                               F.dequantize_np(frames).mean(axis=0), atol=1e-6)
    labels_csv = (tmp_path / "out/videos_labels.csv").read_text().splitlines()
    assert labels_csv == ["VideoId,Labels", "ex-7,", "holiday,2 9", "quiet,"]


def test_records_that_are_not_mediapipe_are_named(tmp_path):
    bad = tmp_path / "yt8m.tfrecord"
    ex = tf.train.SequenceExample()
    ex.context.feature["id"].bytes_list.value.append(b"abcd")
    ex.feature_lists.feature_list["rgb"].feature.add().bytes_list.value.append(bytes(1024))
    with tf.io.TFRecordWriter(str(bad)) as w:
        w.write(ex.SerializeToString())
    job = job_lib.ConvertJob(inputs=(str(bad),), output_dir=str(tmp_path / "out"))
    with pytest.raises(ValueError, match=rf"{bad} record 0: no RGB/feature/floats frames"):
        job_lib.run(job)
    short = tmp_path / "short.pb"
    short.write_bytes(mediapipe_example(np.zeros((2, 1000)), np.zeros((0, 128))))
    with pytest.raises(ValueError, match=rf"{short}: RGB/feature/floats frame 0 has 1000 floats"):
        job_lib.run(job_lib.ConvertJob(inputs=(str(short),), output_dir=str(tmp_path / "out2")))
    assert not [p for d in ("out", "out2") for p in (tmp_path / d).rglob("*.tfrecord*")]


def test_a_damaged_tfrecord_file_is_named(tmp_path):
    """A TFRecord file cut inside its second record is an error naming it, not one proto."""
    from trainer_module.errors import DataError

    path = tmp_path / "cut.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as w:
        for _ in range(2):
            w.write(mediapipe_example(np.zeros((2, 1024)), np.zeros((2, 128))))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match=rf"{path}: damaged TFRecord file after record 1"):
        job_lib.run(job_lib.ConvertJob(inputs=(str(path),), output_dir=str(tmp_path / "out")))
    assert not list((tmp_path / "out").rglob("*.tfrecord"))
