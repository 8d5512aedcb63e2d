"""The linter (ruff, its rules in pyproject.toml [tool.ruff]) passes on the whole project, and
each kind of mistake it is there for fails it (a planted violation per rule family)."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUFF = os.path.join(os.path.dirname(sys.executable), "ruff")  # from requirements.lock


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([RUFF, "check", "--no-cache", "--output-format", "concise", *args],
                          cwd=ROOT, capture_output=True, text=True, check=False)


def test_the_project_passes_the_linter():
    result = _ruff(".")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("code, rule", [
    ("import os\n", "F401"),  # unused import
    ("def f():\n    return undefined_name\n", "F821"),  # undefined name
    ("def f(x=[]):\n    return x\n", "B006"),  # mutable default argument
    ("fns = [lambda: i for i in range(3)]\n", "B023"),  # loop variable bound late
    ("l = 1\n", "E741"),  # ambiguous name
    ("a = 1; b = 2\n", "E702"),  # two statements on one line
])
def test_a_planted_violation_fails_the_linter(tmp_path, code, rule):
    planted = tmp_path / "planted.py"
    planted.write_text(code)
    result = _ruff("--config", os.path.join(ROOT, "pyproject.toml"), str(planted))
    assert result.returncode == 1 and f" {rule} " in result.stdout, result.stdout
