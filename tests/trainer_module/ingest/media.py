"""Test material made by the tests: short videos (PyAV), a tiny network in the dataset Inception
graph's shape, random orthonormal PCA files, a tiny VGGish-style audio SavedModel."""
from __future__ import annotations

import fractions
import os

import numpy as np

# suffix -> (video codec, pixel format, audio codec or None)
CODECS = {".mp4": ("libx264", "yuv420p", "aac"), ".mkv": ("mpeg4", "yuv420p", "mp2"),
          ".avi": ("mjpeg", "yuvj420p", None), ".mov": ("png", "rgb24", "aac")}


def frame_pixels(index: int, size=(48, 64), pattern: int = 0) -> np.ndarray:
    """RGB uint8 [h, w, 3] of frame ``index``: a colour ramp that moves with time; ``pattern``
    picks one of several looks (stripes of another width and tint)."""
    h, w = size
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(x * (4 + 9 * pattern) + index * 9) % 256, (y * 5 + index * 17) % 256,
                     np.full_like(x, (index * 31 + 120 * pattern) % 256)], axis=-1).astype(np.uint8)


def write_video(path: str, seconds: float, fps: int = 4, size=(48, 64), audio: bool = True,
                pattern: int = 0) -> None:
    import av

    codec, pix_fmt, audio_codec = CODECS[os.path.splitext(path)[1]]
    with av.open(path, "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.height, stream.width = size
        stream.pix_fmt = pix_fmt
        astream = None
        if audio and audio_codec:
            astream = out.add_stream(audio_codec, rate=16000 if audio_codec != "mp2" else 44100)
            astream.layout = "mono"
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(frame_pixels(i, size, pattern), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if astream is not None:
            rate, n = astream.rate, astream.codec_context.frame_size or 1024
            t = np.arange(int(seconds * rate)) / rate
            wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            fmt = astream.codec_context.format.name
            for start in range(0, len(wave) - n + 1, n):
                chunk = wave[start:start + n]
                data = (chunk * 32767).astype(np.int16) if fmt.startswith("s16") else chunk
                frame = av.AudioFrame.from_ndarray(data.reshape(1, -1), format=fmt, layout="mono")
                frame.rate, frame.pts, frame.time_base = rate, start, fractions.Fraction(1, rate)
                for packet in astream.encode(frame):
                    out.mux(packet)
            for packet in astream.encode():
                out.mux(packet)


def tiny_inception_graph(path: str, seed: int = 0) -> str:
    """A frozen GraphDef shaped like the dataset's Inception graph: JPEG bytes at
    DecodeJpeg/contents -> DecodeJpeg:0 (RGB uint8 [h, w, 3], where frames are fed) -> a small
    conv net -> pool_3/_reshape:0 float32 [1, 2048]."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    graph = tf.Graph()
    with graph.as_default():
        contents = tf.compat.v1.placeholder(tf.string, [], name="DecodeJpeg/contents")
        image = tf.io.decode_jpeg(contents, channels=3, name="DecodeJpeg")
        x = tf.image.resize(tf.cast(image, tf.float32)[None] / 255.0, (16, 16))
        kernel = tf.constant(rng.standard_normal((3, 3, 3, 8)).astype(np.float32))
        x = tf.nn.relu(tf.nn.conv2d(x, kernel, 1, "SAME"))
        x = tf.reduce_mean(x, axis=[1, 2])  # [1, 8]
        dense = tf.constant(rng.standard_normal((8, 2048)).astype(np.float32))
        tf.reshape(tf.matmul(x, dense), [1, 2048], name="pool_3/_reshape")
    with open(path, "wb") as f:
        f.write(graph.as_graph_def().SerializeToString())
    return path


def reference_pool(graph_path: str, frame: np.ndarray) -> np.ndarray:
    """The graph's pool features of one frame through a TF1 session (not the code under test)."""
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef.FromString(open(graph_path, "rb").read())
    with tf.Graph().as_default() as graph:
        tf.compat.v1.import_graph_def(graph_def, name="")
        with tf.compat.v1.Session(graph=graph) as session:
            return session.run("pool_3/_reshape:0", {"DecodeJpeg:0": frame})[0]


def random_pca(folder: str, seed: int = 0) -> str:
    """mean.npy [2048, 1], eigenvals.npy [2048, 1] (descending), eigenvecs.npy [2048, 2048]
    (orthonormal rows), as the dataset published them."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    q, _ = np.linalg.qr(rng.standard_normal((2048, 2048)))
    np.save(os.path.join(folder, "mean.npy"), rng.standard_normal((2048, 1)) * 0.1)
    np.save(os.path.join(folder, "eigenvals.npy"), np.sort(rng.uniform(0.5, 20, (2048, 1)))[::-1])
    np.save(os.path.join(folder, "eigenvecs.npy"), q.T)
    return folder


def tiny_audio_model(folder: str) -> str:
    """SavedModel: waveform float32 [samples] at 16 kHz -> [windows, 128], one per 0.96 s."""
    import tensorflow as tf

    class Embed(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def __call__(self, waveform):
            windows = tf.signal.frame(waveform, 15360, 15360)  # [windows, 15360]
            bands = tf.reshape(tf.abs(windows), [-1, 128, 120])
            return tf.reduce_mean(bands, axis=-1) * 4.0 - 1.0  # [windows, 128]

    tf.saved_model.save(Embed(), folder)
    return folder
