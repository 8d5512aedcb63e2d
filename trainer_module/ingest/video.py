"""Decoding video files with PyAV (FFmpeg): frames at one per second, audio as a 16 kHz waveform.

Frame sampling follows the dataset's extractor: the first decoded frame, then each frame whose
timestamp is at least ``every_s`` after the last kept one, at most ``max_frames`` of them, from the
start of the video. Any container or codec FFmpeg reads works (mp4, mkv, webm, avi, mov, ...).
"""
from __future__ import annotations

import dataclasses

import numpy as np

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mkv", ".webm", ".avi", ".mov", ".mpg", ".mpeg", ".flv", ".wmv",
                  ".3gp", ".ts")
AUDIO_RATE = 16_000  # Hz, what VGGish-style audio models take


class VideoError(Exception):
    """A video that cannot be read: not a video, damaged, no video stream, no frames."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


@dataclasses.dataclass(frozen=True)
class Decoded:
    frames: list  # RGB uint8 [height, width, 3] per sampled second, or transform's outputs
    num_frames: int  # sampled seconds
    waveform: np.ndarray | None  # float32 [samples] mono at AUDIO_RATE; None without an audio track


def decode(path: str, every_s: float = 1.0, max_frames: int = 300, with_audio: bool = True,
           transform=None, chunk: int = 16) -> Decoded:
    """Frames (and, with_audio, the audio of the same seconds) of one video file.

    ``transform`` (e.g. the frame network) is applied to each run of up to ``chunk`` sampled
    frames as they are decoded and only its outputs are kept: 300 full-HD frames (1.9 GB) never
    pile up in memory.

    Raises:
      VideoError: naming the file and FFmpeg's reason.
    """
    import av

    try:
        with av.open(path) as container:
            frames, count = _sample_frames(container, path, every_s, max_frames, transform, chunk)
        waveform = None
        if with_audio:
            with av.open(path) as container:
                waveform = _waveform(container, seconds=count * every_s)
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as e:
        reason = getattr(e, "strerror", None) or " ".join(str(e).split()) or type(e).__name__
        raise VideoError(path, f"cannot decode ({reason})") from None
    return Decoded(frames, count, waveform)


def _sample_frames(container, path: str, every_s: float, max_frames: int, transform,
                   chunk: int) -> tuple[list, int]:
    if not container.streams.video:
        raise VideoError(path, "no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    kept, pending, count, last = [], [], 0, None
    for index, frame in enumerate(container.decode(stream)):
        # A frame without a timestamp counts from the stream's average rate.
        t = frame.time if frame.time is not None else index / float(stream.average_rate or 1)
        if last is None or t >= last + every_s - 1e-6:
            pending.append(frame.to_ndarray(format="rgb24"))  # [h, w, 3] uint8
            last, count = t, count + 1
            if transform is not None and len(pending) == chunk:
                kept.append(transform(pending))
                pending = []
            if count == max_frames:
                break
    if not count:
        raise VideoError(path, "no decodable video frames")
    if transform is None:
        return pending, count
    if pending:
        kept.append(transform(pending))
    return kept, count


def _waveform(container, seconds: float) -> np.ndarray | None:
    """Mono float32 waveform at AUDIO_RATE of the first ``seconds``, None without audio."""
    import av

    if not container.streams.audio:
        return None
    resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
    chunks, total, limit = [], 0, int(round(seconds * AUDIO_RATE))
    for frame in container.decode(container.streams.audio[0]):
        for out in resampler.resample(frame):
            chunks.append(out.to_ndarray().reshape(-1))
            total += chunks[-1].size
        if total >= limit:
            break
    else:
        chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    if not chunks:
        return None
    return np.concatenate(chunks)[:limit].astype(np.float32)
