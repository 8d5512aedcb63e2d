"""One output guard for every command: no output equal to, inside or containing an input.

Each ``yt8m`` command declares what it reads and writes (``paths(args)`` in its
``yt8m_cli/cmd_*.py``); ``yt8m_cli/main.py`` calls ``check`` with them before the command does any
work. An input is a file, a folder or a glob (a data pattern, comma-separated globs); an output is
a file or a folder the command writes. Refused, naming both flags:

- an output that is an input (``report --output`` over its ``--vocabulary``),
- an output inside an input folder (``inference --output_file`` inside its ``--train_dir``),
- an output folder that contains an input (``ensemble --output_dir`` over its members' parent),
- an output that an input glob matches (``report --output`` over an evaluated shard),
- two outputs at one path.

Local paths are compared after resolving links; ``gs://`` paths as written (no network call).
A flag declared a folder (``Paths.folders``) that names an existing file is refused as such
("is a file, expected a folder"), never reported later as a missing file inside it.
Folders a command both reads and writes as its own workspace (a train_dir for ``train`` and
``eval``) are declared as outputs only.
"""
from __future__ import annotations

import dataclasses
import fnmatch
import glob
import os
from typing import Iterable

from trainer_module.io_utils import shorten as _cut

_WILDCARDS = ("*", "?", "[")


@dataclasses.dataclass(frozen=True)
class Paths:
    reads: dict  # {flag: path, glob, comma-separated globs, list of them or None}
    writes: dict  # {flag: path or None}
    folders: tuple = ()  # flags (of reads or writes) that name folders


def _norm(path: str) -> str:
    if "://" in path:
        return path.rstrip("/")
    return os.path.realpath(os.path.expanduser(path))


def _inside(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip("/") + "/")


def _entries(value) -> Iterable[str]:
    """The paths or globs of one declared input (a comma-separated data pattern split)."""
    if not value:
        return []
    values = [value] if isinstance(value, str) else list(value)
    return [p.strip() for v in values if v for p in str(v).split(",") if p.strip()]


def _expanded(entry: str) -> tuple[list[str], str | None]:
    """(concrete input paths, the glob itself or None) of one input entry."""
    if not any(c in entry for c in _WILDCARDS):
        return [_norm(entry)], None
    if "://" in entry:
        return [], entry  # matched by pattern only: no network call here
    pattern = os.path.abspath(os.path.expanduser(entry))
    return [_norm(m) for m in glob.glob(pattern, recursive=True)], pattern


def check(paths: Paths) -> None:
    """Raises ValueError naming the output and the input it would replace, contain or sit in,
    or a folder flag that names a file."""
    for flag in paths.folders:
        for entry in _entries(paths.reads.get(flag) or paths.writes.get(flag)):
            if "://" not in entry and os.path.isfile(os.path.expanduser(entry)):
                raise ValueError(f"{flag} {_cut(entry)} is a file, expected a folder")
    concrete: list[tuple[str, str]] = []  # (normalized input, flag)
    globs: list[tuple[str, str]] = []  # (pattern, flag)
    for flag, value in paths.reads.items():
        for entry in _entries(value):
            found, pattern = _expanded(entry)
            concrete.extend((p, flag) for p in found)
            if pattern:
                globs.append((pattern, flag))
    written: dict[str, str] = {}
    for flag, value in paths.writes.items():
        if not value:
            continue
        out = _norm(value)
        shown = _cut(value)
        if out in written:
            raise ValueError(f"{flag} {shown} is also {written[out]}: two outputs at one path")
        written[out] = flag
        for source, in_flag in concrete:
            if out == source:
                raise ValueError(f"{flag} {shown} is also an input ({in_flag}): refusing to "
                                 "overwrite it")
            if _inside(out, source):
                raise ValueError(f"{flag} {shown} is inside {in_flag} {_cut(source)}, which it "
                                 "reads: write it elsewhere")
            if _inside(source, out):
                raise ValueError(f"{flag} {shown} contains {in_flag} {_cut(source)}, which it "
                                 "reads: give a folder that holds none of the inputs")
        for pattern, in_flag in globs:
            target = out if "://" in pattern else os.path.abspath(os.path.expanduser(value))
            if fnmatch.fnmatch(target, pattern) or fnmatch.fnmatch(out, pattern):
                raise ValueError(f"{flag} {shown} matches {in_flag} {_cut(pattern)}, which it "
                                 "reads: write it elsewhere")
