"""Errors that end a command with a one-line message instead of a traceback."""


class PlatformError(Exception):
    """Base class: the CLI prints ``str(error)`` on one line and exits non-zero."""


class ConfigError(PlatformError):
    """The configuration is invalid or incomplete."""


class StorageError(PlatformError):
    """The object store could not do what was asked (names the URL and the cause)."""


class NotFoundError(StorageError):
    """A key or a bucket does not exist."""


class LeakageError(PlatformError):
    """A pipeline would use columns that are unknown before a film's release."""
