"""Benchmark: wall time of `yt8m --help` and of every subcommand's `--help` (a fresh process each,
best of 3): building the parser must not import TensorFlow.

Run: .venv/bin/python -m benchmarks.bench_cli_help   (writes benchmarks/results/bench_cli_help.md)
"""
import os
import subprocess
import sys
import time

from benchmarks import common

REPEATS = 3


def seconds(argv: list[str]) -> float:
    """Best wall time of ``yt8m ARGV`` over REPEATS fresh processes."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "yt8m_cli.main", *argv], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def main():
    from yt8m_cli import commands

    cases = [["--help"]] + [[name, "--help"] for name in commands.COMMANDS]
    rows = [[f"yt8m {' '.join(argv)}", round(seconds(argv), 2)] for argv in cases]
    common.record("bench_cli_help", "`--help` wall time (fresh process, best of 3)",
                  ["command", "seconds"], rows,
                  "Before this change every `--help` imported TensorFlow to build the parser "
                  "(the models' hyperparameter flags): see benchmarks/README.md for that column.")


if __name__ == "__main__":
    main()
