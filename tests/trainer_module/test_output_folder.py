"""Output folders with manifests: resume by content, replace only our own files, never a folder
someone else filled."""
import json
import os

import pytest

from trainer_module.output_folder import OutputFolder, digest


def _write(out: OutputFolder, rel: str, text: str) -> None:
    out.will_write(rel)
    path = os.path.join(out.folder, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    out.wrote(rel, size=len(text))


def test_resume_refuse_overwrite(tmp_path):
    folder = str(tmp_path / "out")
    out = OutputFolder(folder, "gen train", {"shards": 4, "inputs": {"a": "1"}}).claim()
    assert not os.path.exists(folder)  # nothing written before the first file
    for i in range(4):
        _write(out, f"video/train{i}", "x")
    again = OutputFolder(folder, "gen train", {"inputs": {"a": "1"}, "shards": 4}).claim()
    assert again.owns("video/train3") and not again.owns("video/train4")
    other = {"shards": 2, "inputs": {"a": "2", "b": "3"}}
    with pytest.raises(ValueError, match=r"holds an earlier `gen train` with other settings "
                                         r"\(inputs: 1 added \(b\); 1 changed \(a\), shards: 4 -> "
                                         r"2\): give another folder, or `overwrite` to replace "
                                         r"that run's 4 files"):
        OutputFolder(folder, "gen train", other).claim()
    (tmp_path / "out" / "video" / "notes.txt").write_text("mine")
    replaced = OutputFolder(folder, "gen train", other, overwrite=True).claim()
    assert sorted(os.listdir(tmp_path / "out" / "video")) == ["notes.txt"]  # only ours went
    _write(replaced, "video/train0", "y")
    manifest = json.loads((tmp_path / "out" / ".yt8m-gen_train.json").read_text())
    assert manifest["settings"] == other and list(manifest["files"]) == ["video/train0"]


def test_someone_else_s_folder_and_files(tmp_path):
    (tmp_path / "theirs" / "empty").mkdir(parents=True)
    OutputFolder(str(tmp_path / "theirs"), "gen", {}).claim()  # only empty folders: empty
    (tmp_path / "theirs" / "empty" / "f.txt").write_text("x")
    with pytest.raises(ValueError, match=r"is not empty \(it holds 'empty/f.txt'\) and no yt8m "
                                         "command wrote it"):
        OutputFolder(str(tmp_path / "theirs"), "gen", {}).claim()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file, expected a folder"):
        OutputFolder(str(tmp_path / "file"), "gen", {}).claim()
    out = OutputFolder(str(tmp_path / "ours"), "a", {}).claim()
    _write(out, "x.csv", "1")
    other_run = OutputFolder(str(tmp_path / "ours"), "b", {}).claim()  # a manifest is there
    with pytest.raises(ValueError, match="x.csv exists and no earlier `b` wrote it"):
        other_run.will_write("x.csv")


def test_a_failed_first_write_leaves_nothing_and_pending_files_stay_ours(tmp_path):
    folder = tmp_path / "out"
    out = OutputFolder(str(folder), "gen", {}).claim()
    out.will_write("a")
    out.abandon(["a"])
    assert not folder.exists()
    out = OutputFolder(str(folder), "gen", {}).claim()
    out.will_write("a")
    (folder / "a").write_text("half")  # killed before `wrote`: listed as pending
    again = OutputFolder(str(folder), "gen", {}).claim()
    assert not again.owns("a")  # not complete: written again ...
    again.will_write("a")  # ... which is allowed: it is ours


def test_digest_is_by_content(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"1")
    first = digest(str(tmp_path / "d"))
    os.utime(tmp_path / "d" / "f", (0, 0))
    assert digest(str(tmp_path / "d")) == first
    (tmp_path / "d" / "f").write_bytes(b"2")
    assert digest(str(tmp_path / "d")) != first
