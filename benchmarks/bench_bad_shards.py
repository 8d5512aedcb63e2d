"""Benchmark (robustness): a folder mixing intact, truncated and corrupted shards through
``yt8m eval`` and ``yt8m inference``, with and without ``--skip_corrupt_records``.

Reports what each run did: exit code, the one-line error, or the records read and skipped.

Run: .venv/bin/python -m benchmarks.bench_bad_shards
"""
from __future__ import annotations

import contextlib
import glob
import io
import os
import shutil
import tempfile

import tensorflow as tf

from benchmarks import common
from trainer_module.data import synthetic as synthetic_data
from yt8m_cli.main import main as cli


def damage(folder: str) -> dict:
    """Leaves 4 intact validate shards, truncates one and flips a byte in another."""
    shards = sorted(glob.glob(os.path.join(folder, "validate*.tfrecord")))
    truncated, corrupted = shards[1], shards[3]
    data = open(truncated, "rb").read()
    open(truncated, "wb").write(data[:len(data) * 2 // 3])
    data = bytearray(open(corrupted, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(corrupted, "wb").write(bytes(data))
    return {"shards": len(shards), "truncated": os.path.basename(truncated),
            "corrupted": os.path.basename(corrupted)}


def run(args: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli(args)
    lines = [line for line in (out.getvalue() + err.getvalue()).splitlines()
             if line.startswith(("read ", "  skipped", "yt8m "))]
    return rc, "<br>".join(lines).replace("|", "\\|")


def main():
    with tempfile.TemporaryDirectory() as work:
        data = os.path.join(work, "data")
        synthetic_data.generate(synthetic_data.GeneratorConfig(
            output_dir=data, num_videos=2_000, num_shards=6, seed=9), progress=False)
        video = os.path.join(data, "video")
        intact = sum(1 for _ in tf.data.TFRecordDataset(
            sorted(glob.glob(os.path.join(video, "validate*")))))
        train_dir = os.path.join(work, "train_dir")
        run(["train", "--train_data_pattern", os.path.join(video, "train*"), "--train_dir",
             train_dir, "--model", "LogisticModel", "--num_epochs", "1", "--no_metagraph"])
        info = damage(video)
        pattern = os.path.join(video, "validate*")
        rows = []
        for skip in (False, True):
            flag = ["--skip_corrupt_records"] if skip else []
            rc, text = run(["eval", "--eval_data_pattern", pattern, "--train_dir", train_dir,
                            "--run_once", *flag])
            rows.append(["yt8m eval" + (" --skip_corrupt_records" if skip else ""), rc, text])
            out_csv = os.path.join(work, f"p{int(skip)}.csv")
            rc, text = run(["inference", "--input_data_pattern", pattern, "--train_dir",
                            train_dir, "--output_file", out_csv, *flag])
            written = (sum(1 for _ in open(out_csv)) - 1) if os.path.exists(out_csv) else "no file"
            rows.append(["yt8m inference" + (" --skip_corrupt_records" if skip else ""), rc,
                         f"{text}<br>CSV rows: {written}"])
        shutil.rmtree(train_dir)
    common.record("bench_bad_shards",
                  f"Damaged shards: {info['shards']} validate shards holding {intact} videos, "
                  f"{info['truncated']} cut to 2/3, {info['corrupted']} with one flipped byte",
                  ["command", "exit code", "what it reported"], rows)


if __name__ == "__main__":
    main()
