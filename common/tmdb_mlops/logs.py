"""Logging set-up shared by every command: plain lines, and secrets never printed."""

from __future__ import annotations

import logging
import os
import re

_SECRET_ENV = (
    "TMDB_API_KEY",
    "TMDB_READ_ACCESS_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "ADMIN_TOKEN",
    "MODEL_SIGNING_KEY",
)
_QUERY_SECRET = re.compile(r"(api_key=)[^&\s]+|(Bearer\s+)[A-Za-z0-9._\-]+", re.IGNORECASE)


class RedactSecrets(logging.Filter):
    """Masks secret values and ``api_key=``/Bearer tokens in every record.

    The values come from the environment at set-up, so a secret that reaches a
    log line through an exception message or a URL is still masked.
    """

    def __init__(self) -> None:
        super().__init__()
        self._values = [v for name in _SECRET_ENV if len(v := os.environ.get(name, "")) >= 4]

    def redact(self, text: str) -> str:
        text = _QUERY_SECRET.sub(lambda m: (m.group(1) or m.group(2)) + "***", text)
        for value in self._values:
            text = text.replace(value, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        return True


def configure_logging(level: str = "INFO") -> None:
    """Idempotent root logger configuration with secret redaction."""
    root = logging.getLogger()
    if getattr(root, "_tmdb_configured", False):
        root.setLevel(level.upper())
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    root._tmdb_configured = True  # type: ignore[attr-defined]
