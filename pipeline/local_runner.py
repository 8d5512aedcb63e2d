"""Runs the pipeline with LocalDagRunner (sqlite MLMD, caching) and summarizes the outcome."""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time

from tfx import v1 as tfx

from pipeline import create
from pipeline import metadata
from pipeline import outcome
from pipeline.config import PipelineConfig
from trainer_module import io_utils
from trainer_module import log_filters
from trainer_module.train.memory import trim_heap


class _ComponentProgress(logging.Handler):
    """Echoes LocalDagRunner's 'Component X is running/finished' lines with elapsed seconds, and
    returns each finished component's freed memory to the OS (trim_heap) so that the
    next component of this shared process does not start on top of it: every component shares
    this process, and a later component whose threads use other glibc arenas cannot reuse the
    pages an earlier one freed."""

    def __init__(self, log):
        super().__init__(logging.INFO)
        self.log, self.started = log, {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.name != "absl" or not isinstance(record.msg, str):
            return
        if record.msg.startswith("Component %s is running"):
            node = record.args[0]
            self.started[node] = time.time()
            self.log(f"[{time.strftime('%H:%M:%S')}] {node} ...")
        elif record.msg.startswith("Component %s is finished"):
            node = record.args[0]
            seconds = time.time() - self.started.get(node, time.time())
            trim_heap()
            self.log(f"[{time.strftime('%H:%M:%S')}] {node} done in {seconds:.1f}s")


@contextlib.contextmanager
def _progress(log):
    """Routes the runner's INFO progress lines to ``log`` without raising absl's verbosity."""
    absl_logger = logging.getLogger("absl")
    handler = _ComponentProgress(log)
    quiet = []
    for h in absl_logger.handlers + logging.getLogger().handlers:
        if h.level < logging.WARNING:
            quiet.append((h, h.level))
            h.setLevel(logging.WARNING)
    old_level = absl_logger.level
    absl_logger.setLevel(logging.INFO)
    # Executors (Transform) reset absl's verbosity to WARNING mid-run: keep INFO reaching us.
    absl_logger.setLevel = lambda level: logging.Logger.setLevel(  # type: ignore[method-assign]
        absl_logger, min(level, logging.INFO))
    absl_logger.addHandler(handler)
    try:
        yield
    finally:
        absl_logger.removeHandler(handler)
        del absl_logger.setLevel
        absl_logger.setLevel(old_level)
        for h, level in quiet:
            h.setLevel(level)


@contextlib.contextmanager
def _scratch_dir():
    """Points Python's temp folder at a fresh folder for the run and removes it afterwards.

    Executors leave temporary files behind; the largest is TFX's repackaged copy of itself
    (``tfx_ephemeral`` sdist, ~50 MB and ~2.6 s per Beam component) built whenever Beam arguments
    are given, meant for remote Beam workers and useless to the in-process DirectRunner."""
    previous = tempfile.tempdir
    scratch = io_utils.make_scratch("run")  # also removes a killed run's
    tempfile.tempdir = scratch
    try:
        yield scratch
    finally:
        tempfile.tempdir = previous
        shutil.rmtree(scratch, ignore_errors=True)


def run(config: PipelineConfig, log=print) -> dict:
    """Runs ``create_pipeline(config)`` locally; returns metrics, blessing, output paths and the
    wall time of every component of this run (``components``: node, state, seconds).

    Raises:
      ValueError: a config built for another platform (its baseline task needs that platform).
    """
    if config.deployment.platform != "local":
        raise ValueError(f"`platform` {config.deployment.platform!r} is compiled, not run locally; the "
                         "local runner takes 'local'")
    log_filters.install()  # the known-harmless library warnings (YT8M_VERBOSE=1 shows them)
    os.makedirs(config.pipeline_root, exist_ok=True)
    os.makedirs(os.path.dirname(os.path.abspath(config.resolved_metadata_path())), exist_ok=True)
    start = time.time()
    with outcome.run_lock(config.resolved_metadata_path()), _progress(log), _scratch_dir():
        pipeline = create.create_pipeline(config)
        pipeline.metadata_connection_config = metadata.sqlite_connection(
            config.resolved_metadata_path())
        tfx.orchestration.LocalDagRunner().run(pipeline)
        result = outcome.latest_outcome(config)
    result["seconds"] = time.time() - start
    return result
