"""Synthetic YouTube-8M dataset generator writing records in the exact YT8M 2018 format.

Structure that makes models learnable and comparable:
  * 3862 classes with long-tailed frequencies (vocabulary.csv's TrainVideoCount, else Zipf(1.0));
  * 1 + Poisson(2) labels per video (mean about 3), drawn without replacement by frequency,
    optionally from the ``label_classes`` most frequent classes only (records and models still
    use all 3862): with every class seen often enough, a comparison of frame-level models
    measures how they pool frames rather than how they memorize classes seen once or twice;
  * each class owns a random prototype direction in the 1152-d (rgb ++ audio) space. A video's
    frames are noise plus, for each of its labels, that label's prototype scaled by ``signal``
    during a random contiguous segment (30-70 % of the video). Averaging over frames dilutes the
    evidence while pooling models can find the segments, as with real videos;
  * frame features are quantized to uint8 like the real data; with frame-level output the
    video-level ``mean_rgb``/``mean_audio`` are the means of the dequantized frames.

Every video draws from its own ``np.random.default_rng([seed, index])`` stream, so the output is
identical for a seed whatever the shard count, and memory does not grow with the number of
videos (records are streamed to their shards).
"""
from __future__ import annotations

import dataclasses
import math
import os
from typing import Iterator

import numpy as np

from trainer_module import io_utils
from trainer_module.data import examples
from trainer_module.data import features as F
from trainer_module.data import segments as S
from trainer_module.data import vocabulary as vocabulary_lib

SPLITS = ("train", "validate", "test")
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_RGB, _AUDIO = F.RGB_SIZE, F.AUDIO_SIZE


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
    """Options of ``yt8m generate-data`` (validated here, at the boundary)."""

    output_dir: str
    num_videos: int
    frame_level: bool = False
    num_shards: int = 4
    seed: int = 0
    vocabulary: str | None = None
    signal: float = 1.0
    validate_fraction: float = 0.15
    test_fraction: float = 0.15
    min_frames: int = 60
    max_frames: int = F.MAX_FRAMES
    noise: float = 0.5
    label_classes: int = F.NUM_CLASSES
    segments: bool = False  # 2019 segment ratings in the labelled frame-level records

    def __post_init__(self):
        if self.num_videos < 1 or self.num_videos > len(_ID_ALPHABET) ** 4:
            raise ValueError(f"`num_videos` must be between 1 and {len(_ID_ALPHABET) ** 4}, "
                             f"got {self.num_videos}")
        if self.num_shards < 1:
            raise ValueError(f"`num_shards` must be >= 1, got {self.num_shards}")
        if not (math.isfinite(self.signal) and math.isfinite(self.noise)) or self.signal < 0 \
                or self.noise <= 0:
            raise ValueError(f"`signal` must be a finite number >= 0 (and noise > 0), got "
                             f"{self.signal}, {self.noise}")
        if not 1 <= self.label_classes <= F.NUM_CLASSES:
            raise ValueError(f"`label_classes` must be between 1 and {F.NUM_CLASSES}, "
                             f"got {self.label_classes}")
        fractions = (self.validate_fraction, self.test_fraction)
        if any(not math.isfinite(f) or f < 0 for f in fractions) or sum(fractions) >= 1:
            raise ValueError("`validate_fraction` and `test_fraction` must be >= 0 and sum to < 1, "
                             f"got {fractions}")
        if not 1 <= self.min_frames <= self.max_frames <= F.MAX_FRAMES:
            raise ValueError(f"frames per video must satisfy 1 <= `min_frames` <= `max_frames` <= "
                             f"{F.MAX_FRAMES}, got {self.min_frames}, {self.max_frames}")
        if self.segments and not self.frame_level:
            raise ValueError("`segments` are rated 5-frame segments: they need `frame_level`")
        if os.path.exists(self.output_dir) and not os.path.isdir(self.output_dir):
            raise ValueError(f"`output_dir` {self.output_dir!r} exists and is not a directory")

    def split_sizes(self) -> dict[str, int]:
        n_val = int(round(self.num_videos * self.validate_fraction))
        n_test = int(round(self.num_videos * self.test_fraction))
        return {"train": self.num_videos - n_val - n_test, "validate": n_val, "test": n_test}


