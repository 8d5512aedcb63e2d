"""yt8m runs: local pipeline runs from ML Metadata (list, or one run's lineage)."""
from __future__ import annotations

import argparse
import logging

from trainer_module.output_guard import Paths

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


def _steps(components) -> str:
    """The run's steps in a few words: counts by state; failed and killed steps by name."""
    counts: dict[str, int] = {}
    named: dict[str, list] = {"FAILED": [], "KILLED": []}
    for node, state, _ in components:
        if node.startswith("latest_"):
            continue
        if state in named:
            named[state].append(node)
        else:
            counts[_SHORT.get(state, state)] = counts.get(_SHORT.get(state, state), 0) + 1
    parts = [f"{n} {state}" for state, n in counts.items()]
    parts += [f"{state}: {', '.join(nodes)}" for state, nodes in named.items() if nodes]
    return ", ".join(parts)


def paths(args) -> Paths:
    return Paths(reads={"--pipeline_root": args.pipeline_root}, writes={},
                 folders=("--pipeline_root",))  # reads the store, writes nothing


def run(args: argparse.Namespace) -> int:
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # TFMA's deprecation chatter
    from pipeline import metadata, outcome, runs

    store = metadata.open_store(metadata_path(args), must_exist=True)
    live = outcome.run_in_progress(metadata_path(args))  # else RUNNING means killed
    if args.action == "show":
        run_ctx = runs.find_run(store, args.run)
        summary = runs.summarize(store, run_ctx, live=live)
        m = summary.metrics
        print(f"run {summary.run_id} started {summary.started}, {summary.seconds:.0f}s, model "
              f"{summary.model}, blessed {summary.blessed}, pushed {summary.pushed_version or '-'}")
        print(f"GAP {_fmt(m.get('gap'))}  Hit@1 {_fmt(m.get('hit_at_one'))}  "
              f"PERR {_fmt(m.get('perr'))}  mAP {_fmt(m.get('map'))}"
              + (f"  segment MAP {_fmt(m['segment_map'])} (the blessing metric; the others: "
                 "each video's best segment)" if m.get("segment_map") is not None else ""))
        for row in runs.lineage(store, run_ctx, live):
            print(f"{row['node']} [{row['state']}, {row['seconds']:.1f}s]")
            for kind in ("inputs", "outputs"):
                for type_name, uri in row[kind]:
                    print(f"    {'<-' if kind == 'inputs' else '->'} {type_name}: {uri}")
        return 0
    summaries = runs.list_runs(store, live=live)
    # The run id is the run's start time (LocalDagRunner); runs show prints both.
    print(f"{'run id':26s} {'secs':>5s} {'model':18s} {'GAP':>6s} {'Hit@1':>6s} "
          f"{'blessed':7s} {'pushed':10s} steps")
    for s in summaries:
        m = s.metrics
        print(f"{s.run_id:26.26s} {s.seconds:5.0f} "
              f"{str(s.model).removesuffix('Model'):18.18s} {_fmt(m.get('gap')):>6s} "
              f"{_fmt(m.get('hit_at_one')):>6s} {str(s.blessed):7s} "
              f"{s.pushed_version or '-':10.10s} {_steps(s.components)}")
    print("(`yt8m runs show RUN` prints a run's PERR, mAP, every step's state and time, and its "
          "artifacts' URIs)")
    return 0
