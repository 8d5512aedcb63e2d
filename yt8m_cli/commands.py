"""Registry of the ``yt8m`` subcommands (explicit: name -> module with add_arguments/run)."""
from __future__ import annotations

from trainer_module.errors import DataError  # noqa: F401  (re-exported for main)
from yt8m_cli import (cmd_convert, cmd_download, cmd_ensemble, cmd_eval, cmd_extract,
                      cmd_generate, cmd_inference, cmd_pipeline, cmd_report, cmd_runs, cmd_score,
                      cmd_train)

COMMANDS = {
    "generate-data": cmd_generate,
    "extract-features": cmd_extract,
    "convert-mediapipe": cmd_convert,
    "download": cmd_download,
    "train": cmd_train,
    "eval": cmd_eval,
    "inference": cmd_inference,
    "score": cmd_score,
    "ensemble": cmd_ensemble,
    "pipeline": cmd_pipeline,
    "runs": cmd_runs,
    "report": cmd_report,
}
