"""One redaction for everything that leaves the process or is stored.

Secrets never go into messages on purpose; this is the net under every place a message can
escape: log lines, the end-of-run summary, ``cd2_meta`` (``last_error``, ``error_message``),
``cd2 status`` and the top-level error line. An API error text may echo the client secret, a
bearer token or a signed download URL; ``scrub`` removes all three kinds.

The secret values of this run (client secret, pseudonym key, ...) are registered once at start-up
with ``register``; the patterns below catch the rest (tokens we never saw, pre-signed URLs).
"""

from __future__ import annotations

import re
import threading

REDACTED = "***"
# Shorter values would blank out ordinary words; a real secret is much longer.
MIN_SECRET_LENGTH = 6

_lock = threading.Lock()
_secrets: set[str] = set()

# Order matters: a signed URL may contain a JWT or "signature=" and goes whole.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Any URL with a query string: pre-signed object URLs carry their credential there (and the
    # fake's also in the path), so only scheme and host are kept.
    (re.compile(r"(?i)\b(https?://[^/\s\"'<>?]+)[^\s\"'<>?]*\?[^\s\"'<>]*"), r"\1/<signed URL redacted>"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1" + REDACTED),
    (re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),  # JWTs
    (re.compile(r"(?i)(X-Amz-[A-Za-z]+=)[^&\s\"']+"), r"\1" + REDACTED),
    (
        re.compile(
            r"(?i)\b((?:client_secret|access_token|refresh_token|signature|token|secret|password)"
            r"[\"']?\s*[=:]\s*[\"']?)[^&\s\"',;}]+"
        ),
        r"\1" + REDACTED,
    ),
)


def register(*secrets: str | None) -> None:
    """Remember secret values of this process so that ``scrub`` removes them wherever they appear."""
    with _lock:
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_LENGTH:
                _secrets.add(secret)


def forget_all() -> None:
    """Forget the registered values (tests that run several commands in one process)."""
    with _lock:
        _secrets.clear()


def scrub(text: str | None) -> str:
    """``text`` with every registered secret, token and signed URL replaced."""
    if not text:
        return text or ""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def one_line(text: str | None, limit: int = 500) -> str:
    """``scrub`` of ``text`` on one line (newlines from the API must not forge log lines), cut at ``limit``."""
    flat = " ".join(scrub(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
