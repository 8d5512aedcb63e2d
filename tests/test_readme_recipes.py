"""The README's contributor recipes ("### Adding ...") name only files, folders and definitions
that exist: a recipe that sends a newcomer to a missing file or name fails here."""
import builtins
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("trainer_module", "components", "pipeline", "kubeflow", "yt8m_cli", "yt8m", "tests")
# the files a recipe tells you to write
EXAMPLES = {"trainer_module/models/my_model.py", "components/<name>/component.py",
            "yt8m_cli/cmd_my_command.py", "trainer_module/jobs/my_command.py"}


def _recipes() -> dict:
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    parts = re.split(r"^### (Adding [^\n]+)\n", text, flags=re.M)
    return {title: body.split("\n## ", 1)[0].split("\n### ", 1)[0]
            for title, body in zip(parts[1::2], parts[2::2])}


def _definitions() -> str:
    out = []
    for package in PACKAGES:
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            out += [open(os.path.join(folder, f), encoding="utf-8").read()
                    for f in files if f.endswith(".py")]
    return "\n".join(out)


def test_there_are_recipes():
    assert {"Adding a model", "Adding a CLI command", "Adding a hostile-input check",
            "Adding a component"} <= set(_recipes())


@pytest.mark.parametrize("title", sorted(_recipes()))
def test_recipe_names_exist(title):
    body, code = _recipes()[title], _definitions()
    missing = []
    for token in re.findall(r"`([^`\n]+)`", body):
        if (token in EXAMPLES or token.startswith(("yt8m ", "--", "["))
                or hasattr(builtins, token)):
            continue
        if "/" in token and " " not in token:  # a path of the repository
            if not os.path.exists(os.path.join(ROOT, token.rstrip("/"))):
                missing.append(token)
        elif re.fullmatch(r"[A-Za-z_]\w*", token) and (token[0].isupper() or "_" in token):
            defined = re.search(rf"^\s*(class|def)\s+{token}\b|^\s*{token}\s*(:[^=\n]*)?=", code,
                                re.M)
            if not defined:
                missing.append(token)
    assert missing == [], f"{title}: not in the repository: {missing}"
