"""Model .tgz files: written atomically, unpacked defensively.

A model archive holds regular files and folders only, so unpacking refuses every symbolic or
hard link (checking link targets textually, or with ``realpath`` as tarfile's ``data`` filter
does, is defeated by chains of long symlinks: CVE-2025-4517 on Python 3.10.13), device files,
FIFOs, absolute paths and ``..`` components. Members are read one header at a time, so the
member-count limit stops a 300,000-member archive at the limit; the sizes written are counted
as they are written, against a per-member, a total and a compression-ratio limit (a decompression
bomb stops at the limit, not after filling the disk). Everything is unpacked into a fresh
sibling folder that is renamed into place only when the whole archive passed, and never into a
non-empty existing folder.
"""
from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zlib

from trainer_module import io_utils

MAX_MEMBER_BYTES = 4 << 30   # 4 GiB: the Kaggle limit is 1 GB
MAX_TOTAL_BYTES = 8 << 30
MAX_MEMBERS = 10_000
MAX_RATIO = 200              # uncompressed / compressed bytes, beyond RATIO_FLOOR_BYTES
RATIO_FLOOR_BYTES = 64 << 20  # a small archive may compress well (zeros): no ratio check below
_CHUNK = 1 << 20


def make_tgz(src_dir: str, out_path: str) -> str:
    """Packs the contents of src_dir (relative paths) into out_path atomically."""
    with io_utils.atomic_path(out_path) as tmp:
        with tarfile.open(tmp, "w:gz") as tar:
            for name in sorted(os.listdir(src_dir)):
                tar.add(os.path.join(src_dir, name), arcname=name)
    return out_path


def pack(model_dir: str, tgz_path: str, float16_weights: bool = False) -> str:
    """The model folder as a .tgz, optionally with its weights stored as float16."""
    if not float16_weights:
        return make_tgz(model_dir, tgz_path)
    from trainer_module.export import float16

    with tempfile.TemporaryDirectory(prefix="yt8m_float16_") as half:
        return make_tgz(float16.halve(model_dir, half), tgz_path)


class _Refused(ValueError):
    pass


def _relative_parts(m: tarfile.TarInfo) -> list[str]:
    name = m.name.replace("\\", "/")
    if os.path.isabs(m.name) or name.startswith("/"):
        raise _Refused("absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _Refused("'..' path component")
    if m.issym() or m.islnk():
        raise _Refused(f"link to {m.linkname!r} (a model archive holds no links)")
    if m.isdev() or m.isfifo():
        raise _Refused("device file or FIFO")
    if not (m.isfile() or m.isdir()):
        raise _Refused("unsupported member type")
    if m.size > MAX_MEMBER_BYTES:
        raise _Refused(f"{m.size} bytes exceeds the {MAX_MEMBER_BYTES} byte limit")
    return parts


def _copy(tar: tarfile.TarFile, m: tarfile.TarInfo, target: str, budget: "_Budget") -> None:
    source = tar.extractfile(m)
    # O_EXCL | O_NOFOLLOW: the staging folder is new and holds no links, never write through one
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as out:
        while True:
            chunk = source.read(_CHUNK)
            if not chunk:
                break
            budget.spend(len(chunk))
            out.write(chunk)


class _Budget:
    """Counts the bytes written against the total and compression-ratio limits."""

    def __init__(self, compressed_bytes: int):
        self.compressed, self.total = max(compressed_bytes, 1), 0

    def spend(self, n: int) -> None:
        self.total += n
        if self.total > MAX_TOTAL_BYTES:
            raise _Refused(f"more than {MAX_TOTAL_BYTES} bytes uncompressed")
        if self.total > RATIO_FLOOR_BYTES and self.total > MAX_RATIO * self.compressed:
            raise _Refused(f"expands more than {MAX_RATIO}x its {self.compressed} compressed "
                           "bytes (a decompression bomb?)")


def _unpack(tgz: str, staging: str) -> None:
    budget = _Budget(os.path.getsize(tgz))
    with tarfile.open(tgz, "r:*") as tar:
        count = 0
        while True:
            m = tar.next()  # one header at a time: limits hold while reading
            if m is None:
                return
            count += 1
            try:
                if count > MAX_MEMBERS:
                    raise _Refused(f"more than {MAX_MEMBERS} members")
                parts = _relative_parts(m)
                target = os.path.join(staging, *parts) if parts else staging
                if m.isdir():
                    os.makedirs(target, exist_ok=True)
                    continue
                os.makedirs(os.path.dirname(target), exist_ok=True)
                _copy(tar, m, target, budget)
            except _Refused as e:
                raise ValueError(f"{tgz}: member {m.name!r}: refused: {e}") from None
            except FileExistsError:
                raise ValueError(f"{tgz}: member {m.name!r}: refused: a second member of the "
                                 "same name") from None


def safe_extract(tgz: str, dest: str) -> str:
    """Unpacks tgz into dest (which must not exist, or be an empty folder); returns dest.

    Raises:
      ValueError: a hostile or oversized member, or an unreadable archive, naming the archive
        and the member; dest is then left as it was.
      FileExistsError: dest is a non-empty folder or a file.
      FileNotFoundError: tgz does not exist.
    """
    if os.path.isdir(tgz):
        raise ValueError(f"`input_model_tgz` {tgz} is a folder; expected a model .tgz file")
    if not os.path.isfile(tgz):
        raise FileNotFoundError(f"`input_model_tgz` {tgz!r} does not exist")
    dest = os.path.abspath(dest)
    if os.path.lexists(dest) and not (os.path.isdir(dest) and not os.listdir(dest)):
        raise FileExistsError(f"{dest}: refusing to unpack {tgz} into an existing non-empty "
                              "folder or file")
    parent = os.path.dirname(dest)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(dest)}.", suffix=".unpack", dir=parent)
    try:
        _unpack(tgz, staging)
        if os.path.isdir(dest):
            os.rmdir(dest)  # empty, checked above
        os.replace(staging, dest)
    except (tarfile.TarError, EOFError, zlib.error) as e:
        raise ValueError(f"{tgz}: not a readable .tgz ({type(e).__name__}: {e})") from None
    except OSError as e:
        raise OSError(e.errno, f"{tgz}: cannot unpack into {parent}: {e.strerror}") from None
    finally:
        if os.path.isdir(staging):
            shutil.rmtree(staging, ignore_errors=True)
    return dest
