"""Exceptions for bad input, and how the library names settings in its error messages.

The library names a setting by its config field in backticks: "`top_k` must be >= 1, got 0",
"`hparams.dnn_dropout` must be in [0.0, 1.0), got 2.0". It never names a command-line flag:
the same code runs behind the ``yt8m`` CLI (which renders a field as its flag, `--top_k`) and
inside the pipeline, whose users set JSON config keys.
"""
from __future__ import annotations

import re

FIELD = re.compile(r"`([A-Za-z_][\w.]*)`")


class DataError(Exception):
    """A data file is unreadable or does not match the expected YT8M format."""


def plain_fields(text: str) -> str:
    """The message with its field names as bare config keys (for messages about a config file)."""
    return FIELD.sub(lambda m: m.group(1), text)
