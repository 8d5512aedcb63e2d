"""extract-features' chain on videos the test writes, a tiny network in the Inception graph's
shape and random orthonormal PCA files; one run on the real Inception-v3 architecture."""
import csv
import os

import numpy as np
import pytest
import tensorflow as tf

from tests.trainer_module.ingest import media
from trainer_module.data import features as F
from trainer_module.data import records
from trainer_module.ingest import extract as extract_lib
from trainer_module.ingest import inception
from trainer_module.jobs import extract_features as job_lib


@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    root = tmp_path_factory.mktemp("nets")
    return {"graph": media.tiny_inception_graph(str(root / "classify_image_graph_def.pb")),
            "pca": media.random_pca(str(root / "pca")),
            "audio": media.tiny_audio_model(str(root / "audio"))}


def _files(nets, **kw):
    return extract_lib.ExtractorFiles(nets["graph"], nets["pca"], nets["audio"], **kw)


def _run(videos, out, files, **kw):
    return job_lib.run(job_lib.ExtractJob(videos=tuple(videos), output_dir=str(out), files=files,
                                          **kw), log=lambda *_: None, progress=False)


def _sequences(out, prefix="videos"):
    paths = sorted((out / "frame").glob(f"{prefix}*.tfrecord"))
    return [tf.train.SequenceExample.FromString(r) for p in paths
            for r in records.iterate_records(str(p))]


def _frames(example, key, size):
    rows = [np.frombuffer(f.bytes_list.value[0], np.uint8)
            for f in example.feature_lists.feature_list[key].feature]
    assert all(r.shape == (size,) for r in rows)
    return np.stack(rows)