def class_frequencies(vocabulary: str | None, label_classes: int = F.NUM_CLASSES) -> np.ndarray:
    """Per-class sampling probabilities [NUM_CLASSES]: TrainVideoCount from the vocabulary or Zipf,
    zero outside the ``label_classes`` most frequent classes."""
    if vocabulary is None:
        counts = 1.0 / np.arange(1, F.NUM_CLASSES + 1, dtype=np.float64)
    else:
        counts = vocabulary_lib.load(vocabulary).train_counts
        if (counts <= 0).any():
            raise ValueError(f"{vocabulary}: TrainVideoCount missing or zero for "
                             f"{int((counts <= 0).sum())} classes")
    # stable sort: equal counts keep the lower index, as the vocabulary's order suggests
    counts = np.where(np.isin(np.arange(F.NUM_CLASSES),
                              np.argsort(-counts, kind="stable")[:label_classes]), counts, 0.0)
    return counts / counts.sum()


def video_id(index: int) -> str:
    """Unique 4-character id for a video index (a fixed bijective scramble of the index)."""
    n = len(_ID_ALPHABET) ** 4
    x = (index * 2654435761 + 12345) % n  # odd multiplier, coprime with 62**4 -> bijection
    chars = []
    for _ in range(4):
        x, r = divmod(x, len(_ID_ALPHABET))
        chars.append(_ID_ALPHABET[r])
    return "".join(chars)


class VideoFactory:
    """Draws videos deterministically from the class prototypes."""

    def __init__(self, config: GeneratorConfig):
        self.config = config
        freq = class_frequencies(config.vocabulary, config.label_classes)
        self.cum_freq = np.cumsum(freq)
        self.last_class = int(np.flatnonzero(freq)[-1])  # a draw rounding past the end lands here
        protos = np.random.default_rng([config.seed, 2**31]).standard_normal(
            (F.NUM_CLASSES, _RGB + _AUDIO), dtype=np.float32)
        self.protos = protos / np.sqrt(_RGB + _AUDIO) * 8.0  # norm 8, per-dim ~0.24

    def labels(self, rng: np.random.Generator) -> np.ndarray:
        n = min(1 + min(rng.poisson(2.0), 30), self.config.label_classes)
        picked: list[int] = []
        while len(picked) < n:
            draw = np.searchsorted(self.cum_freq, rng.random(2 * n), side="right")
            for c in np.minimum(draw, self.last_class):
                if c not in picked and len(picked) < n:
                    picked.append(int(c))
        return np.sort(np.array(picked, dtype=np.int64))

    def make(self, index: int, with_labels: bool) -> examples.Video:
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, index])
        labels = self.labels(rng)
        n_frames = int(rng.integers(cfg.min_frames, cfg.max_frames + 1))
        base = rng.standard_normal(_RGB + _AUDIO, dtype=np.float32) * 0.3
        segments = []  # (class, start, length): each label's signal covers one segment
        for c in labels:
            length = max(1, int(n_frames * rng.uniform(0.3, 0.7)))
            segments.append((c, int(rng.integers(0, n_frames - length + 1)), length))
        out_labels = labels if with_labels else np.zeros(0, np.int64)
        if cfg.frame_level:
            signal = np.zeros((n_frames, _RGB + _AUDIO), np.float32)
            for c, start, length in segments:
                signal[start:start + length] += cfg.signal * self.protos[c]
            noise = rng.standard_normal((n_frames, _RGB + _AUDIO), dtype=np.float32) * cfg.noise
            frames = F.quantize_np(base + signal + noise)  # [frames, 1152]
            means = F.dequantize_np(frames).mean(axis=0)
        else:
            # The same distribution as the mean of the frames above, drawn directly: the mean of
            # n_frames noise vectors is one normal draw with std noise / sqrt(n_frames).
            signal = sum(cfg.signal * self.protos[c] * (length / n_frames)
                         for c, _, length in segments)
            noise = rng.standard_normal(_RGB + _AUDIO, dtype=np.float32) * (
                cfg.noise / np.sqrt(n_frames))
            frames, means = None, (base + signal + noise).astype(np.float32)
        ratings = self.ratings(index, segments, n_frames) if cfg.segments and with_labels \
            else None
        return examples.Video(video_id(index), out_labels, frames, means[:_RGB], means[_RGB:],
                              ratings)

    def ratings(self, index: int, spans: list, n_frames: int) -> list:
        """2019-style ratings of the planted signal: per label, up to 2 full 5-frame segments
        inside its span (score 1) and up to 2 outside it (score 0), at multiples of 5 as the
        dataset's. Drawn from a stream of their own: the frames' bytes do not change."""
        rng = np.random.default_rng([self.config.seed, index, 1])
        size = S.SEGMENT_FRAMES
        starts = range(0, n_frames - size + 1, size)
        out = []
        for c, start, length in spans:
            inside = [t for t in starts if start <= t and t + size <= start + length]
            outside = [t for t in starts if t + size <= start or t >= start + length]
            for pool, score in ((inside, 1.0), (outside, 0.0)):
                for t in rng.permutation(np.asarray(pool, np.int64))[:2]:
                    out.append(S.Rating(int(t), int(c), score))
        return sorted(out)


