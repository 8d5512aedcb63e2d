"""Every `yt8m` command's help: fast to build (no TensorFlow), every flag explained, defaults
shown once, and the top level says what the tool is for and the usual flow."""
import argparse
import re
import subprocess
import sys

from yt8m_cli.main import build_parser


def _subparsers(parser):
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def _problems(parser, prefix: str = "yt8m") -> list[str]:
    problems = []
    for name, sub in sorted(_subparsers(parser).items()):
        if any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
            problems += _problems(sub, f"{prefix} {name}")  # `yt8m pipeline run|compile|...`
        for action in sub._actions:
            if action.dest == "help":
                continue
            label = action.option_strings[-1] if action.option_strings else action.dest
            if not (action.help or "").strip():
                problems.append(f"{prefix} {name} {label}: no help text")
                continue
            shown = sub._get_formatter()._format_action(action)
            if len(re.findall(r"\bdefault\b", shown)) > 1:
                problems.append(f"{prefix} {name} {label}: a default printed twice")
    return problems


def test_every_flag_has_help_and_one_default():
    assert _problems(build_parser()) == []


def test_the_walk_finds_a_flag_without_help():
    parser = argparse.ArgumentParser(prog="yt8m")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("x", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--quiet_one")
    p.add_argument("--twice", default=3, help="size (default 3)")
    assert _problems(parser) == ["yt8m x --quiet_one: no help text",
                                 "yt8m x --twice: a default printed twice"]


def test_building_the_parser_imports_no_tensorflow():
    code = ("import sys; from yt8m_cli.main import build_parser; build_parser(); "
            "print(sorted(m for m in ('tensorflow', 'tfx', 'apache_beam') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_top_level_help_is_for_users():
    text = build_parser().format_help()
    assert "YouTube-8M" in text and "make demo" in text
    for step in ("yt8m pipeline run", "yt8m train", "yt8m runs", "yt8m pipeline compile"):
        assert step in text
