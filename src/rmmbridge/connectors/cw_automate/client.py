"""Automate HTTP client on the shared layer: apitoken login with the ClientId header, refresh, page/pageSize lists."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from rmmbridge.connectors.cw_automate.const import (
    CLIENT_ID_HEADER,
    DEFAULT_PAGE_SIZE,
    DEFAULT_TOKEN_LIFETIME_S,
    NAME,
    TOKEN_PATH,
    TOKEN_REFRESH_MARGIN_S,
    TOKEN_REFRESH_PATH,
)
from rmmbridge.connectors.cw_automate.credentials import CwAutomateCredentials
from rmmbridge.connectors.cw_automate.normalize import parse_time
from rmmbridge.connectors.errors import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    ConnectorFatalError,
)
from rmmbridge.connectors.http import Redactor, decode_json, raise_for_status, request_json
from rmmbridge.connectors.paging import iter_offset_pages

logger = logging.getLogger("rmmbridge.connectors.cw_automate")

def automate_message(response: httpx.Response) -> str:
    """The error text of an Automate (ASP.NET Web API) error body: `Message`, `MessageDetail`, `ExceptionMessage`."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        text = response.text.strip()
        return text[:200] if text and not text.startswith("<") else ""
    if isinstance(body, str):
        return body[:200]
    if not isinstance(body, Mapping):
        return ""
    parts = [
        str(body[k])
        for k in ("Message", "message", "MessageDetail", "ExceptionMessage", "error_description")
        if isinstance(body.get(k), str) and body[k]
    ]
    return "; ".join(dict.fromkeys(parts))[:300]


#: What to fix when Automate answers 401 or 403, in place of the core's generic advice.
AUTOMATE_HINTS = {
    401: "Check the username, password and Client ID, and that the user is an Integrator user.",
    403: "Give the Integrator user's class this permission "
    "(Clients/Contacts Read, Locations Show All, Computers and Network Devices read).",
}


def raise_for_automate(response: httpx.Response) -> None:
    """Raise the errors.py class for a non-2xx answer, with Automate's own message and what to fix."""
    raise_for_status(response, vendor=NAME, detail_of=automate_message, hints=AUTOMATE_HINTS)


