"""Atera HTTP client on the shared layer: API-key header auth (JWT tokens as bearer) and `page`/`nextLink` paging."""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from rmmbridge.connectors.atera.const import API_KEY_HEADER, JWT_MIN_LENGTH, MAX_ITEMS_IN_PAGE, NAME
from rmmbridge.connectors.atera.credentials import AteraCredentials
from rmmbridge.connectors.errors import ConnectorFatalError
from rmmbridge.connectors.http import iter_next_url_pages, request_json

logger = logging.getLogger("rmmbridge.connectors.atera")


class AteraKeyAuth(httpx.Auth):
    """Sends the API key on every request: `X-API-KEY: <key>`, or `Authorization: Bearer <token>` for JWT tokens.

    Atera's legacy keys are short; its newer JWT tokens are longer than 100 characters (the rule PSAtera 1.8 uses).
    There is no token endpoint and nothing to refresh: a rejected key is a 401 the caller must fix.
    """

    def __init__(self, key: str) -> None:
        self._key = key

    @property
    def uses_bearer(self) -> bool:
        return len(self._key) > JWT_MIN_LENGTH

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.uses_bearer:
            request.headers["Authorization"] = f"Bearer {self._key}"
        else:
            request.headers[API_KEY_HEADER] = self._key
        yield request


def relative_link(link: str) -> str:
    """Path and query of a `nextLink`, so the next page is always asked of the configured host (never another)."""
    parts = urlsplit(link)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class AteraClient:
    """Authenticated access to the Atera API v3 through the shared retry/log/redaction stack."""

    def __init__(self, http: httpx.Client, credentials: AteraCredentials, *,
                 items_in_page: int = MAX_ITEMS_IN_PAGE) -> None:
        self.http = http
        self.items_in_page = max(1, min(items_in_page, MAX_ITEMS_IN_PAGE))
        self.auth = AteraKeyAuth(credentials.api_key.get_secret_value())
        http.auth = self.auth

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return request_json(self.http, "GET", path, params=params, vendor=NAME)

    def put(self, path: str, body: Any = None) -> Any:
        return request_json(self.http, "PUT", path, json_body=body, vendor=NAME)

    def get_page(self, path: str, number: int, params: Mapping[str, Any] | None = None) -> tuple[list[Any], int]:
        """One page by number: its `items` and `totalPages` (1 when the answer does not say)."""
        body = self.get(path, {**(params or {}), "page": number, "itemsInPage": self.items_in_page})
        if not isinstance(body, Mapping) or not isinstance(body.get("items", []), list | None):
            raise ConnectorFatalError(f"{NAME} answered {path} with {type(body).__name__}, expected a paged result.")
        total = body.get("totalPages")
        return list(body.get("items") or []), total if isinstance(total, int) and total > 0 else 1

    def iter_pages(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[list[Any]]:
        """Every page's `items`: `page=1&itemsInPage=50`, then the `nextLink` each page carries until it is empty.

        When a page has no `nextLink` but `page < totalPages`, the next page number is asked for. A link served
        twice stops with ConnectorFatalError (the shared paginator's loop detection).
        """
        query: dict[str, str | int] = {**(params or {}), "page": 1, "itemsInPage": self.items_in_page}

        def fetch(url: str, page_params: Mapping[str, str | int] | None) -> Any:
            body = self.get(url, page_params)
            if not isinstance(body, Mapping) or not isinstance(body.get("items", []), list | None):
                raise ConnectorFatalError(
                    f"{NAME} answered {path} with {type(body).__name__}, expected a paged result with 'items'."
                )
            return body

        def next_url_of(page: Any) -> str | None:
            link = page.get("nextLink")
            if isinstance(link, str) and link.strip():
                return relative_link(link.strip())
            number, total = page.get("page"), page.get("totalPages")
            if isinstance(number, int) and isinstance(total, int) and number < total and page.get("items"):
                rest = {k: v for k, v in query.items() if k != "page"}
                return f"{path}?{urlencode({**rest, 'page': number + 1})}"
            return None

        for page in iter_next_url_pages(fetch, path, query, next_url_of):
            items = page.get("items") or []
            if items:
                yield items
