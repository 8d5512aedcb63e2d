"""yt8m runs: local pipeline runs from ML Metadata (list, or one run's lineage)."""
from __future__ import annotations

import argparse
import logging

HELP = "List local pipeline runs (newest first) or show one run's lineage."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", choices=["list", "show"], default="list",
                   help="list: the runs, newest first; show: one run's lineage")
    p.add_argument("run", nargs="?", default=None, help="run id (or a unique prefix) for show")
    add_store_flags(p)


def add_store_flags(p: argparse.ArgumentParser) -> None:
    """Where the local runs' ML Metadata store is (shared with `yt8m report`)."""
    p.add_argument("--pipeline_root", default="pipeline_output",
                   help="the pipeline root the runs were written to (`make demo`: demo_output)")
    p.add_argument("--metadata_path", default=None,
                   help="default PIPELINE_ROOT/metadata.sqlite, as `yt8m pipeline run` writes it")


def metadata_path(args) -> str:
    from pipeline import metadata

    return args.metadata_path or metadata.default_path(args.pipeline_root)


_SHORT = {"COMPLETE": "ok", "CACHED": "cached", "FAILED": "FAILED", "RUNNING": "running"}


def _fmt(value, spec=".4f"):
    return "-" if value is None else format(value, spec)


def run(args: argparse.Namespace) -> int:
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # TFMA's deprecation chatter
    from pipeline import outcome, runs

    store = runs.open_store(metadata_path(args))
    live = outcome.run_in_progress(metadata_path(args))  # else RUNNING means killed
    if args.action == "show":
        run_ctx = runs.find_run(store, args.run)
        summary = runs.summarize(store, run_ctx, live=live)
        print(f"run {summary.run_id} started {summary.started}, {summary.seconds:.0f}s, model "
              f"{summary.model}, GAP {_fmt(summary.metrics.get('gap'))}, blessed {summary.blessed}")
        for row in runs.lineage(store, run_ctx, live):
            print(f"{row['node']} [{row['state']}, {row['seconds']:.1f}s]")
            for kind in ("inputs", "outputs"):
                for type_name, uri in row[kind]:
                    print(f"    {'<-' if kind == 'inputs' else '->'} {type_name}: {uri}")
        return 0
    summaries = runs.list_runs(store, live=live)
    print(f"{'run id':28s} {'started':20s} {'secs':>6s} {'model':22s} {'GAP':>7s} {'Hit@1':>7s} "
          f"{'PERR':>7s} {'mAP':>7s} {'blessed':8s} pushed   components")
    for s in summaries:
        m = s.metrics
        states = " ".join(f"{n}:{_SHORT.get(st, st)}" for n, st, _ in s.components
                          if not n.startswith("latest_"))
        print(f"{s.run_id:28.28s} {s.started:20s} {s.seconds:6.0f} {str(s.model):22.22s} "
              f"{_fmt(m.get('gap')):>7s} {_fmt(m.get('hit_at_one')):>7s} {_fmt(m.get('perr')):>7s} "
              f"{_fmt(m.get('map')):>7s} {str(s.blessed):8s} {s.pushed_version or '-':8s} {states}")
    print("(`yt8m runs show RUN` prints a run's lineage with artifact URIs)")
    return 0
