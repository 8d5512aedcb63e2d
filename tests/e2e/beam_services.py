"""A portable Beam runner on 127.0.0.1 whose SDK workers see the project only as installed.

``installed_project`` builds the project's wheel from a copy of its tree and installs it into a
folder of its own, with a ``python`` that starts without site-packages processing (``-S``, so
the development checkout's editable-install hook is not loaded) and imports the project from
that folder and third-party packages from this environment: what a Dataflow worker gets from
the pipeline image. ``portable_runner`` starts Beam's job service and an external worker pool
(which starts its SDK workers with the ``python`` first on PATH) and yields the Beam arguments
that send a pipeline to them.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time

from tests.net import free_ports

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _tree() -> list[str]:
    """What a wheel is built from: the project metadata and the packages pyproject.toml includes
    (the list the Dockerfile's COPY lines are checked against)."""
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        include = re.search(r"include = \[([^\]]*)\]", f.read()).group(1)
    return ["pyproject.toml", "README.md", *re.findall(r'"(\w+)\*?"', include)]


def installed_project(work: str) -> dict:
    """{"env": the environment of a process that sees the installed copy, "site": its folder}."""
    source, site, bin_dir = (os.path.join(work, d) for d in ("source", "site", "bin"))
    os.makedirs(source)
    for name in _tree():
        src = os.path.join(ROOT, name)
        copy = shutil.copytree if os.path.isdir(src) else shutil.copy
        copy(src, os.path.join(source, name), **(
            {"ignore": shutil.ignore_patterns("__pycache__")} if os.path.isdir(src) else {}))
    wheels = os.path.join(work, "wheels")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", wheels, source], check=True)
    wheel = os.path.join(wheels, next(w for w in os.listdir(wheels) if w.endswith(".whl")))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site,
                    wheel], check=True)
    os.makedirs(bin_dir)
    python = os.path.join(bin_dir, "python")
    with open(python, "w", encoding="utf-8") as f:
        f.write(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    os.chmod(python, 0o755)
    third_party = sysconfig.get_paths()["purelib"]
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": f"{site}{os.pathsep}{third_party}"}
    return {"env": env, "site": site, "python": python}


def _wait_for(port: int, proc: subprocess.Popen, log: str, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited {proc.returncode}: {open(log).read()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {seconds} s ({log})")


@contextlib.contextmanager
def portable_runner(installed: dict, work: str):
    """Yields the Beam arguments of a PortableRunner on a local job service whose pipelines run
    on an external worker pool started from ``installed`` (its environment and python)."""
    job_port, pool_port = free_ports(2)
    logs = {name: os.path.join(work, f"{name}.log") for name in ("job_service", "worker_pool")}
    job = subprocess.Popen(
        [sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main",
         f"--port={job_port}"], stdout=open(logs["job_service"], "w"), stderr=subprocess.STDOUT,
        cwd=work)
    pool = subprocess.Popen(
        [installed["python"], "-m", "apache_beam.runners.worker.worker_pool_main",
         f"--service_port={pool_port}"], env=installed["env"],
        stdout=open(logs["worker_pool"], "w"), stderr=subprocess.STDOUT, cwd=work)
    try:
        _wait_for(job_port, job, logs["job_service"])
        _wait_for(pool_port, pool, logs["worker_pool"])
        yield ("--runner=PortableRunner", f"--job_endpoint=localhost:{job_port}",
               "--environment_type=EXTERNAL", f"--environment_config=localhost:{pool_port}")
    finally:
        for proc in (job, pool):
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
            if proc.poll() is None:
                proc.kill()
