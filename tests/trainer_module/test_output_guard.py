"""The output guard: an output equal to, inside, containing or matched by an input is refused;
outputs beside inputs pass. Every `yt8m` command declares its paths (checked here too)."""
import argparse

import pytest

from trainer_module.output_guard import Paths, check


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "data").mkdir()
    for name in ("train0.tfrecord", "train1.tfrecord"):
        (tmp_path / "data" / name).write_bytes(b"x")
    (tmp_path / "model").mkdir()
    (tmp_path / "vocab.csv").write_text("v")
    return tmp_path


@pytest.mark.parametrize("write, said", [
    ("vocab.csv", "--out {p} is also an input (--vocabulary)"),
    ("data/train0.tfrecord", "is also an input (--data)"),
    ("data/train7.tfrecord", "matches --data"),
    ("model/p.csv", "is inside --model"),
    ("", "contains --data"),
    ("data", "contains --data"),
])
def test_refused(tree, write, said):
    paths = Paths(reads={"--data": f"{tree}/nothing*,{tree}/data/train*.tfrecord",
                         "--model": str(tree / "model"), "--vocabulary": str(tree / "vocab.csv")},
                  writes={"--out": str(tree / write)})
    with pytest.raises(ValueError, match=None) as e:
        check(paths)
    assert said.format(p=tree / write) in str(e.value)


def test_beside_the_inputs_passes_and_links_are_resolved(tree):
    reads = {"--data": str(tree / "data" / "train*.tfrecord"), "--model": str(tree / "model")}
    check(Paths(reads=reads, writes={"--out": str(tree / "out" / "p.csv"), "--none": None}))
    (tree / "link.csv").symlink_to(tree / "vocab.csv")
    with pytest.raises(ValueError, match="is also an input"):
        check(Paths(reads={"--vocabulary": str(tree / "vocab.csv")},
                    writes={"--out": str(tree / "link.csv")}))


def test_remote_paths_compare_without_a_network_call():
    reads = {"--data": "gs://b/data/train*.tfrecord", "--model": "gs://b/model"}
    check(Paths(reads=reads, writes={"--out": "gs://b/out/p.csv"}))
    for out, said in (("gs://b/data/train9.tfrecord", "matches"), ("gs://b/model/x", "inside"),
                      ("gs://b", "contains")):
        with pytest.raises(ValueError, match=said):
            check(Paths(reads=reads, writes={"--out": out}))


def test_two_outputs_at_one_path(tree):
    with pytest.raises(ValueError, match="--b .* is also --a: two outputs at one path"):
        check(Paths(reads={}, writes={"--a": str(tree / "x"), "--b": str(tree / "x")}))


def test_every_command_declares_its_paths():
    """Each command's ``paths`` accepts its own parsed defaults (the guard runs for all)."""
    from yt8m_cli import commands
    from yt8m_cli.main import build_parser

    parser = build_parser()
    required = {"generate-data": ["--output_dir", "o", "--num_videos", "1"],
                "extract-features": ["--videos", "v", "--inception_weights", "g", "--pca_dir",
                                     "p", "--output_dir", "o"],
                "convert-mediapipe": ["--inputs", "i", "--output_dir", "o"],
                "download": ["--partition", "2/video/train", "--output_dir", "o"],
                "train": ["--train_data_pattern", "d", "--train_dir", "t"],
                "eval": ["--eval_data_pattern", "d", "--train_dir", "t"],
                "score": ["--predictions", "p", "--labels", "l"],
                "ensemble": ["--train_dirs", "a,b", "--output_dir", "o"],
                "pipeline": ["compile"], "report": ["--output", "r.html"]}
    for name, module in commands.COMMANDS.items():
        args = parser.parse_args([name, *required.get(name, [])])
        declared = module.paths(args)
        assert isinstance(declared, Paths) and isinstance(args, argparse.Namespace), name