class AutomateTokenAuth(httpx.Auth):
    """`POST /cwa/api/v1/apitoken` {UserName, Password} with the ClientId header → bearer token until ExpirationDate.

    The token is refreshed with `POST apitoken/refresh` shortly before it expires, and fetched anew after a 401.
    Every request carries the ClientId header. A user that needs 2FA gets a clear error (use an Integrator user).
    """

    requires_response_body = True

    def __init__(
        self,
        credentials: CwAutomateCredentials,
        token_url: str,
        refresh_url: str,
        redactor: Redactor,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.credentials = credentials
        self.token_url = token_url
        self.refresh_url = refresh_url
        self.redactor = redactor
        self.clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.tokens_fetched = 0
        self.refreshes = 0
        self.user: dict[str, str] = {}

    def _headers(self) -> dict[str, str]:
        return {CLIENT_ID_HEADER: self.credentials.client_id, "Accept": "application/json"}

    def login_request(self) -> httpx.Request:
        body = {"UserName": self.credentials.username, "Password": self.credentials.password.get_secret_value()}
        return httpx.Request("POST", self.token_url, json=body, headers=self._headers())

    def refresh_request(self, token: str) -> httpx.Request:
        return httpx.Request(
            "POST",
            self.refresh_url,
            content=json.dumps(token).encode(),
            headers={**self._headers(), "Content-Type": "application/json"},
        )

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _current(self) -> tuple[str | None, bool]:
        """(token, needs refresh): None when there is no usable token."""
        with self._lock:
            now = self.clock()
            if self._token is None or now >= self._expires_at:
                return None, False
            return self._token, now >= self._expires_at - TOKEN_REFRESH_MARGIN_S

    def _store(self, response: httpx.Response, *, refreshing: bool = False) -> str:
        if response.status_code in (404, 405) and not refreshing:
            raise ConnectorConfigError(
                f"There is no Automate API at {response.request.url} (HTTP {response.status_code}). Check the "
                "Server URL: it is the Automate server's root, e.g. https://yourname.hostedrmm.com.",
                status=response.status_code,
            )
        if response.status_code in (400, 401, 403) and not refreshing:
            detail = automate_message(response)
            raise ConnectorAuthError(
                f"{NAME} rejected the login"
                + (f" ({detail})" if detail else "")
                + ". Check the username, password and Client ID (the user must be an Integrator user), "
                "then save them again.",
                status=401,
            )
        raise_for_automate(response)
        body = decode_json(response, vendor=NAME)
        if not isinstance(body, Mapping):
            raise ConnectorFatalError(f"{NAME} answered the token request with {type(body).__name__}, not a token.")
        token = body.get("AccessToken")
        if not isinstance(token, str) or not token:
            if body.get("IsTwoFactorRequired") or body.get("IsInternalTwoFactorRequired"):
                raise ConnectorAuthError(
                    f"{NAME} asks this user for a two-factor passcode, which an unattended integration cannot give. "
                    "Use an Integrator user (System > Users and Contacts > Users, 'Integrator' ticked), which "
                    "skips MFA.",
                    status=401,
                )
            raise ConnectorFatalError(f"{NAME} answered the token request without an AccessToken.")
        self.redactor.add(token, body.get("SSOAccessToken") if isinstance(body.get("SSOAccessToken"), str) else None)
        lifetime = DEFAULT_TOKEN_LIFETIME_S
        expires = parse_time(body.get("ExpirationDate"), self.credentials.time_zone())
        if expires is not None:
            seconds = (expires - datetime.now(UTC)).total_seconds()
            # ExpirationDate has no offset and may be server-local time: trust it only when it is plausible.
            if 60 <= seconds <= 24 * 3600:
                lifetime = seconds
        with self._lock:
            self._token = token
            self._expires_at = self.clock() + lifetime
            if refreshing:
                self.refreshes += 1
            else:
                self.tokens_fetched += 1
        for key in ("UserId", "InternalUserName"):
            if body.get(key) not in (None, ""):
                self.user[key] = str(body[key])
        return token

    def _login(self) -> Generator[httpx.Request, httpx.Response, str]:
        response = yield self.login_request()
        return self._store(response)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[CLIENT_ID_HEADER] = self.credentials.client_id
        token, stale = self._current()
        fresh = False
        if token is not None and stale:
            answer = yield self.refresh_request(token)
            if answer.status_code < 400:
                try:
                    token = self._store(answer, refreshing=True)
                    fresh = True
                except ConnectorError as exc:
                    logger.info("%s token refresh failed (%s); logging in again.", NAME, exc.message)
                    token = None
            else:
                token = None
        if token is None:
            token = yield from self._login()
            fresh = True
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and not fresh:
            self.invalidate()
            token = yield from self._login()
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


class AutomateClient:
    """Authenticated access to one Automate server through the shared retry/log/redaction stack."""

    def __init__(
        self,
        http: httpx.Client,
        credentials: CwAutomateCredentials,
        redactor: Redactor,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.page_size = page_size
        self.auth = AutomateTokenAuth(
            credentials,
            str(http.base_url.join(TOKEN_PATH)),
            str(http.base_url.join(TOKEN_REFRESH_PATH)),
            redactor,
            clock=clock,
        )
        http.auth = self.auth

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """One GET through auth, limiter, retries and log; the decoded JSON or the errors.py class."""
        return request_json(self.http, "GET", path, params=params, vendor=NAME, detail_of=automate_message,
                            hints=AUTOMATE_HINTS)

    def get_list(self, path: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        body = self.get(path, params)
        if body is None:
            return []
        if not isinstance(body, list):
            raise ConnectorFatalError(f"{NAME} answered {path} with {type(body).__name__}, expected a JSON array.")
        return body

    def iter_pages(
        self, path: str, params: Mapping[str, Any] | None = None, *, page_size: int | None = None
    ) -> Iterator[list[Any]]:
        """`page=1,2,…` with `pageSize` until an empty page (the server may cap pageSize, so a short page is not
        the end). A page identical to an earlier one (the server ignored `page`) stops with ConnectorFatalError."""
        return iter_offset_pages(lambda url, query: self.get_list(url, query), path, params, lambda page: page,
                                 page_size=page_size or self.page_size, size_param="pageSize", first=1,
                                 stop_on_short_page=False)
