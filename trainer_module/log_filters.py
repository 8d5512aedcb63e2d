"""The known-harmless library warnings, dropped from what a user sees (``--verbose`` or
``YT8M_VERBOSE=1`` shows them again).

Each entry names the logger, the message it drops and why it is harmless here; nothing else is
filtered, and errors never are. Installed by the ``yt8m`` CLI at start and by the local pipeline
runner (so a notebook's ``local_runner.run`` is as quiet); the components of a local run execute
in that process.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import warnings

VERBOSE_ENV = "YT8M_VERBOSE"


@dataclasses.dataclass(frozen=True)
class Known:
    logger: str  # the logging logger that emits it ("" for Python's warnings module)
    text: str  # a fragment of the message
    why: str  # why it is harmless here


KNOWN = (
    Known("absl", "ArtifactQuery.property_predicate is not supported",
          "TFX's local input resolution, once per node; the pipeline's queries use no property "
          "predicate"),
    Known("absl", "Using the in-place Transform since",
          "TFX confirming that Transform reads no data (no analyzers, materialize=False), as "
          "designed (pipeline/create.py)"),
    Known("apache_beam.io.tfrecordio", "Couldn't find python-snappy",
          "Beam's pure-Python CRC32C fallback for TFRecords; TensorFlow reads and writes the "
          "large files"),
    Known("tensorflow", "parse_example_dataset (from tensorflow.python.data.experimental",
          "a deprecation inside tfx_bsl's TFXIO, pinned with TFX 1.16"),
    Known("tensorflow", "tf_record_iterator (from tensorflow.python.lib.io.tf_record)",
          "a deprecation inside TFMA's metrics writer, pinned with TFX 1.16"),
    Known("tensorflow", "SavedModel saved prior to TF 2.5 detected when loading Keras model",
          "TFMA tries the Keras loader on the serving SavedModel first; the model is a plain "
          "TF 2.16 SavedModel with signatures, loaded correctly after this line"),
    Known("", "FutureWarning",
          "google-auth / google-api-core announcing the end of Python 3.10 support: the stack "
          "is pinned to Python 3.10 by TFX 1.16"),
)


class _DropKnown(logging.Filter):
    def __init__(self, logger: str):
        super().__init__()
        self._texts = tuple(k.text for k in KNOWN if k.logger == logger)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        message = record.getMessage()
        return not any(text in message for text in self._texts)


_installed: dict[str, _DropKnown] = {}


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def install(show_all: bool = False) -> None:
    """Drops the KNOWN warnings (idempotent); ``show_all`` (or YT8M_VERBOSE=1) shows them."""
    if show_all:
        os.environ[VERBOSE_ENV] = "1"  # the local runner and child processes see it too
    if verbose():
        for name, dropper in _installed.items():
            logging.getLogger(name).removeFilter(dropper)
        _installed.clear()
        warnings.filterwarnings("default", category=FutureWarning)  # ahead of the ignore
        return
    for name in sorted({k.logger for k in KNOWN if k.logger}):
        if name not in _installed:
            _installed[name] = _DropKnown(name)
            logging.getLogger(name).addFilter(_installed[name])
    warnings.filterwarnings("ignore", category=FutureWarning)
