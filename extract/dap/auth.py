"""Credentials and access tokens for the DAP API.

Tokens are refreshed proactively (5 minutes before their ``exp``), one login at a time even
with many threads, and a 401 in the middle of a run triggers exactly one fresh login.
Tokens and secrets never reach logs or ``repr``.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from extract import redact
from extract.dap.errors import AuthenticationError, ServerError, error_from_response

DEFAULT_BASE_URL = "https://api-gateway.instructure.com"
REFRESH_MARGIN_S = 300.0
# A login that cannot connect is tried again briefly (a blip mid-run); an API that stays
# unreachable is reported within seconds, before anything else is done.
LOGIN_ATTEMPTS = 3
LOGIN_RETRY_S = 1.0


class ApiUnreachableError(ServerError):
    """No connection to the API could be made (refused, DNS, TLS, timeout)."""


def _reason(exc: requests.RequestException) -> str:
    """A short reason for a connection failure, with the likely fix where it is known."""
    text = str(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        if "WRONG_VERSION_NUMBER" in text or "record layer" in text:
            return "TLS handshake failed: the server does not speak https (is the URL http://?)"
        return "TLS handshake failed (certificate or protocol)"
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    if isinstance(
        exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema | requests.exceptions.InvalidSchema
    ):
        return "not a valid URL (DAP_API_URL must look like https://host)"
    if "Name or service not known" in text or "nodename nor servname" in text or "NameResolution" in text:
        return "the host name does not resolve"
    if "Connection refused" in text:
        return "connection refused (nothing listens there)"
    return type(exc).__name__


@dataclass(frozen=True)
class Credentials:
    base_url: str
    client_id: str
    client_secret: str = field(repr=False)

    @classmethod
    def from_env(
        cls, base_url: str | None = None, client_id: str | None = None, client_secret: str | None = None
    ) -> Credentials:
        """Flags win over the official client's environment variables."""
        url = (base_url or os.environ.get("DAP_API_URL") or DEFAULT_BASE_URL).rstrip("/")
        if not url.lower().startswith(("https://", "http://")) or any(c.isspace() for c in url):
            raise ApiUnreachableError(message=f"DAP_API_URL {url!r} is not an http(s) URL such as {DEFAULT_BASE_URL}")
        cid = client_id or os.environ.get("DAP_CLIENT_ID") or ""
        secret = client_secret or os.environ.get("DAP_CLIENT_SECRET") or ""
        missing = [n for n, v in (("DAP_CLIENT_ID", cid), ("DAP_CLIENT_SECRET", secret)) if not v]
        if missing:
            raise AuthenticationError(
                message=f"missing DAP credentials: set {' and '.join(missing)} "
                "(or pass --client-id / --client-secret-file)"
            )
        return cls(url, cid, secret)


def token_expiry(token: str) -> float:
    """The ``exp`` claim (epoch seconds) of a JWT, read without verifying its signature."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        return float(json.loads(base64.urlsafe_b64decode(payload))["exp"])
    except (IndexError, KeyError, ValueError, TypeError) as exc:
        raise AuthenticationError(message="the access token from the DAP API is not a JWT with an exp claim") from exc


class TokenManager:
    """Hands out a valid bearer token; logs in again when it is about to expire or was refused."""

    def __init__(
        self,
        credentials: Credentials,
        session: requests.Session,
        timeout_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = credentials
        self._session = session
        self._timeout = timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._margin = REFRESH_MARGIN_S
        self.logins = 0

    def __repr__(self) -> str:
        return f"TokenManager(client_id={self._credentials.client_id!r}, logged_in={self._token is not None})"

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._expires_at - self._clock() < self._margin:
                self._login()
            assert self._token is not None
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (the server refused it) so the next call logs in again."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _login(self) -> None:
        url = f"{self._credentials.base_url}/ids/auth/login"
        for attempt in range(1, LOGIN_ATTEMPTS + 1):
            try:
                response = self._session.post(
                    url,
                    auth=(self._credentials.client_id, self._credentials.client_secret),
                    data={"grant_type": "client_credentials"},
                    timeout=self._timeout,
                )
                break
            except requests.RequestException as exc:
                if attempt == LOGIN_ATTEMPTS:
                    raise ApiUnreachableError(
                        message=f"cannot reach the DAP API at {self._credentials.base_url}: {_reason(exc)}"
                    ) from None
                time.sleep(LOGIN_RETRY_S * attempt)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = response.text
            raise error_from_response(response.status_code, body)
        try:
            token = response.json()["access_token"]
        except (ValueError, KeyError, TypeError) as exc:
            raise AuthenticationError(message="the DAP login answer has no access_token") from exc
        self._token = str(token)
        redact.register(self._token)
        self._expires_at = token_expiry(self._token)
        # Refresh 5 minutes ahead, or half-way through a token that lives less than 10 minutes.
        self._margin = min(REFRESH_MARGIN_S, max(0.0, (self._expires_at - self._clock()) / 2))
        self.logins += 1
