"""The pipeline image's build check, run here against the project's own environment, and the
Dockerfile's agreement with the lock and the project's package list."""
import os
import re
import subprocess
import sys

from kubeflow import image_check

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOCK = os.path.join(ROOT, "requirements.lock")


def _read(name):
    with open(os.path.join(ROOT, name), encoding="utf-8") as f:
        return f.read()


def test_environment_passes_the_image_check():
    """What the Dockerfile's last RUN executes: every compiled class path imports, every locked
    version is installed, pip check passes."""
    proc = subprocess.run([sys.executable, "-m", "kubeflow.image_check", "--lock", LOCK],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r"\d+ compiled class paths import; \d+ locked versions checked; 0 problems",
                     proc.stdout)


def test_version_mismatch_is_named(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text("numpy==0.0.1    # via x\ntfx==1.16.0\nnot-installed-pkg==1.0\n")
    pins = image_check.lock_pins(str(lock))
    assert pins == {"numpy": "0.0.1", "tfx": "1.16.0", "not-installed-pkg": "1.0"}
    problems = image_check.version_mismatches(pins)
    assert len(problems) == 2
    assert problems[0].startswith("not-installed-pkg: installed nothing, the lock pins 1.0")
    assert re.match(r"numpy: installed 1\.\d+\.\d+, the lock pins 0\.0\.1", problems[1])


def test_dockerfile_installs_the_lock_and_checks_the_image():
    docker, lock = _read("Dockerfile"), _read("requirements.lock")
    base = re.search(r"^FROM tensorflow/tfx:(\S+)", docker, re.M).group(1)
    assert f"tfx=={base}" in lock
    assert re.search(r"^ENV TF_USE_LEGACY_KERAS=1", docker, re.M)
    install = re.search(r"uv pip install --system [^\n]*-r requirements.lock", docker)
    assert install and "--no-deps" not in install.group(0)  # dependencies resolved from the lock
    assert "python -m kubeflow.image_check --lock requirements.lock" in docker
    packages = re.search(r"include = \[([^\]]*)\]", _read("pyproject.toml")).group(1)
    installed = set(re.findall(r'"(\w+)\*?"', packages))
    copied = set(re.findall(r"^COPY (\w+) \./\1$", docker, re.M))
    assert copied == installed  # every package the wheel installs is in the image, nothing else
    files = re.findall(r"^COPY ((?:[\w.]+ )+)\./$", docker, re.M)
    assert sorted(" ".join(files).split()) == ["README.md", "pyproject.toml", "requirements.lock"]
