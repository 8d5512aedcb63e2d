"""Benchmark: the TFX pipeline on LocalDagRunner: wall time per component, total, peak RSS.

Five runs, each a fresh ``yt8m pipeline run`` process on freshly generated data (no cache):
  * video level at the ``make demo`` size (1,200 videos, GatedDnnModel, batch 64, 10 epochs) and
    at 10x (12,000 videos, same settings);
  * frame level, 1,200, 12,000, 36,000 and 72,000 videos of 20-60 frames, DbofModel at reduced
    width (1,024 clusters, hidden 512), batch 64, 3 epochs (30x and 60x show where memory levels
    off).
A case may set the epochs (``frame:1:30``): 1x data trained as many steps as 10x data with the
default epochs separates what follows the data from what follows the length of training; and the
Beam worker processes (``frame:10:1:w2``: ``--beam_workers 2``, the DirectRunner's
multi-processing mode; the child-process RSS row then holds the workers).
Component times come from ML Metadata (execution create -> last update); peak RSS is the
pipeline process's maximum resident set (``wait4``), Beam running in-process. The process's RSS
is also sampled every 0.2 s, and each component's peak is the highest sample inside its
execution window (the "RSS" rows, the pipeline process alone, as the peak), so growth with the
data can be traced to a component; child processes (the Trainer's MetaGraph export) get a row of
their own.

Run: .venv/bin/python -m benchmarks.bench_pipeline [--cases video:1,frame:10,frame:1:30,
     frame:30:1:w2,...]
     [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time

import psutil


from benchmarks import common
from pipeline import metadata
from pipeline import outcome
from trainer_module.data import synthetic as synthetic_data

BASE_VIDEOS = 1_200
ORDER = ["ImportExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "CurateSchema",
         "ImportSchemaGen", "Transform", "Trainer", "latest_blessed_model_resolver", "Evaluator",
         "Pusher", "KaggleExport"]


def run_case(level: str, scale: int, work: str, epochs: int | None = None,
             workers: int = 0) -> dict:
    frame = level == "frame"
    epochs = epochs or (3 if frame else 10)
    data = os.path.join(work, f"{level}_{scale}x_data")
    name = f"{level}_{scale}x_{epochs}ep_w{workers}"
    root = os.path.join(work, f"{name}_root")
    if not os.path.isdir(data):  # cases of one level and scale share their data
        synthetic_data.generate(synthetic_data.GeneratorConfig(
            output_dir=data, num_videos=BASE_VIDEOS * scale, num_shards=4 * scale, seed=7,
            frame_level=frame, **({"min_frames": 20, "max_frames": 60} if frame else {})),
            progress=False)
    cmd = [os.path.join(os.path.dirname(sys.executable), "yt8m"), "pipeline", "run",
           "--data_dir", data, "--pipeline_root", root, "--batch_size", "64"]
    cmd += (["--frame_features", "--model", "DbofModel", "--max_frames", "60",
             "--dbof_cluster_size", "1024", "--dbof_hidden_size", "512"] if frame else [])
    cmd += ["--num_epochs", str(epochs), "--beam_workers", str(workers)]
    start = time.time()
    samples: list[tuple[float, int, int]] = []  # (epoch seconds, RSS bytes: process, children)
    with open(os.path.join(work, f"{name}.log"), "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        sampler = threading.Thread(target=_sample_rss, args=(proc.pid, samples), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.time() - start
    if status != 0:
        sys.exit(f"{' '.join(cmd)} failed; see {out.name}")
    store = metadata.open_store(metadata.default_path(root))
    times, rss = {}, {}
    for node, _, secs, execution in outcome.run_executions(store):
        times[node] = secs
        begin = execution.create_time_since_epoch / 1000.0
        end = execution.last_update_time_since_epoch / 1000.0
        inside = [b for t, b, _ in samples if begin <= t <= end]
        rss[node] = max(inside) / 2**20 if inside else float("nan")
    return {"times": times, "rss": rss, "total": seconds, "rss_mib": usage.ru_maxrss / 1024,
            "children_mib": max((c for _, _, c in samples), default=0) / 2**20,
            "videos": BASE_VIDEOS * scale, "epochs": epochs, "workers": workers}


def _column(case: str, result: dict) -> str:
    level, scale = case.split(":")[:2]
    epochs = f", {result['epochs']} epochs" if case.count(":") >= 2 else ""
    workers = f", {result['workers']} Beam workers" if result["workers"] else ""
    return f"{level} {scale}x{epochs}{workers} ({result['videos']:,} videos)"


def _or_zero(mib: float) -> float:
    return 0.0 if mib != mib else mib  # NaN: no sample inside a short window


def _sample_rss(pid: int, samples: list) -> None:
    """Appends (time, RSS of pid, RSS of its children) every 0.2 s until the process exits."""
    try:
        process = psutil.Process(pid)
        while process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
            children = sum(p.memory_info().rss for p in process.children(recursive=True))
            samples.append((time.time(), process.memory_info().rss, children))
            time.sleep(0.2)
    except psutil.Error:  # the process ended between two calls
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", default="video:1,video:10,frame:1,frame:10,frame:30,frame:60",
                        help="level:scale[:epochs], comma-separated")
    parser.add_argument("--keep", default=None, help="work folder to keep (data, roots, logs)")
    parser.add_argument("--name", default="bench_pipeline",
                        help="results table: benchmarks/results/NAME.md")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        work = args.keep or scratch
        for case in args.cases.split(","):
            level, scale, *rest = case.split(":")
            workers = int(rest.pop()[1:]) if rest and rest[-1].startswith("w") else 0
            results[case] = run_case(level, int(scale), work, int(rest[0]) if rest else None,
                                     workers)
            print(case, results[case], flush=True)
    nodes = [n for n in ORDER if any(n in r["times"] for r in results.values())]
    nodes += sorted({n for r in results.values() for n in r["times"]} - set(nodes))
    header = ["component"] + [_column(case, r) for case, r in results.items()]
    rows = [[n] + [round(r["times"].get(n, float("nan")), 1) for r in results.values()]
            for n in nodes]
    rows += [[f"{n} RSS (MiB)"] + [round(r["rss"].get(n, float("nan"))) for r in results.values()]
             for n in nodes if any(r["times"].get(n, 0) > 1 for r in results.values())]
    rows.append(["child processes RSS (MiB)"] + [round(r["children_mib"]) for r in results.values()])
    rows.append(["highest RSS sample in"] + [max(r["rss"], key=lambda n: _or_zero(r["rss"][n]))
                                             for r in results.values()])
    rows.append(["**process total (s)**"] + [round(r["total"], 1) for r in results.values()])
    rows.append(["**peak RSS (MiB)**"] + [round(r["rss_mib"]) for r in results.values()])
    common.record(args.name, "TFX pipeline on LocalDagRunner: seconds per component",
                  header, rows,
                  "Process total includes Python/TFX start-up (~15 s) and reading the outcome. "
                  "Frame level uses 20-60 frames per video and a narrower DbofModel so the 10x run "
                  "fits a 2-core machine.", script="bench_pipeline")


if __name__ == "__main__":
    main()
