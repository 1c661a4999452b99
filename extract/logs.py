"""Logging set-up for the ``cd2`` CLI: plain or JSON lines, with secrets scrubbed.

Secrets never get into log calls in the first place; the redaction filter (``extract.redact``,
the same one the summary, ``cd2_meta`` and ``cd2 status`` use) is a second line of defence
against third-party messages (e.g. an exception text carrying a signed URL). A message is one
line: a line break inside it (a name or an error text from the API) is shown as ``\\n``, so it
cannot forge a log line of its own.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from extract import redact


class RedactingFilter(logging.Filter):
    """Replaces tokens, signatures and the registered secrets in every record; escapes line breaks."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        redact.register(*secrets)

    @staticmethod
    def scrub(text: str) -> str:
        return redact.scrub(text).replace("\r", "\\r").replace("\n", "\\n")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = self.scrub(message)
        record.args = None
        return True


class PlainFormatter(logging.Formatter):
    def formatException(self, ei: Any) -> str:  # noqa: N802 (logging's name)
        return redact.scrub(super().formatException(ei))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["exception"] = redact.scrub(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False)


def configure(level: int = logging.INFO, fmt: str = "plain", secrets: tuple[str, ...] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(PlainFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # urllib3 logs request paths (with pre-signed query strings) at DEBUG: keep it quiet.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
