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


def _shown(logger, level, message) -> bool:
    """Whether a record logged on ``logger`` passes that logger's filters. Asked of the filters
    themselves, not through ``logger.log``: a command run in-process earlier (``yt8m runs``,
    ``yt8m report``) may have raised the logger's level, which is not what this test is about."""
    target = logging.getLogger(logger)
    record = target.makeRecord(logger, level, __file__, 0, message, (), None)
    return bool(target.filter(record))


def test_each_known_warning_is_dropped_and_nothing_else(quiet):
    for known in (k for k in log_filters.KNOWN if k.logger):
        assert known.why and not _shown(known.logger, logging.WARNING,
                                        f"x {known.text} y"), known.text
    assert _shown("absl", logging.WARNING, "some other absl warning")
    assert _shown("tensorflow", logging.WARNING, "another deprecation")
    # errors are never dropped, even with a known text
    assert _shown("absl", logging.ERROR, "ArtifactQuery.property_predicate is not "
                                                 "supported")


def test_verbose_shows_them_again(quiet):
    text = "ArtifactQuery.property_predicate is not supported."
    assert not _shown("absl", logging.WARNING, text)
    log_filters.install(show_all=True)
    assert _shown("absl", logging.WARNING, text)
    assert log_filters.verbose()
