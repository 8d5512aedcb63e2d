"""Benchmark: synthetic data generation rate (10,000 video-level, 1,000 frame-level videos).

Run: .venv/bin/python -m benchmarks.bench_generate   (writes benchmarks/results/bench_generate.md)
"""
import os
import tempfile
import time

from benchmarks import common
from trainer_module.data import synthetic as synthetic_data


def measure(num_videos: int, frame_level: bool) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as out:
        cfg = synthetic_data.GeneratorConfig(output_dir=out, num_videos=num_videos,
                                             frame_level=frame_level, seed=0)
        start = time.perf_counter()
        synthetic_data.generate(cfg, progress=False)
        seconds = time.perf_counter() - start
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
    return seconds, size


def main():
    import tensorflow as tf  # noqa: F401  (import cost outside the timing)

    rows = []
    for n, frame in ((10_000, False), (1_000, True)):
        seconds, size = measure(n, frame)
        label = ("frame-level + video-level records, 60-300 frames" if frame
                 else "video-level records")
        rows.append([label, n, round(seconds, 1), round(n / seconds), round(size / 1e6)])
    common.record("bench_generate", "Synthetic data generation (`yt8m generate-data`)",
                  ["case", "videos", "seconds", "videos/s", "MB written"], rows,
                  f"Peak RSS {common.peak_rss_mib():.0f} MiB (TensorFlow import included): "
                  "shards are streamed, memory does not grow with the number of videos.")


if __name__ == "__main__":
    main()