def _split_indices(config: GeneratorConfig) -> Iterator[tuple[str, int]]:
    start = 0
    for split, size in config.split_sizes().items():
        for i in range(start, start + size):
            yield split, i
        start += size


def _settings(config: GeneratorConfig) -> dict:
    """Everything the bytes depend on (the vocabulary by content)."""
    from trainer_module.output_folder import digest

    fields = dataclasses.asdict(config)
    del fields["output_dir"]
    fields["vocabulary"] = digest(config.vocabulary) if config.vocabulary else None
    return fields


def generate(config: GeneratorConfig, progress: bool = True, overwrite: bool = False
             ) -> dict[str, int]:
    """Writes the dataset and returns the number of videos per split.

    Layout: ``video/{split}NNNN.tfrecord``, ``frame/{split}NNNN.tfrecord`` (with frame_level),
    ``{train,validate}_labels.csv`` (``VideoId,Labels`` with space-separated label ids).
    Files appear at their final paths only when complete (written to a temporary name first).
    The folder's manifest (``output_folder``) makes a re-run with other settings a refusal (or,
    with ``overwrite``, deletes the earlier run's files first: no stale shard stays), and no
    file this command did not write is replaced.
    """
    from trainer_module.output_folder import OutputFolder

    out = OutputFolder(config.output_dir, "generate-data", _settings(config),
                       overwrite=overwrite).claim()
    factory = VideoFactory(config)
    kinds = ["video"] + (["frame"] if config.frame_level else [])
    sizes = config.split_sizes()
    names = {(split, kind): [os.path.join(kind, f"{split}{s:04d}.tfrecord")
                             for s in range(min(config.num_shards, size))]
             for split, size in sizes.items() for kind in kinds}
    csv_names = {split: f"{split}_labels.csv" for split in ("train", "validate") if sizes[split]}
    written = [n for group in names.values() for n in group] + list(csv_names.values())
    for name in written:
        out.will_write(name)
    try:
        counters = _write(config, factory, names, csv_names, progress)
    except BaseException:
        out.abandon(written)
        raise
    for name in written:
        out.wrote(name, every=3600)
    out.flush()
    return counters


def _write(config: GeneratorConfig, factory: VideoFactory, names: dict, csv_names: dict,
           progress: bool) -> dict[str, int]:
    """Streams every video to its shards and labels CSV (all appear together, or none)."""
    from tqdm import tqdm

    with io_utils.AtomicWriters() as writers:
        shards = {key: [writers.tfrecord(os.path.join(config.output_dir, n)) for n in group]
                  for key, group in names.items()}
        label_csvs = {split: writers.text(os.path.join(config.output_dir, name))
                      for split, name in csv_names.items()}
        for csv_file in label_csvs.values():
            csv_file.write("VideoId,Labels\n")
        counters = {split: 0 for split in SPLITS}
        for split, index in tqdm(_split_indices(config), total=config.num_videos, unit="video",
                                 desc="generate-data", disable=not progress, mininterval=1.0):
            video = factory.make(index, with_labels=split != "test")
            n = counters[split]
            counters[split] += 1
            shards[split, "video"][n % len(shards[split, "video"])].write(examples.video_example(video))
            if config.frame_level:
                shards[split, "frame"][n % len(shards[split, "frame"])].write(
                    examples.frame_sequence_example(video))
            if split in label_csvs:
                label_csvs[split].write(f"{video.vid},{' '.join(map(str, video.labels))}\n")
    return counters
