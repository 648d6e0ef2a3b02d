"""Logging set-up shared by every command: plain lines, and secrets never printed."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_QUERY_SECRET = re.compile(r"(api_key=)[^&\s]+|(Bearer\s+)[A-Za-z0-9._\-]+", re.IGNORECASE)


class RedactSecrets(logging.Filter):
    """Masks the configured secret values and ``api_key=``/Bearer tokens in every record.

    The values are given by the caller (``Settings.secret_values()``), so a secret
    that reaches a log line through an exception message or a URL is still masked.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._values = sorted({v for v in secrets if len(v) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        text = _QUERY_SECRET.sub(lambda m: (m.group(1) or m.group(2)) + "***", text)
        for value in self._values:
            text = text.replace(value, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        return True


def configure_logging(level: str = "INFO", *, secrets: Iterable[str] = ()) -> None:
    """Root logger configuration with secret redaction; calling it again updates both."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    redact = RedactSecrets(secrets)
    existing = getattr(root, "_tmdb_handler", None)
    if existing is not None:
        existing.filters[:] = [redact]
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(redact)
    root.handlers[:] = [handler]
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    root._tmdb_handler = handler  # type: ignore[attr-defined]
