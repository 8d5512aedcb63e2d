"""Every `yt8m ...` command the documentation shows uses flags the CLI has."""
import os
import re

from yt8m_cli.main import build_parser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = ("README.md", "benchmarks/README.md", "docs/hostile_inputs.md", "kubeflow/README.md")


def documented_commands(text: str) -> list[tuple[str, list[str]]]:
    """(subcommand, flags) of each `yt8m` command in code blocks and inline code."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", text, re.S)
    inline = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    out = []
    for span in blocks + inline:
        for line in span.replace("\\\n", " ").splitlines():
            for m in re.finditer(r"yt8m ([a-z-]+)((?: [a-z]+)?)(.*?)(?=&&|;|\||\byt8m |$)",
                                 line):
                words = f"{m.group(1)}{m.group(2)}"  # the command and maybe its action
                out.append((words, re.findall(r"(?<![\w-])(--[a-z][a-z0-9_]*)", m.group(3))))
    return out


def _unknown(text: str) -> list[str]:
    parser = build_parser()
    subs = next(a for a in parser._actions if hasattr(a, "choices") and a.choices
                and "train" in a.choices).choices
    problems = []
    for words, flags in documented_commands(text):
        cmd, _, action = words.partition(" ")
        if cmd not in subs:
            continue  # e.g. "yt8m tfx" in a sentence: not a subcommand
        parsers = _parsers(subs[cmd], action)
        known = {o for sub in parsers for a in sub._actions for o in a.option_strings}
        problems += [f"yt8m {words} {f}" for f in flags if f not in known]
    return problems


def _parsers(parser, action: str) -> list:
    """The parser of `yt8m CMD [ACTION]`: for a command with actions (`yt8m pipeline
    run|compile|submit`) the named action's, or every action's when none is named."""
    nested = [a for a in parser._actions if not a.option_strings
              and isinstance(getattr(a, "choices", None), dict)]
    if not nested:
        return [parser]
    choices = nested[0].choices
    return [choices[action]] if action in choices else list(choices.values())


def test_documented_commands_use_existing_flags():
    for doc in DOCS:
        with open(os.path.join(ROOT, doc), encoding="utf-8") as f:
            text = f.read()
        assert _unknown(text) == [], doc
        if doc == "README.md":
            assert len(documented_commands(text)) >= 20  # the parser finds the commands


def test_a_stale_flag_is_reported():
    assert _unknown("Run `yt8m train --train_dir t --learning_rate 0.1`.") == [
        "yt8m train --learning_rate"]
