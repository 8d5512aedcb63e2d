"""Shared helpers of the benchmarks: machine line, peak RSS, results tables.

Every benchmark writes one Markdown table to ``benchmarks/results/<name>.md`` (atomically) and
prints it; ``benchmarks/README.md`` quotes them. Benchmarks are single runs on one machine: read
ratios, not absolute numbers.
"""
from __future__ import annotations

import datetime
import os
import platform
import resource
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from trainer_module import io_utils  # noqa: E402

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB, Python {platform.python_version()}"


def peak_rss_mib(children: bool = False) -> float:
    """Peak resident set size of this process (or of its finished children), MiB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024.0


def table(header: list[str], rows: list[list]) -> str:
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def record(name: str, title: str, header: list[str], rows: list[list], notes: str = "",
           script: str | None = None) -> str:
    """Writes benchmarks/results/<name>.md and returns its text (``script``: the benchmark
    module when it differs from ``name``)."""
    command = ("python -m benchmarks." + (script or name)
               + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else ""))
    text = (f"## {title}\n\n{datetime.date.today().isoformat()} · {machine()} · "
            f"`{command.strip()}`\n\n{table(header, rows)}\n")
    if notes:
        text += "\n" + notes.strip() + "\n"
    io_utils.write_text(os.path.join(RESULTS_DIR, f"{name}.md"), text)
    print(text)
    return text
