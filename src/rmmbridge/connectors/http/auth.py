"""OAuth2 bearer-token auth: fetch, cache until shortly before expiry, refresh on a 401, redact every token."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass

import httpx

from rmmbridge.connectors.errors import ConnectorAuthError, ConnectorFatalError, ConnectorForbiddenError
from rmmbridge.connectors.http.redaction import Redactor
from rmmbridge.connectors.http.responses import decode_json, error_message_from, raise_for_status


def _oauth_error(response: httpx.Response) -> str:
    """The OAuth2 `error` code of a token answer ("invalid_scope", "invalid_client" …), or ""."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return ""
    error = body.get("error") if isinstance(body, Mapping) else None
    return error.strip() if isinstance(error, str) else ""


@dataclass
class _Token:
    value: str
    expires_at: float


class OAuth2TokenAuth(httpx.Auth):
    """Bearer-token auth that fetches a token, caches it until shortly before expiry, and refreshes it on a 401.

    `token_request()` builds the grant request (password grant, client credentials, …) with an absolute URL.
    Every token obtained is added to the Redactor. A rejected grant raises ConnectorAuthError with the vendor's
    message (e.g. 'Bad credentials').
    """

    requires_response_body = True

    def __init__(
        self,
        token_request: Callable[[], httpx.Request],
        redactor: Redactor,
        *,
        vendor: str = "The RMM",
        default_lifetime: float = 3600.0,
        leeway: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        scope: str = "",
    ) -> None:
        self.token_request = token_request
        #: The scope a rejected `invalid_scope` grant names ("the API client lacks the scope 'management'").
        self.scope = scope
        self.redactor = redactor
        self.vendor = vendor
        self.default_lifetime = default_lifetime
        self.leeway = leeway
        self.clock = clock
        self._token: _Token | None = None
        self._lock = threading.Lock()
        self.tokens_fetched = 0

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _valid_token(self) -> str | None:
        with self._lock:
            if self._token is not None and self.clock() < self._token.expires_at - self.leeway:
                return self._token.value
            return None

    def _store(self, response: httpx.Response) -> str:
        if response.status_code == 400 and self.scope and _oauth_error(response) == "invalid_scope":
            raise ConnectorForbiddenError(
                f"{self.vendor} refused the token: the API client lacks the scope '{self.scope}'. Allow that scope "
                f"for the API client in {self.vendor} (the credentials themselves are fine), or switch off the "
                "feature that needs it.",
                status=403,
            )
        if response.status_code in (400, 401, 403):
            detail = error_message_from(response)
            raise ConnectorAuthError(
                f"{self.vendor} rejected the API credentials"
                + (f" ({detail})" if detail else "")
                + ". Check the key and secret (and that API access is enabled), then save them again.",
                status=401 if response.status_code == 400 else response.status_code,
            )
        raise_for_status(response, vendor=self.vendor)
        body = decode_json(response, vendor=self.vendor)
        token = body.get("access_token") if isinstance(body, Mapping) else None
        if not isinstance(token, str) or not token:
            raise ConnectorFatalError(f"{self.vendor} answered the token request without an access_token.")
        refresh = body.get("refresh_token")
        self.redactor.add(token, refresh if isinstance(refresh, str) else None)
        lifetime = body.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) else self.default_lifetime
        with self._lock:
            self._token = _Token(token, self.clock() + seconds)
            self.tokens_fetched += 1
        return token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._valid_token()
        fresh = False
        if token is None:
            token = self._store((yield self.token_request()))
            fresh = True
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and not fresh:
            self.invalidate()
            token = self._store((yield self.token_request()))
            request.headers["Authorization"] = f"Bearer {token}"
            yield request
