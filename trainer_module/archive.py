"""Model .tgz files: written atomically, unpacked defensively.

Unpacking refuses absolute paths, ``..`` components, links (symbolic or hard) that leave the
destination, device files and FIFOs, and members or totals above a size limit (decompression
bombs), before anything is written; then extracts with the standard library's ``data`` filter
where available as a second line of defence.
"""
from __future__ import annotations

import os
import tarfile

from trainer_module import io_utils

MAX_MEMBER_BYTES = 4 << 30   # 4 GiB: the Kaggle limit is 1 GB
MAX_TOTAL_BYTES = 8 << 30
MAX_MEMBERS = 10_000


def make_tgz(src_dir: str, out_path: str) -> str:
    """Packs the contents of src_dir (relative paths) into out_path atomically."""
    with io_utils.atomic_path(out_path) as tmp:
        with tarfile.open(tmp, "w:gz") as tar:
            for name in sorted(os.listdir(src_dir)):
                tar.add(os.path.join(src_dir, name), arcname=name)
    return out_path


def _check_member(m: tarfile.TarInfo, dest: str, tgz: str) -> None:
    def refuse(why: str):
        raise ValueError(f"{tgz}: refusing member {m.name!r}: {why}")

    if os.path.isabs(m.name) or m.name.startswith(("/", "\\")):
        refuse("absolute path")
    parts = m.name.replace("\\", "/").split("/")
    if ".." in parts:
        refuse("'..' path component")
    target = os.path.realpath(os.path.join(dest, m.name))
    if os.path.commonpath([target, dest]) != dest:
        refuse("resolves outside the destination")
    if m.isdev() or m.isfifo():
        refuse("device file or FIFO")
    if m.issym() or m.islnk():
        link = m.linkname
        base = os.path.dirname(target) if m.issym() else dest
        resolved = os.path.realpath(os.path.join(base, link))
        if os.path.isabs(link) or os.path.commonpath([resolved, dest]) != dest:
            refuse(f"link to {link!r} outside the destination")
    if not (m.isfile() or m.isdir() or m.issym() or m.islnk()):
        refuse("unsupported member type")
    if m.size > MAX_MEMBER_BYTES:
        refuse(f"{m.size} bytes exceeds the {MAX_MEMBER_BYTES} byte limit")


def safe_extract(tgz: str, dest: str) -> str:
    """Extracts tgz into dest after validating every member; returns dest.

    Raises:
      ValueError: a hostile or oversized member (nothing is extracted then).
      FileNotFoundError: tgz does not exist.
    """
    if not os.path.isfile(tgz):
        raise FileNotFoundError(f"--input_model_tgz {tgz!r} does not exist")
    dest = os.path.realpath(dest)
    os.makedirs(dest, exist_ok=True)
    try:
        with tarfile.open(tgz, "r:*") as tar:
            members = tar.getmembers()
            if len(members) > MAX_MEMBERS:
                raise ValueError(f"{tgz}: {len(members)} members exceeds the limit {MAX_MEMBERS}")
            total = 0
            for m in members:
                _check_member(m, dest, tgz)
                total += m.size
            if total > MAX_TOTAL_BYTES:
                raise ValueError(f"{tgz}: {total} bytes uncompressed exceeds {MAX_TOTAL_BYTES}")
            kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(dest, members=members, **kwargs)
    except tarfile.TarError as e:
        raise ValueError(f"{tgz}: not a readable .tgz ({e})") from None
    return dest
