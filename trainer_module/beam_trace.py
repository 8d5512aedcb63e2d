"""Which processes ran the project's Beam code: an opt-in trace for checking parallel runs.

With ``YT8M_BEAM_TRACE_DIR`` set, the first element a process handles in a traced stage (the
ExampleGen shard copy, KaggleExport's predictions, the Evaluator's YT8M metric) leaves a
file ``<stage>.<pid>`` in that folder, holding the folder the project's code was imported from:
after a run with ``beam_workers`` or a portable runner it shows which worker processes did the
work and where their code came from. Unset (the default), ``note`` costs one lookup.
"""
from __future__ import annotations

import os

ENV = "YT8M_BEAM_TRACE_DIR"
_noted: set = set()


def note(stage: str) -> None:
    """Records that this process handles elements of ``stage`` (once per process and stage)."""
    folder = os.environ.get(ENV)
    if not folder or (stage, os.getpid()) in _noted:
        return
    _noted.add((stage, os.getpid()))
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"{stage}.{os.getpid()}"), "w", encoding="utf-8") as f:
        f.write(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(folder: str) -> dict[str, dict[int, str]]:
    """{stage: {pid: the folder its project code came from}} of a trace folder."""
    out: dict[str, dict[int, str]] = {}
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        stage, _, pid = name.rpartition(".")
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            out.setdefault(stage, {})[int(pid)] = f.read()
    return out