def test_frames_are_the_dataset_chain_of_the_sampled_seconds(tmp_path, nets):
    """Lossless video (PNG in .mov, 4 fps, 3.5 s): frames 0, 4, 8, 12 are sampled; each one's rgb
    bytes are quantize(whiten(pca(pool(frame)))) computed here independently; 3 audio windows of
    0.96 s for 4 frames: the 4th audio frame is zero bytes; means of the dequantized frames."""
    media.write_video(str(tmp_path / "clip.mov"), 3.5, fps=4)
    labels = tmp_path / "labels.csv"
    labels.write_text("video,labels\nclip.mov,3;17\n")
    result = _run([str(tmp_path / "clip.mov")], tmp_path / "out", _files(nets),
                  labels_csv=str(labels))
    assert (result.extracted, result.skipped) == (1, [])
    [example] = _sequences(tmp_path / "out")
    context = example.context.feature
    assert context["id"].bytes_list.value == [b"clip"]
    assert list(context["labels"].int64_list.value) == [3, 17]
    rgb = _frames(example, "rgb", 1024)
    audio = _frames(example, "audio", 128)
    assert rgb.shape == (4, 1024) and audio.shape == (4, 128)

    mean = np.load(f"{nets['pca']}/mean.npy")[:, 0]
    vecs = np.load(f"{nets['pca']}/eigenvecs.npy").T[:, :1024]
    vals = np.load(f"{nets['pca']}/eigenvals.npy")[:1024, 0]
    for i in range(4):
        pool = media.reference_pool(nets["graph"], media.frame_pixels(4 * i))
        whitened = (pool - mean) @ vecs / np.sqrt(vals + 1e-4)
        expected = np.round((np.clip(whitened, -2, 2) + 2) * 255 / 4)
        assert np.abs(rgb[i].astype(int) - expected).max() <= 1  # float32 vs float64 ties
        assert (rgb[i] == expected).mean() > 0.99
    assert rgb.std() > 10  # features spread over the byte range, not one clipped value
    assert audio[:3].any(axis=1).all() and not audio[3].any()

    [video_record] = list(records.iterate_records(str(tmp_path / "out/video/videos0000.tfrecord")))
    feature = tf.train.Example.FromString(video_record).features.feature
    np.testing.assert_allclose(feature["mean_rgb"].float_list.value,
                               F.dequantize_np(rgb).mean(axis=0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(feature["mean_audio"].float_list.value,
                               F.dequantize_np(audio).mean(axis=0), rtol=1e-6, atol=1e-6)
    with open(tmp_path / "out/videos_labels.csv") as f:
        assert list(csv.reader(f)) == [["VideoId", "Labels"], ["clip", "3 17"]]


def test_containers_damaged_videos_and_resume(tmp_path, nets):
    """mp4 (H.264 + AAC), mkv (MPEG-4 + MP2), avi (MJPEG, no audio) are read; a truncated mp4 and
    random bytes are reported and skipped without stopping the rest; a re-run after losing one
    shard writes only that shard, byte for byte as before."""
    videos = tmp_path / "videos"
    videos.mkdir()
    for name, seconds in (("a.mp4", 2.5), ("b.mkv", 3.0), ("c.avi", 1.5)):
        media.write_video(str(videos / name), seconds)
    (videos / "d_truncated.mp4").write_bytes((videos / "a.mp4").read_bytes()[:2000])
    (videos / "e_noise.mkv").write_bytes(np.random.default_rng(0).bytes(5000))
    (videos / "notes.txt").write_text("not a video")
    out = tmp_path / "out"
    result = _run([str(videos)], out, _files(nets), videos_per_shard=2)
    assert result.extracted == 3 and result.shards_written == 3
    assert [os.path.basename(p) for p, _ in result.skipped] == ["d_truncated.mp4", "e_noise.mkv"]
    assert all("cannot decode" in reason for _, reason in result.skipped)
    with open(out / "videos_skipped.csv") as f:
        assert [row[0] for row in csv.reader(f)][1:] == [p for p, _ in result.skipped]
    frames = {e.context.feature["id"].bytes_list.value[0].decode():
              len(e.feature_lists.feature_list["rgb"].feature) for e in _sequences(out)}
    assert frames == {"a": 3, "b": 3, "c": 2}  # 4 fps: frames at 0..2.25 s, 0..2.75 s, 0..1.25 s

    before = {p: p.read_bytes() for p in sorted(out.rglob("*.tfrecord"))}
    (out / "frame" / "videos0001.tfrecord").unlink()
    again = _run([str(videos)], out, _files(nets), videos_per_shard=2)
    assert (again.shards_done_before, again.shards_written, again.extracted) == (2, 1, 1)
    assert {p: p.read_bytes() for p in sorted(out.rglob("*.tfrecord"))} == before


def test_two_workers_write_the_same_records(tmp_path, nets):
    for i in range(3):
        media.write_video(str(tmp_path / f"v{i}.mp4"), 1.2 + i)
    one = _run([str(tmp_path / "*.mp4")], tmp_path / "one", _files(nets))
    two = _run([str(tmp_path / "*.mp4")], tmp_path / "two", _files(nets), num_workers=2)
    assert one.extracted == two.extracted == 3
    for kind in ("frame", "video"):
        assert (tmp_path / "one" / kind / "videos0000.tfrecord").read_bytes() == \
            (tmp_path / "two" / kind / "videos0000.tfrecord").read_bytes()


def test_real_inception_v3_architecture_gives_the_record_contract(tmp_path, nets):
    """Keras Inception-v3 (random weights, no top) through the whole chain: 1024 rgb bytes and
    128 audio bytes per sampled second, 2048 pool features before PCA."""
    import tf_keras

    weights = str(tmp_path / "inception_v3_notop.h5")
    tf_keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg",
                                      input_shape=(299, 299, 3)).save_weights(weights)
    network = inception.FrameNetwork(weights)
    assert "not the dataset's" in network.label
    assert network([media.frame_pixels(0), media.frame_pixels(1, (90, 120))]).shape == (2, 2048)
    media.write_video(str(tmp_path / "clip.mp4"), 2.5)
    files = extract_lib.ExtractorFiles(weights, nets["pca"], nets["audio"])
    assert _run([str(tmp_path / "clip.mp4")], tmp_path / "out", files).extracted == 1
    [example] = _sequences(tmp_path / "out")
    assert _frames(example, "rgb", 1024).shape == (3, 1024)
    assert _frames(example, "audio", 128).shape == (3, 128)


def test_labels_csv_ids_names_and_errors(tmp_path):
    vocabulary = tmp_path / "vocabulary.csv"
    vocabulary.write_text("Index,TrainVideoCount,Name\n0,10,Game\n5,3,Video game\n")
    rows = tmp_path / "labels.csv"
    rows.write_text("video,labels\nclips/a.mp4,Game;Video game\nb,7 2\nc,video game|3\nd,\n")
    assert job_lib.read_labels_csv(str(rows), str(vocabulary)) == {
        "a": [0, 5], "b": [2, 7], "c": [3, 5], "d": []}
    rows.write_text("a.mp4,Guitar\n")
    with pytest.raises(ValueError, match=rf"{rows}:1: unknown label 'Guitar'"):
        job_lib.read_labels_csv(str(rows), str(vocabulary))
    rows.write_text("a.mp4,3862\n")
    with pytest.raises(ValueError, match=r"labels.csv:1: label 3862 outside \[0, 3862\)"):
        job_lib.read_labels_csv(str(rows), None)


def test_bad_network_files_are_named(tmp_path, nets):
    (tmp_path / "pca").mkdir()
    np.save(tmp_path / "pca/mean.npy", np.zeros((1024, 1)))
    with pytest.raises(ValueError, match=r"`pca_dir`: .*mean.npy has shape \(1024, 1\), expected "
                                         r"\(2048, 1\)"):
        inception.load_pca(str(tmp_path / "pca"))
    (tmp_path / "g.pb").write_bytes(b"not a graph")
    with pytest.raises(ValueError, match="`inception_weights`: .*g.pb is not a TensorFlow GraphDef"):
        inception.FrameNetwork(str(tmp_path / "g.pb"))
    with pytest.raises(ValueError, match="`inception_weights`: .*missing.pb is not a file"):
        inception.FrameNetwork(str(tmp_path / "missing.pb"))
    media.write_video(str(tmp_path / "a.mp4"), 1.0)
    labels = tmp_path / "labels.csv"
    labels.write_text("other.mp4,1\n")
    with pytest.raises(ValueError, match=r"has no row for 1 of 1 videos \(a\)"):
        _run([str(tmp_path / "a.mp4")], tmp_path / "out", _files(nets), labels_csv=str(labels))


def test_colliding_video_ids_are_refused(tmp_path, nets):
    media.write_video(str(tmp_path / "a.mp4"), 1.0)
    media.write_video(str(tmp_path / "a.mkv"), 1.0)
    with pytest.raises(ValueError, match=r"`videos`: .*a.mkv and .*a.mp4 give the same video id 'a'"):
        _run([str(tmp_path)], tmp_path / "out", _files(nets))
    assert not (tmp_path / "out").exists()


def test_frames_reach_the_network_in_chunks(tmp_path):
    """Sampled frames are handed to the network as they are decoded, a chunk at a time, so a long
    high-resolution video never holds all its frames in memory."""
    from trainer_module.ingest import video as video_lib

    media.write_video(str(tmp_path / "v.mp4"), 5.0)
    chunks = []
    decoded = video_lib.decode(str(tmp_path / "v.mp4"), with_audio=False, chunk=2,
                               transform=lambda frames: chunks.append(len(frames)) or len(frames))
    assert chunks == [2, 2, 1] and decoded.frames == [2, 2, 1] and decoded.num_frames == 5
    assert video_lib.decode(str(tmp_path / "v.mp4"), max_frames=3, with_audio=False,
                            chunk=2, transform=len).num_frames == 3
