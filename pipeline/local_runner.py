"""Runs the pipeline with LocalDagRunner (sqlite MLMD, caching) and summarizes the outcome."""
from __future__ import annotations

import os
import time

from tfx import v1 as tfx

from pipeline import create
from pipeline import outcome
from pipeline.config import PipelineConfig


def run(config: PipelineConfig, log=print) -> dict:
    """Runs ``create_pipeline(config)`` locally; returns metrics, blessing and output paths."""
    os.makedirs(config.pipeline_root, exist_ok=True)
    os.makedirs(os.path.dirname(os.path.abspath(config.resolved_metadata_path())), exist_ok=True)
    start = time.time()
    tfx.orchestration.LocalDagRunner().run(create.create_pipeline(config))
    result = outcome.latest_outcome(config)
    result["seconds"] = time.time() - start
    return result
