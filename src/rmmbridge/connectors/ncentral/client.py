"""N-central HTTP client on the shared layer: User-API JWT → access/refresh token auth flow and page-number paging."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import ValidationError

from rmmbridge.connectors.errors import ConnectorAuthError, ConnectorFatalError
from rmmbridge.connectors.http import Redactor, decode_json, error_message_from, raise_for_status, request_json
from rmmbridge.connectors.ncentral.const import (
    ACCESS_TOKEN_LIFETIME_S,
    AUTHENTICATE_PATH,
    FIRST_PAGE,
    MAX_PAGE_SIZE,
    NAME,
    REFRESH_PATH,
    REFRESH_TOKEN_LIFETIME_S,
    TOKEN_EXPIRY_MARGIN_S,
)
from rmmbridge.connectors.ncentral.schemas import AuthResponse, Page
from rmmbridge.connectors.paging import items_digest

logger = logging.getLogger("rmmbridge.connectors.ncentral")

DEFAULT_MAX_PAGES = 100_000


@dataclass
class _Held:
    value: str
    expires_at: float


class NcentralAuth(httpx.Auth):
    """N-central's two-step token auth as an httpx.Auth flow.

    1. `POST /api/auth/authenticate` with `Authorization: Bearer <User-API JWT>` → access token (default 1 h) and
       refresh token (default 25 h), each with `expirySeconds`.
    2. API calls carry `Authorization: Bearer <access token>`.
    3. Shortly before the access token expires, or when a call answers 401, `POST /api/auth/refresh` with the
       refresh token as a text/plain body; if the refresh token is rejected or expired, authenticate again.

    Every token obtained is added to the connection's Redactor. A rejected JWT raises ConnectorAuthError.
    """

    requires_response_body = True

    def __init__(
        self,
        base_url: str,
        api_token: str,
        redactor: Redactor,
        *,
        leeway: float = TOKEN_EXPIRY_MARGIN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_token = api_token
        self.redactor = redactor
        self.leeway = leeway
        self.clock = clock
        self._access: _Held | None = None
        self._refresh: _Held | None = None
        self._lock = threading.Lock()
        self.authentications = 0
        self.refreshes = 0

    # -- token state ---------------------------------------------------------------------------------------------
    def _valid(self, held: _Held | None) -> str | None:
        if held is not None and self.clock() < held.expires_at - self.leeway:
            return held.value
        return None

    def access_token(self) -> str | None:
        with self._lock:
            return self._valid(self._access)

    def invalidate(self, *, refresh_too: bool = False) -> None:
        with self._lock:
            self._access = None
            if refresh_too:
                self._refresh = None

    # -- requests ------------------------------------------------------------------------------------------------
    def authenticate_request(self) -> httpx.Request:
        return httpx.Request(
            "POST",
            self.base_url + AUTHENTICATE_PATH,
            headers={"Authorization": f"Bearer {self.api_token}", "Accept": "application/json"},
        )

    def refresh_request(self, refresh_token: str) -> httpx.Request:
        return httpx.Request(
            "POST",
            self.base_url + REFRESH_PATH,
            content=refresh_token.encode("utf-8"),
            headers={"Content-Type": "text/plain", "Accept": "application/json"},
        )

    def _store(self, response: httpx.Response, *, refreshing: bool) -> str | None:
        """Keep the tokens of an authenticate/refresh answer; None when a refresh was refused."""
        status = response.status_code
        if status in (400, 401, 403):
            if refreshing:
                logger.info("N-central refused the refresh token (HTTP %s); authenticating again.", status)
                return None
            detail = error_message_from(response)
            raise ConnectorAuthError(
                f"{NAME} rejected the User-API token"
                + (f" ({detail})" if detail else "")
                + ". Generate a new JSON Web Token for the API-only user (Administration → User Management → "
                "Users → API Access), paste it, and save again.",
                status=401,
            )
        raise_for_status(response, vendor=NAME)
        body = decode_json(response, vendor=NAME)
        try:
            parsed = AuthResponse.model_validate(body)
        except ValidationError:
            raise ConnectorFatalError(
                f"{NAME} answered {response.request.url.path} without tokens.access.token; "
                "is this an N-central 2023.9 or later server?"
            ) from None
        access, refresh = parsed.tokens.access, parsed.tokens.refresh
        self.redactor.add(access.token, refresh.token if refresh else None)
        now = self.clock()
        with self._lock:
            self._access = _Held(access.token, now + float(access.expirySeconds or ACCESS_TOKEN_LIFETIME_S))
            if refresh is not None:
                self._refresh = _Held(refresh.token, now + float(refresh.expirySeconds or REFRESH_TOKEN_LIFETIME_S))
            if refreshing:
                self.refreshes += 1
            else:
                self.authentications += 1
        return access.token

    def _obtain(self) -> Generator[httpx.Request, httpx.Response, str]:
        """A fresh access token: by refresh token while it is valid, else by authenticating with the JWT."""
        with self._lock:
            refresh = self._valid(self._refresh)
        if refresh is not None:
            token = self._store((yield self.refresh_request(refresh)), refreshing=True)
            if token is not None:
                return token
            with self._lock:
                self._refresh = None
        token = self._store((yield self.authenticate_request()), refreshing=False)
        if token is None:  # only a refresh can be refused without raising
            raise ConnectorAuthError(f"{NAME} did not issue an access token.")
        return token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.access_token()
        fresh = False
        if token is None:
            token = yield from self._obtain()
            fresh = True
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and not fresh:
            with self._lock:
                if self._access is not None and self._access.value == token:
                    self._access = None
            token = yield from self._obtain()
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


class NcentralClient:
    """Authenticated access to one N-central server through the shared retry/log/redaction stack."""

    def __init__(
        self,
        http: httpx.Client,
        api_token: str,
        redactor: Redactor,
        *,
        page_size: int = MAX_PAGE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        self.auth = NcentralAuth(str(http.base_url), api_token, redactor, clock=clock)
        http.auth = self.auth

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return request_json(self.http, "GET", path, params=params, vendor=NAME)

    def get_page(self, path: str, params: Mapping[str, Any]) -> Page:
        """One page of a list; an empty 2xx body or `data: null` (no items) is an empty page."""
        body = self.get(path, params)
        if body is None:
            return Page(data=[], totalPages=0)
        if isinstance(body, Mapping) and "data" in body and body["data"] is None:  # no items: `data: null`
            body = {**body, "data": []}
        try:
            return Page.model_validate(body)
        except ValidationError:
            kind = type(body).__name__
            raise ConnectorFatalError(
                f"{NAME} answered {path} with {kind} instead of a page ({{data: [...], totalPages, ...}})."
            ) from None

    def iter_pages(
        self, path: str, params: Mapping[str, Any] | None = None, *, max_pages: int = DEFAULT_MAX_PAGES
    ) -> Iterator[list[Any]]:
        """`pageNumber` from 1 with `pageSize` (≤1000) until `totalPages` (or a short/empty page without it).

        A page the server says is another page number than asked for, or whose items equal an earlier page's,
        means the server ignored `pageNumber`: ConnectorFatalError instead of an endless loop.
        """
        seen: set[str] = set()
        for number in range(FIRST_PAGE, FIRST_PAGE + max_pages):
            page = self.get_page(path, {**(params or {}), "pageNumber": number, "pageSize": self.page_size})
            items = page.data
            repeated = page.pageNumber is not None and page.pageNumber != number and number > FIRST_PAGE
            if items:
                digest = items_digest(items)
                repeated = repeated or digest in seen
                seen.add(digest)
            if repeated:
                raise ConnectorFatalError(
                    f"{NAME} returned the same page twice ({path}, pageNumber={number} answered as page "
                    f"{page.pageNumber}); stopped to avoid an endless loop. Try again later or report it to N-able."
                )
            if items:
                yield items
            if page.totalPages is not None:
                if number >= page.totalPages:
                    return
            elif not items or len(items) < (page.pageSize or self.page_size):
                return
        raise ConnectorFatalError(f"More than {max_pages} pages of {path}; stopped.")
