"""Hostile .tgz members are refused before anything is written; outputs are atomic."""
import io
import os
import tarfile

import pytest

from trainer_module import io_utils
from trainer_module.export import archive


def _tgz(path, *members):
    with tarfile.open(path, "w:gz") as tar:
        for info, payload in members:
            tar.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return str(path)


def _file(name, payload=b"x"):
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    return info, payload


def _special(name, kind, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info, None


@pytest.mark.parametrize("member, why", [
    (_file("/etc/evil"), "absolute path"),
    (_file("a/../../evil"), "'..' path component"),
    (_special("link", tarfile.SYMTYPE, "/etc/passwd"), "link to '/etc/passwd'"),
    (_special("link", tarfile.SYMTYPE, "../../outside"), "link to '../../outside'"),
    (_special("link", tarfile.SYMTYPE, "model_flags.json"), "a model archive holds no links"),
    (_special("hard", tarfile.LNKTYPE, "../outside"), "link to '../outside'"),
    (_special("dev", tarfile.CHRTYPE), "device file or FIFO"),
    (_special("fifo", tarfile.FIFOTYPE), "device file or FIFO"),
])
def test_hostile_members_refused_before_writing(tmp_path, member, why):
    tgz = _tgz(tmp_path / "m.tgz", _file("model_flags.json", b"{}"), member)
    dest = tmp_path / "dest"
    with pytest.raises(ValueError, match=why):
        archive.safe_extract(tgz, str(dest))
    assert not dest.exists()  # not even the harmless first member was written
    assert os.listdir(tmp_path) == ["m.tgz"]  # and no staging folder is left


def test_decompression_bomb_guard(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "MAX_MEMBER_BYTES", 1000)
    tgz = _tgz(tmp_path / "m.tgz", _file("big.bin", b"\0" * 5000))
    with pytest.raises(ValueError, match="5000 bytes exceeds the 1000 byte limit"):
        archive.safe_extract(tgz, str(tmp_path / "dest"))
    monkeypatch.setattr(archive, "MAX_MEMBER_BYTES", 10_000)
    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 6000)
    tgz = _tgz(tmp_path / "n.tgz", _file("a", b"\0" * 4000), _file("b", b"\0" * 4000))
    with pytest.raises(ValueError, match="member 'b': refused: more than 6000 bytes uncompressed"):
        archive.safe_extract(tgz, str(tmp_path / "dest2"))


def test_not_a_tgz_and_missing(tmp_path):
    junk = tmp_path / "junk.tgz"
    junk.write_bytes(b"not a tar")
    with pytest.raises(ValueError, match="not a readable .tgz"):
        archive.safe_extract(str(junk), str(tmp_path / "d"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        archive.safe_extract(str(tmp_path / "none.tgz"), str(tmp_path / "d"))


def test_atomic_write_leaves_nothing_on_crash(tmp_path):
    final = tmp_path / "out.csv"
    final.write_text("previous complete file\n")
    with pytest.raises(RuntimeError):
        with io_utils.atomic_path(str(final)) as tmp, open(tmp, "w") as f:
            f.write("half a fi")
            raise RuntimeError("crash mid-write")
    assert final.read_text() == "previous complete file\n"  # untouched, no truncation
    assert os.listdir(tmp_path) == ["out.csv"]  # the temporary file is gone
    io_utils.write_json(str(tmp_path / "m.json"), {"gap": 0.5})
    assert io_utils.read_json(str(tmp_path / "m.json")) == {"gap": 0.5}


def test_atomic_outputs_to_a_remote_path():
    """gs:// artifact URIs on Vertex: the same contract through tf.io.gfile (ram:// here)."""
    import tensorflow as tf

    base = f"ram://atomic{os.getpid()}"
    io_utils.write_json(f"{base}/flags/m.json", {"gap": 0.5})
    with tf.io.gfile.GFile(f"{base}/flags/m.json") as f:
        assert f.read() == '{\n  "gap": 0.5\n}\n'
    with pytest.raises(RuntimeError):
        with io_utils.atomic_path(f"{base}/flags/m.json") as tmp, open(tmp, "w") as f:
            f.write("half a fi")
            raise RuntimeError("crash mid-write")
    with tf.io.gfile.GFile(f"{base}/flags/m.json") as f:
        assert f.read() == '{\n  "gap": 0.5\n}\n'  # untouched
    assert tf.io.gfile.listdir(f"{base}/flags") == ["m.json"]
