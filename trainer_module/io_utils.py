"""Atomic file outputs: write to a temporary sibling, rename into place only on success.

A crash (or an exception) never leaves a truncated file at a final path: the CSV, the .tgz,
model_flags.json, metrics JSON, reports and generated shards all go through here.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from typing import Callable, Iterator


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(directory: str, base: str) -> None:
    """Removes ``.BASE.PID.*.tmp`` siblings left by writers that died (killed mid-write)."""
    prefix = f".{base}."
    for name in os.listdir(directory):
        if name.startswith(prefix) and name.endswith(".tmp"):
            pid = name[len(prefix):].split(".", 1)[0]
            if pid.isdigit() and not _pid_alive(int(pid)):
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(directory, name))


def make_scratch(label: str) -> str:
    """A new scratch folder ``yt8m-LABEL-PID-*`` in the temp folder; first removes the ones
    whose process is gone (a killed run's), so that they do not pile up."""
    root = tempfile.gettempdir()
    for name in os.listdir(root):
        parts = name.split("-")
        if name.startswith("yt8m-") and len(parts) >= 4 and parts[2].isdigit() \
                and not _pid_alive(int(parts[2])):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"yt8m-{label}-{os.getpid()}-")


def _tmp_name(path: str) -> str:
    directory, base = os.path.split(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    _remove_stale(directory, base)
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.{os.getpid()}.", suffix=".tmp", dir=directory)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; final files get the usual mode
    return tmp


def shorten(text: str, width: int = 80) -> str:
    """A path or name for a one-line message: whole when short, else its start and its end (the
    file name) around an ellipsis."""
    if len(text) <= width:
        return text
    head = (width - 3) // 3
    return f"{text[:head]}...{text[-(width - 3 - head):]}"


def is_remote(path: str) -> bool:
    """True for URIs such as gs://bucket/x (Vertex AI artifacts), handled by tf.io.gfile."""
    return "://" in path


@contextlib.contextmanager
def _atomic_remote(path: str) -> Iterator[str]:
    """Local temporary file, uploaded beside ``path`` and renamed to it if the block succeeds."""
    import tensorflow as tf  # only remote outputs need it

    with tempfile.TemporaryDirectory() as work:
        tmp = os.path.join(work, os.path.basename(path))
        yield tmp
        tf.io.gfile.makedirs(os.path.dirname(path))
        staged = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.tmp"  # this run's own name
        tf.io.gfile.copy(tmp, staged, overwrite=False)
        tf.io.gfile.rename(staged, path, overwrite=True)


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yields a temporary path next to ``path``; renames it to ``path`` if the block succeeds.

    For a remote ``path`` (gs://...) the temporary file is local and is uploaded on success.
    """
    if is_remote(path):
        with _atomic_remote(path) as tmp:
            yield tmp
        return
    try:
        tmp = _tmp_name(path)
    except OSError as e:
        raise OSError(e.errno, e.strerror, path) from None
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        if e.filename in (None, tmp):  # a write of this output (disk full, read-only folder)
            raise OSError(e.errno, e.strerror, path) from None
        raise
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path: str, text: str) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


def read_json(path: str):
    """Parses a JSON file (local, or a URI through tf.io.gfile); ValueError naming the file
    when it is not valid JSON."""
    if is_remote(path):
        import tensorflow as tf  # only remote inputs need it

        opened = tf.io.gfile.GFile(path, "r")
    else:
        opened = open(path, encoding="utf-8")
    with opened as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from None


def write_json(path: str, obj) -> None:
    """Strict JSON: NaN or infinity is a ValueError, never a bare ``NaN`` in the file."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n")


class AtomicWriters:
    """Several output files that appear together when the ``with`` block succeeds.

    On an exception every temporary file is removed and no final path is touched.
    """

    def __init__(self):
        self._open: list[tuple[object, str, str]] = []  # (handle, tmp, final)

    def __enter__(self) -> "AtomicWriters":
        return self

    def tfrecord(self, path: str):
        import tensorflow as tf

        tmp = _tmp_name(path)
        handle = tf.io.TFRecordWriter(tmp)
        self._open.append((handle, tmp, path))
        return handle

    def text(self, path: str):
        tmp = _tmp_name(path)
        handle = open(tmp, "w", encoding="utf-8", newline="")
        self._open.append((handle, tmp, path))
        return handle

    def __exit__(self, exc_type, exc, tb) -> None:
        for handle, _, _ in self._open:
            handle.close()
        for _, tmp, final in self._open:
            if exc_type is None:
                os.replace(tmp, final)
            elif os.path.exists(tmp):
                os.remove(tmp)


@contextlib.contextmanager
def exclusive_lock(path: str, busy: Callable[[str], str]):
    """Holds an exclusive ``flock`` on the file ``path`` (created; it holds the holder's pid) for
    the block; the kernel releases it when the process ends, however it ends.

    Raises:
      ValueError: ``busy(holder pid)`` when another process holds it.
    """
    import fcntl

    with open(path, "a+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            raise ValueError(busy(f.read().strip() or "?")) from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def text_lines(path: str, what: str) -> Iterator[str]:
    """The lines of a UTF-8 text file (a leading byte-order mark, as spreadsheet tools write,
    dropped), read one at a time.

    Raises:
      ValueError: ``{what} {path}: not UTF-8 text at byte N``; an OSError naming the file.
    """
    offset = 0
    with open(path, "rb") as f:
        for raw in f:
            chunk = raw[3:] if offset == 0 and raw.startswith(b"\xef\xbb\xbf") else raw
            try:
                yield chunk.decode("utf-8")
            except UnicodeDecodeError as e:
                start = offset + (len(raw) - len(chunk)) + e.start
                raise ValueError(f"{what} {path}: not UTF-8 text at byte {start} "
                                 f"({e.reason}); save it as UTF-8") from None
            offset += len(raw)


def read_text(path: str, what: str) -> str:
    """The whole of a small UTF-8 text file (BOM dropped); errors as ``text_lines``."""
    return "".join(text_lines(path, what))
