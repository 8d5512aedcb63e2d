"""Benchmark: what one push of the pipeline costs on disk, by part of the pushed model.

Reads the newest pushed version under each given pipeline root (``serving_model/<version>/``)
and the KaggleExport ``model.tgz`` beside it; compare a root written before and after a change.

Run: .venv/bin/python -m benchmarks.bench_pushed_size --root LABEL=PIPELINE_ROOT [...]
"""
import argparse
import glob
import os

from benchmarks import common

MIB = 2**20


def _size(path: str) -> int:
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def measure(root: str) -> dict:
    """MiB of the newest pushed version, its parts, and the newest KaggleExport model.tgz."""
    pushed = max(glob.glob(os.path.join(root, "serving_model", "*")), key=os.path.getmtime)
    extra = os.path.join(pushed, "assets.extra")
    tgz = glob.glob(os.path.join(root, "KaggleExport", "model_archive", "*", "model.tgz"))
    kaggle = [f for f in glob.glob(os.path.join(extra, "*")) if "inference_model" in f]
    return {"pushed model": _size(pushed) / MIB,
            "variables/": _size(os.path.join(pushed, "variables")) / MIB,
            "saved_model.pb": _size(os.path.join(pushed, "saved_model.pb")) / MIB,
            "assets.extra/ (all)": _size(extra) / MIB if os.path.isdir(extra) else 0.0,
            "Kaggle MetaGraph in it": sum(map(_size, kaggle)) / MIB,
            "warm-up requests in it": (_size(os.path.join(extra, "tf_serving_warmup_requests"))
                                       / MIB if os.path.isdir(extra) else 0.0),
            "KaggleExport model.tgz": (_size(max(tgz, key=os.path.getmtime)) / MIB
                                       if tgz else float("nan"))}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", action="append", required=True, metavar="LABEL=PIPELINE_ROOT")
    args = parser.parse_args()
    columns = [item.partition("=")[::2] for item in args.root]
    sizes = [measure(root) for _, root in columns]
    rows = [[part] + [round(s[part], 2) for s in sizes] for part in sizes[0]]
    common.record("bench_pushed_size", "Pushed model size (MiB, `make demo`'s GatedDnnModel)",
                  ["part"] + [label for label, _ in columns], rows)


if __name__ == "__main__":
    main()
