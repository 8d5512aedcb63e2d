"""Folders a command fills, with a manifest of what it wrote and from what: resume by content,
replace only our own files, never a folder someone else filled.

The writers of several files (``generate-data``, ``extract-features``, ``convert-mediapipe``,
``download``, ``ensemble``) each claim their output folder before any work:

- a new or empty folder: theirs; the manifest ``.yt8m-RUN.json`` is written before the first
  file (a run that fails before writing leaves nothing behind);
- a non-empty folder without any yt8m manifest: refused, nothing touched;
- the manifest of an earlier run of the same kind (``RUN``: the command and what it is a part of,
  e.g. ``extract-features train``) with the same settings (inputs by content, options): resumed;
  the files it lists are the only ones this run may skip, replace or delete;
- with other settings: refused, saying what differs, unless ``overwrite`` (``--overwrite``): then
  the files the manifest lists, and only those, are deleted first (no stale shard stays for a
  glob to match).

A file the run is about to write that exists but is not in its manifest (another command's, the
user's) is refused rather than replaced (``will_write``). The manifest lists a file as pending
before it is written and as complete after, so a run killed in between still knows it as its own.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
import time

from trainer_module import io_utils
from trainer_module.io_utils import shorten as _cut

PREFIX = ".yt8m-"
_CHUNK = 1 << 20


def digest(path: str, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, or of a folder's files (names and bytes, sorted)."""
    h = hashlib.new(algorithm)
    if os.path.isdir(path):
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(root, name)
                h.update(os.path.relpath(full, path).encode() + b"\0")
                h.update(digest(full, algorithm).encode())
        return h.hexdigest()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _differences(before: dict, now: dict) -> str:
    """``key: old -> new`` for each setting that differs; input maps by what was added/removed/
    changed."""
    out = []
    for key in sorted(set(before) | set(now)):
        a, b = before.get(key), now.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            parts = [f"{len(v)} {what} ({_cut(', '.join(sorted(v)[:3]), 60)})"
                     for what, v in (("added", set(b) - set(a)), ("removed", set(a) - set(b)),
                                     ("changed", {k for k in set(a) & set(b) if a[k] != b[k]}))
                     if v]
            out.append(f"{key}: {'; '.join(parts)}")
        else:
            out.append(f"{key}: {_cut(json.dumps(a), 40)} -> {_cut(json.dumps(b), 40)}")
    return ", ".join(out)


def _first_file(folder: str) -> str | None:
    """The first file (or link) under ``folder`` in walk order, relative; None when none."""
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        entries = sorted(names) + sorted(d for d in dirs if os.path.islink(os.path.join(root, d)))
        if entries:
            return os.path.relpath(os.path.join(root, entries[0]), folder)
    return None


