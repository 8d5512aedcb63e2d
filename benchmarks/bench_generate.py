"""Benchmark: synthetic data generation rate (10,000 video-level, 1,000 frame-level videos).

Run: .venv/bin/python -m benchmarks.bench_generate  (prints a Markdown table row per case)
"""
import os
import tempfile
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from trainer_module import synthetic_data  # noqa: E402


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

    print("| case | videos | seconds | videos/s | MB written |")
    print("| --- | --- | --- | --- | --- |")
    for n, frame in ((10_000, False), (1_000, True)):
        seconds, size = measure(n, frame)
        label = "frame-level (+ video-level), 60-300 frames" if frame else "video-level"
        print(f"| {label} | {n} | {seconds:.1f} | {n / seconds:.0f} | {size / 1e6:.0f} |")


if __name__ == "__main__":
    main()
