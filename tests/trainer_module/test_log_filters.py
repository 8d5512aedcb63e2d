"""The known-harmless warnings are dropped by name, nothing else is, and --verbose (or
YT8M_VERBOSE=1) shows them again."""
import logging

import pytest

from trainer_module import log_filters


@pytest.fixture
def quiet(monkeypatch):
    monkeypatch.delenv(log_filters.VERBOSE_ENV, raising=False)
    log_filters.install()
    yield
    monkeypatch.setenv(log_filters.VERBOSE_ENV, "1")
    log_filters.install()  # removes the filters again
    monkeypatch.delenv(log_filters.VERBOSE_ENV)


def _shown(caplog, logger, level, message) -> bool:
    caplog.clear()
    logging.getLogger(logger).log(level, message)
    return any(r.getMessage() == message for r in caplog.records)


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


def test_verbose_shows_them_again(quiet, caplog, monkeypatch):
    caplog.set_level(logging.INFO)
    text = "ArtifactQuery.property_predicate is not supported."
    assert not _shown(caplog, "absl", logging.WARNING, text)
    log_filters.install(show_all=True)
    assert _shown(caplog, "absl", logging.WARNING, text)
    assert log_filters.verbose()
