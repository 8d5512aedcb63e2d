"""Returning freed memory to the OS between the components of one process (LocalDagRunner)."""
from __future__ import annotations

import ctypes
import gc


def trim_heap() -> None:
    """Collects garbage and asks glibc to hand freed heap pages back to the OS.

    On LocalDagRunner every component shares one process, and Beam's worker threads allocate
    from their own glibc arenas: pages one component freed stay resident, and a later component
    whose threads use other arenas cannot reuse them. A no-op where libc is not glibc.
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass
