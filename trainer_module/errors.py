"""Exceptions for bad input data, reported to users as one line naming the file."""


class DataError(Exception):
    """A data file is unreadable or does not match the expected YT8M format."""
