"""NinjaOne HTTP client on the shared layer: client-credentials token auth and keyset (`after`) paging."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx

from rmmbridge.connectors.errors import ConnectorFatalError
from rmmbridge.connectors.http import OAuth2TokenAuth, Redactor, iter_cursor_pages, request_json
from rmmbridge.connectors.ninjaone.const import (
    ACTIVITIES_PAGE_SIZE,
    ACTIVITIES_PATH,
    DEFAULT_PAGE_SIZE,
    DEFAULT_TOKEN_LIFETIME_S,
    NAME,
    SCOPE_MANAGEMENT,
    SCOPE_MONITORING,
    TOKEN_EXPIRY_MARGIN_S,
    TOKEN_PATH,
)
from rmmbridge.connectors.ninjaone.credentials import NinjaOneCredentials

logger = logging.getLogger("rmmbridge.connectors.ninjaone")


def last_id(page: list[Any], path: str) -> int:
    """The `after` cursor for the next page: the highest integer `id` on this page (malformed items ignored)."""
    ids: list[int] = [item["id"] for item in page if isinstance(item, Mapping) and type(item.get("id")) is int]
    if not ids:
        raise ConnectorFatalError(
            f"{NAME} returned a page of {path} without any item id; cannot request the next page."
        )
    return max(ids)


class NinjaOneClient:
    """Authenticated access to one NinjaOne instance through the shared retry/log/redaction stack."""

    def __init__(
        self,
        http: httpx.Client,
        credentials: NinjaOneCredentials,
        redactor: Redactor,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.credentials = credentials
        self.page_size = page_size
        self.token_url = str(http.base_url.join(TOKEN_PATH))
        self.clock = clock
        self.redactor = redactor
        #: Reads need only `monitoring`; the `management` token is asked for when a write first needs it.
        self.auth = self._auth_for((SCOPE_MONITORING,), SCOPE_MONITORING)
        self._manage_auth: OAuth2TokenAuth | None = None
        http.auth = self.auth

    def _auth_for(self, scopes: tuple[str, ...], named: str) -> OAuth2TokenAuth:
        return OAuth2TokenAuth(
            lambda: self._token_request(" ".join(scopes)),
            self.redactor,
            vendor=NAME,
            default_lifetime=DEFAULT_TOKEN_LIFETIME_S,
            leeway=TOKEN_EXPIRY_MARGIN_S,
            clock=self.clock,
            scope=named,
        )

    @property
    def manage_auth(self) -> OAuth2TokenAuth:
        """The token for writes (alert reset, webhook set-up): scopes `monitoring management`."""
        if self._manage_auth is None:
            self._manage_auth = self._auth_for((SCOPE_MONITORING, SCOPE_MANAGEMENT), SCOPE_MANAGEMENT)
        return self._manage_auth

    def _token_request(self, scope: str) -> httpx.Request:
        """`POST /ws/oauth/token` with a form body (client_credentials grant) asking for `scope`."""
        return httpx.Request(
            "POST",
            self.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self.credentials.client_id,
                "client_secret": self.credentials.client_secret.get_secret_value(),
                "scope": scope,
            },
            headers={"Accept": "application/json"},
        )

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return request_json(self.http, "GET", path, params=params, vendor=NAME)

    def request(self, method: str, path: str, body: Any = None, *, manage: bool = False) -> Any:
        """One request; ``manage`` sends it with the `management`-scoped token (writes)."""
        return request_json(self.http, method, path, json_body=body, vendor=NAME,
                            auth=self.manage_auth if manage else None)

    def post(self, path: str, body: Any = None, *, manage: bool = False) -> Any:
        return self.request("POST", path, body, manage=manage)

    def get_list(self, path: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        """A list endpoint without paging (users, alerts); anything but a JSON array is an error."""
        body = self.get(path, params)
        if not isinstance(body, list):
            raise ConnectorFatalError(f"{NAME} answered {path} with {type(body).__name__}, expected a JSON array.")
        return body

    def iter_pages(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[list[Any]]:
        """Keyset paging: `pageSize` + `after` = last id of the previous page, until an empty page.

        NinjaOne may return fewer items than `pageSize` (it caps the page size), so only an empty page ends the
        list. A cursor seen twice raises ConnectorFatalError (the shared paginator's loop detection).
        """
        query: dict[str, str | int] = {"pageSize": self.page_size, **(params or {})}

        def fetch(url: str, params: Mapping[str, str | int] | None) -> Any:
            return self.get_list(url, params)

        def cursor_of(page: Any) -> str | None:
            return str(last_id(page, path)) if page else None

        for page in iter_cursor_pages(fetch, path, query, cursor_of, cursor_param="after"):
            if page:
                yield page

    def iter_activity_pages(self, params: Mapping[str, Any]) -> Iterator[list[Any]]:
        """`GET /v2/activities` (newest first) paged with `olderThan` = the oldest activity id of the last page."""
        query: dict[str, str | int] = {"pageSize": ACTIVITIES_PAGE_SIZE, **params}

        def fetch(url: str, params: Mapping[str, str | int] | None) -> Any:
            body = self.get(url, params)
            if not isinstance(body, Mapping) or not isinstance(body.get("activities"), list):
                raise ConnectorFatalError(f"{NAME} answered {url} without an 'activities' list.")
            return body["activities"]

        def cursor_of(page: Any) -> str | None:
            ids = [a["id"] for a in page if isinstance(a, Mapping) and type(a.get("id")) is int]
            return str(min(ids)) if ids else None

        for page in iter_cursor_pages(fetch, ACTIVITIES_PATH, query, cursor_of, cursor_param="olderThan"):
            if page:
                yield page
