"""Pre-signed download URLs (S3 look-alike) and their validation.

URL shape: ``<base>/download/<token>/<job id>/<file name>?X-Amz-Algorithm=…&X-Amz-Date=…&
X-Amz-Expires=<s>&X-Amz-SignedHeaders=host&X-Amz-Signature=<hmac>``. The path ends with the
file name, so clients that name local files after the URL's basename get ``part-….tsv.gz``.
No authentication is needed; the token expires ``url_ttl_s`` after issue (then 403, as S3).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

ACCESS_DENIED_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>{message}</Message></Error>'
)
NO_SUCH_KEY_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>"
)


@dataclass(frozen=True)
class Grant:
    object_id: str
    expires: float  # server wall clock
    signature: str


class DownloadDeniedError(Exception):
    def __init__(self, status: int, xml: str) -> None:
        super().__init__(xml)
        self.status = status
        self.xml = xml


class UrlSigner:
    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._grants: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def issue(self, base_url: str, object_id: str, now: float, ttl_s: float) -> str:
        token = secrets.token_urlsafe(18)
        expires = now + ttl_s
        signature = self._sign(token, object_id, expires)
        with self._lock:
            self._grants[token] = Grant(object_id, expires, signature)
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
        query = (
            f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={stamp}&X-Amz-Expires={max(0, math.ceil(ttl_s))}"
            f"&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}"
        )
        return f"{base_url}/download/{token}/{quote(object_id, safe='/')}?{query}"

    def check(self, token: str, object_id: str, signature: str | None, now: float) -> None:
        """Raise DownloadDeniedError (403) unless the token is known, matches, is signed and unexpired."""
        with self._lock:
            grant = self._grants.get(token)
        if grant is None or grant.object_id != object_id or not hmac.compare_digest(grant.signature, signature or ""):
            raise DownloadDeniedError(403, ACCESS_DENIED_XML.format(message="Invalid signature or token."))
        if grant.expires <= now:
            raise DownloadDeniedError(403, ACCESS_DENIED_XML.format(message="Request has expired"))

    def _sign(self, token: str, object_id: str, expires: float) -> str:
        payload = f"{token}\n{object_id}\n{expires:.6f}".encode()
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()
