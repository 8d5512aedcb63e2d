"""local_runner.trim_heap returns freed heap pages that glibc would otherwise keep resident."""
import threading

import psutil
import pytest

from pipeline import local_runner


@pytest.mark.skipif(not psutil.LINUX, reason="malloc_trim is glibc's (Linux)")
def test_trim_heap_returns_pages_freed_inside_a_thread_arena():
    kept = []

    def component_work():  # like a Beam worker thread: its own arena, mostly freed at the end
        chunks = [bytes(2000) for _ in range(75_000)]  # ~150 MB in small chunks
        kept.extend(chunks[::10])  # every 10th survives, so the arena cannot simply shrink
        del chunks

    worker = threading.Thread(target=component_work)
    worker.start()
    worker.join()
    process = psutil.Process()
    before = process.memory_info().rss
    local_runner.trim_heap()
    after = process.memory_info().rss
    assert before - after > 80 * 2**20, (before >> 20, after >> 20)
    assert len(kept) == 7_500
