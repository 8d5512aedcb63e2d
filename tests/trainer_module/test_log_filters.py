"""The known-harmless warnings are dropped by name, nothing else is, and --verbose (or
YT8M_VERBOSE=1) shows them again."""
import logging
import os

import pytest

from trainer_module import log_filters


@pytest.fixture
def quiet():
    """Filters installed, YT8M_VERBOSE unset; afterwards the environment as it was (install
    itself sets the variable for --verbose, which must not reach later tests' processes)."""
    saved = os.environ.pop(log_filters.VERBOSE_ENV, None)
    log_filters.install()
    try:
        yield
    finally:
        os.environ.pop(log_filters.VERBOSE_ENV, None)
        log_filters.install()  # quiet again, as the CLI starts
        if saved is not None:
            os.environ[log_filters.VERBOSE_ENV] = saved


class _Seen(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _shown(caplog, logger, level, message) -> bool:
    """Whether a record logged on ``logger`` passes its filters (a handler on the logger itself:
    TensorFlow's logger does not propagate to the root once TensorFlow is imported)."""
    seen = _Seen()
    target = logging.getLogger(logger)
    target.addHandler(seen)
    try:
        target.log(level, message)
    finally:
        target.removeHandler(seen)
    return message in seen.messages


def test_each_known_warning_is_dropped_and_nothing_else(quiet, caplog):
    caplog.set_level(logging.INFO)
    for known in (k for k in log_filters.KNOWN if k.logger):
        assert known.why and not _shown(caplog, known.logger, logging.WARNING,
                                        f"x {known.text} y"), known.text
    assert _shown(caplog, "absl", logging.WARNING, "some other absl warning")
    assert _shown(caplog, "tensorflow", logging.WARNING, "another deprecation")
    # errors are never dropped, even with a known text
    assert _shown(caplog, "absl", logging.ERROR, "ArtifactQuery.property_predicate is not "
                                                 "supported")


def test_verbose_shows_them_again(quiet, caplog):
    caplog.set_level(logging.INFO)
    text = "ArtifactQuery.property_predicate is not supported."
    assert not _shown(caplog, "absl", logging.WARNING, text)
    log_filters.install(show_all=True)
    assert _shown(caplog, "absl", logging.WARNING, text)
    assert log_filters.verbose()
