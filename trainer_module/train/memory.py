"""Handing freed heap memory back to the operating system (glibc's ``malloc_trim``).

TensorFlow's tf.data threads, Beam's workers and protobuf parsing allocate many small and
medium blocks from glibc's per-thread arenas. Freed blocks stay resident until glibc trims
them, and it rarely does on its own: a training loop's resident set then creeps up the longer
it runs (measurements: benchmarks/README.md). Everything here is a no-op where libc is not
glibc.
"""
from __future__ import annotations

import ctypes
import gc
import time


def _malloc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return None


_TRIM = _malloc_trim()


def trim_heap(collect: bool = True) -> bool:
    """Optionally collects garbage, then asks glibc to return every free page of every arena.

    Returns whether a trim ran (False where libc is not glibc).
    """
    if collect:
        gc.collect()
    if _TRIM is None:
        return False
    _TRIM(0)
    return True


class PeriodicTrim:
    """Calls ``trim_heap(collect=False)`` at most once every ``every_seconds``, from a loop.

    One trim costs milliseconds (5-9 ms in the Trainer above); calling this after every step
    keeps freed blocks in glibc's arenas from piling up over a long loop. TensorFlow's own
    allocator pool is not glibc's and keeps its high-water mark regardless.
    """

    def __init__(self, every_seconds: float = 5.0, clock=time.monotonic):
        if every_seconds <= 0:
            raise ValueError(f"every_seconds must be > 0, got {every_seconds}")
        self.every_seconds, self._clock = every_seconds, clock
        self._last = clock()
        self.trims = 0

    def __call__(self) -> bool:
        now = self._clock()
        if now - self._last < self.every_seconds:
            return False
        self._last = now
        if trim_heap(collect=False):
            self.trims += 1
            return True
        return False