class OutputFolder:
    """One run's claim on a folder (see the module docstring)."""

    def __init__(self, folder: str, run: str, settings: dict, *, flag: str = "`output_dir`",
                 overwrite: bool = False):
        self.folder, self.run, self.flag = folder, run, flag
        self.settings = json.loads(json.dumps(settings, sort_keys=True))  # plain JSON values
        self.overwrite = overwrite
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", run)
        self.manifest = os.path.join(folder, f"{PREFIX}{slug}.json")
        self.files: dict[str, dict] = {}  # relative path -> what the writer recorded
        self._lock = threading.Lock()  # download's threads record files
        self._saved = 0.0
        self._created: bool | None = None  # whether this run made the folder (first save)

    def claim(self) -> "OutputFolder":
        """Checks the folder; ``files`` then holds what an earlier run with the same settings
        wrote (the only files this run may skip or replace). Nothing is written yet."""
        shown = f"{self.flag} {_cut(self.folder)}"
        if os.path.lexists(self.folder) and not os.path.isdir(self.folder):
            raise ValueError(f"{shown} is a file, expected a folder")
        entries = sorted(os.listdir(self.folder)) if os.path.isdir(self.folder) else []
        if not any(e.startswith(PREFIX) and e.endswith(".json") for e in entries):
            found = _first_file(self.folder)  # empty folders inside count as empty
            if found:
                raise ValueError(f"{shown} is not empty (it holds {_cut(found, 40)!r}) and no yt8m "
                                 "command wrote it: give a new or empty folder (nothing in it is "
                                 "replaced or deleted)")
        if os.path.exists(self.manifest):
            earlier = io_utils.read_json(self.manifest)
            if earlier.get("settings") == self.settings:
                self.files = dict(earlier.get("files", {}))
            elif self.overwrite:
                self._remove(earlier.get("files", {}))
                self._save()
            else:
                raise ValueError(
                    f"{shown} holds an earlier `{self.run}` with other settings "
                    f"({_differences(earlier.get('settings', {}), self.settings)}): give another "
                    f"folder, or `overwrite` to replace that run's {len(earlier.get('files', {}))} "
                    "files (nothing else is touched)")
        return self

    def _remove(self, files: dict) -> None:
        root = os.path.realpath(self.folder)
        for rel in files:
            path = os.path.realpath(os.path.join(self.folder, rel))
            if path.startswith(root + os.sep) and os.path.isfile(path) \
                    and not os.path.islink(os.path.join(self.folder, rel)):
                os.remove(path)

    def owns(self, rel: str) -> bool:
        """Whether an earlier attempt of this run wrote ``rel`` completely."""
        return rel in self.files and not self.files[rel].get("pending")

    def will_write(self, rel: str) -> None:
        """Refuses to replace a file at ``rel`` that this kind of run did not write; else lists
        it as pending in the manifest (saved, with the folder, before the file exists)."""
        path = os.path.join(self.folder, rel)
        if os.path.lexists(path) and rel not in self.files:
            raise ValueError(f"{_cut(path)} exists and no earlier `{self.run}` wrote it: "
                             "refusing to replace it (move it away or give another "
                             f"{self.flag})")
        with self._lock:
            self.files[rel] = {"pending": True}
            self._save()

    def only_own_entries(self) -> None:
        """For a run that replaces the whole folder (``ensemble``): refuses one holding anything
        this kind of run did not write."""
        own = set(self.files) | {os.path.basename(self.manifest)}
        for root, _, names in os.walk(self.folder):
            for name in names:
                rel = os.path.relpath(os.path.join(root, name), self.folder)
                if rel not in own:
                    raise ValueError(f"{self.flag} {_cut(self.folder)} holds {_cut(rel, 40)!r}, "
                                     f"which no earlier `{self.run}` wrote: give a new or empty "
                                     "folder (nothing in it is replaced or deleted)")

    def abandon(self, rels) -> None:
        """Un-lists files this run failed to write; a folder that then lists nothing it created
        in this run is removed again (a run that fails writes nothing)."""
        with self._lock:
            for rel in rels:
                self.files.pop(rel, None)
            if self.files or not self._created:
                self._save()
                return
            with contextlib.suppress(OSError):
                os.remove(self.manifest)
            for root, _, _ in sorted(os.walk(self.folder), key=lambda w: -len(w[0])):
                with contextlib.suppress(OSError):
                    os.rmdir(root)  # empty folders only

    def wrote(self, rel: str, *, every: float = 0.0, **info) -> None:
        """Records a file this run wrote (complete, at its final path); the manifest is saved at
        once, or at most every ``every`` seconds (``flush`` at the end)."""
        with self._lock:
            self.files[rel] = info
            if time.monotonic() - self._saved >= every:
                self._save()

    def flush(self) -> None:
        with self._lock:
            self._save()

    def _save(self) -> None:
        if self._created is None:
            self._created = not os.path.isdir(self.folder)
        os.makedirs(self.folder, exist_ok=True)
        io_utils.write_json(self.manifest, {"run": self.run, "settings": self.settings,
                                            "files": self.files})
        self._saved = time.monotonic()
