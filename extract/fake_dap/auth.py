"""Client-credentials login and the server's own HS256 JWTs (issue, verify, revoke)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import secrets
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from extract.fake_dap import errors


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Checks client credentials and issues/verifies JWTs signed with a per-server random key."""

    def __init__(self, client_id: str, client_secret: str, clock: Callable[[], float]) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._live: set[str] = set()  # jti of tokens issued and not revoked
        self._revoked: set[str] = set()

    # ---- login --------------------------------------------------------------------------------
    def login(self, authorization: str | None, body: bytes, lifetime_s: float, scope: str) -> dict[str, Any]:
        """Handle ``POST /ids/auth/login``; returns the exact four-key token document."""
        form = parse_qs(body.decode("utf-8", "replace")) if body else {}
        grant = form.get("grant_type", [""])[0]
        if grant != "client_credentials":
            raise errors.processing("grant_type must be client_credentials", "UnsupportedGrantType", status=400)
        client_id, secret = self._basic_credentials(authorization)
        if client_id is None:  # OAuth also allows the credentials in the form body
            client_id = form.get("client_id", [None])[0]
            secret = form.get("client_secret", [None])[0]
        if client_id is None:
            raise errors.authentication("Missing client credentials.")
        ok_id = hmac.compare_digest(client_id.encode(), self._client_id.encode())
        ok_secret = hmac.compare_digest((secret or "").encode(), self._client_secret.encode())
        if not (ok_id and ok_secret):
            raise errors.authentication("Invalid client credentials.")
        token = self.issue(client_id, lifetime_s)
        return {
            "access_token": token,
            "expires_in": max(0, math.ceil(lifetime_s)),
            "scope": scope,
            "token_type": "Bearer",
        }

    @staticmethod
    def _basic_credentials(authorization: str | None) -> tuple[str | None, str | None]:
        if not authorization or not authorization.lower().startswith("basic "):
            return None, None
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise errors.authentication("Malformed Basic authorization header.") from None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise errors.authentication("Malformed Basic authorization header.")
        return client_id, secret

    # ---- tokens -------------------------------------------------------------------------------
    def issue(self, subject: str, lifetime_s: float) -> str:
        now = self._clock()
        jti = secrets.token_hex(12)
        claims = {
            "iss": "fake-dap",
            "sub": subject,
            "aud": "dap",
            "iat": int(now),
            "exp": math.floor(now + lifetime_s),
            "jti": jti,
        }
        header = {"alg": "HS256", "typ": "JWT"}
        signing_input = f"{_b64url(_dumps(header))}.{_b64url(_dumps(claims))}"
        signature = hmac.new(self._key, signing_input.encode("ascii"), hashlib.sha256).digest()
        with self._lock:
            self._live.add(jti)
        return f"{signing_input}.{_b64url(signature)}"

    def verify(self, token: str | None) -> dict[str, Any]:
        """The claims of a valid, unexpired, unrevoked token; raises a 401 ApiError otherwise."""
        if not token:
            raise errors.authentication("Missing access token.")
        parts = token.split(".")
        if len(parts) != 3:
            raise errors.authentication("Malformed access token.")
        expected = hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode("ascii"), hashlib.sha256).digest()
        try:
            signature = _b64url_decode(parts[2])
            claims = json.loads(_b64url_decode(parts[1]))
        except (binascii.Error, ValueError):
            raise errors.authentication("Malformed access token.") from None
        if not hmac.compare_digest(signature, expected) or not isinstance(claims, dict):
            raise errors.authentication("Invalid access token.")
        if int(claims.get("exp", 0)) <= self._clock():
            raise errors.authentication("The access token has expired.")
        with self._lock:
            if claims.get("jti") in self._revoked:
                raise errors.authentication("The access token has been revoked.")
        return claims

    def revoke_all(self) -> int:
        """Revoke every token issued so far (server-side revocation); returns how many."""
        with self._lock:
            count = len(self._live)
            self._revoked |= self._live
            self._live = set()
        return count


def bearer_token(authorization: str | None, instauth: str | None) -> str | None:
    """The JWT from ``Authorization: Bearer …`` (preferred) or the deprecated ``X-InstAuth``."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None
    return instauth.strip() if instauth else None


def _dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
