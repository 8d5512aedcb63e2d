"""Benchmark: `yt8m extract-features` on short generated videos (videos/s, and where the time goes).

12 videos of 10 s (320x240, 25 fps, H.264 + AAC) through the whole chain with the Inception-v3
architecture (Keras, random weights: the same network size as the dataset's frozen graph, whose
file is not available here), random orthonormal PCA and a small stand-in audio model; 1 and 2
worker processes. The stage table times each step of the chain on the same videos in one process.

Run: .venv/bin/python -m benchmarks.bench_extract   (writes benchmarks/results/bench_extract.md)
"""
import os
import tempfile
import time

from benchmarks import common
from tests.trainer_module.ingest import media

VIDEOS, SECONDS = 12, 10.0


def main():
    import tf_keras

    from trainer_module.data import examples
    from trainer_module.data import features as F
    from trainer_module.ingest import audio as audio_lib
    from trainer_module.ingest import extract as extract_lib
    from trainer_module.ingest import video as video_lib
    from trainer_module.jobs import extract_features as job_lib

    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "videos")
        os.makedirs(folder)
        for i in range(VIDEOS):
            media.write_video(os.path.join(folder, f"v{i:02d}.mp4"), SECONDS, fps=25,
                              size=(240, 320), pattern=i % 2)
        weights = os.path.join(tmp, "inception_v3.h5")
        tf_keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg",
                                          input_shape=(299, 299, 3)).save_weights(weights)
        files = extract_lib.ExtractorFiles(weights, media.random_pca(os.path.join(tmp, "pca")),
                                           media.tiny_audio_model(os.path.join(tmp, "audio")))
        rows = []
        for workers in (1, 2):
            job = job_lib.ExtractJob(videos=(folder,), output_dir=os.path.join(tmp, f"o{workers}"),
                                     files=files, num_workers=workers)
            result = job_lib.run(job, log=lambda *_: None, progress=False)
            assert result.extracted == VIDEOS
            rows.append([f"{workers} worker{'s' if workers > 1 else ''}", VIDEOS,
                         round(result.seconds, 1), round(VIDEOS / result.seconds, 2),
                         round(VIDEOS * SECONDS / result.seconds, 1)])

        extractor = extract_lib.Extractor(files)
        stages = dict.fromkeys(["decode (PyAV, frames + 16 kHz audio)", "Inception-v3 (299x299)",
                                "PCA + whitening + quantize", "audio model + quantize",
                                "means + serialize"], 0.0)
        names = list(stages)
        for i in range(VIDEOS):
            t = [time.perf_counter()]
            decoded = video_lib.decode(os.path.join(folder, f"v{i:02d}.mp4"))
            t.append(time.perf_counter())
            pool = extractor.frames(decoded.frames)
            t.append(time.perf_counter())
            rgb = F.quantize_np(extractor.pca(pool))
            t.append(time.perf_counter())
            audio = audio_lib.fit_frames(extractor.audio(decoded.waveform), len(rgb))
            t.append(time.perf_counter())
            video = examples.from_quantized_frames(f"v{i}", [], rgb, audio)
            examples.frame_sequence_example(video), examples.video_example(video)
            t.append(time.perf_counter())
            for name, a, b in zip(names, t, t[1:]):
                stages[name] += b - a
        total = sum(stages.values())
        stage_rows = [[name, round(1000 * s / (VIDEOS * SECONDS), 1), f"{100 * s / total:.0f} %"]
                      for name, s in stages.items()]
    notes = ("Where the time goes (one process, per second of video = per sampled frame):\n\n"
             + common.table(["stage", "ms per frame", "share"], stage_rows) + "\n\n"
             "The frame network dominates: Inception-v3 costs about "
             f"{1000 * stages[names[1]] / (VIDEOS * SECONDS):.0f} ms per frame on these 2 cores, "
             "so a real YouTube video (up to 300 sampled seconds) takes tens of seconds. A second "
             "worker process only splits the cores TensorFlow already uses within one process, so it "
             "does not pay here (it would where decoding is a larger share than this 8 %, which was "
             "not measured). Decoding reads every "
             "frame at the source rate (25 fps here) to keep one per second. No GPU here: on a "
             "GPU the network's share would shrink and parallel decoding would matter more.")
    common.record("bench_extract", "Feature extraction (`yt8m extract-features`)",
                  ["case", "videos", "seconds", "videos/s", "video seconds/s"], rows, notes)


if __name__ == "__main__":
    main()
