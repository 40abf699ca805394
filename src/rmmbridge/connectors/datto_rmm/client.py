"""Datto RMM HTTP client: password-grant token (Basic public-client:public), bearer calls, nextPageUrl paging."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from rmmbridge.connectors.datto_rmm import const
from rmmbridge.connectors.datto_rmm.credentials import DattoRmmCredentials
from rmmbridge.connectors.errors import ConnectorFatalError
from rmmbridge.connectors.http import OAuth2TokenAuth, Redactor, iter_next_url_pages, request_json
from rmmbridge.connectors.paging import Params


class DattoRmmClient:
    """Thin typed access to the Datto RMM v2 API over the shared HTTP stack."""

    def __init__(self, http: httpx.Client, credentials: DattoRmmCredentials, redactor: Redactor) -> None:
        self.http = http
        self.credentials = credentials
        self.auth = OAuth2TokenAuth(
            self._token_request, redactor, vendor=const.NAME, default_lifetime=const.TOKEN_LIFETIME_SECONDS
        )
        http.auth = self.auth

    def _token_request(self) -> httpx.Request:
        """POST /auth/oauth/token, grant_type=password with the API key and secret as username and password."""
        basic = httpx.BasicAuth(const.OAUTH_CLIENT_ID, const.OAUTH_CLIENT_SECRET)
        request = httpx.Request(
            "POST",
            self.http.base_url.join(const.TOKEN_PATH),
            data={
                "grant_type": "password",
                "username": self.credentials.api_key.get_secret_value(),
                "password": self.credentials.api_secret.get_secret_value(),
            },
            headers={"Accept": "application/json"},
        )
        return next(basic.auth_flow(request))

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return request_json(self.http, "GET", path, params=params, vendor=const.NAME)

    def post(self, path: str) -> Any:
        return request_json(self.http, "POST", path, vendor=const.NAME)

    def _fetch(self, url: str, params: Params | None) -> Any:
        page = self.get(url, params)
        if not isinstance(page, Mapping):
            raise ConnectorFatalError(f"Datto RMM answered {url} with {type(page).__name__}, not a page object.")
        return page

    def iter_pages(self, path: str, items_key: str, *, page_size: int = const.MAX_PAGE_SIZE) -> Iterator[list[Any]]:
        """Each page's items, following pageDetails.nextPageUrl (null or empty at the end)."""
        params: dict[str, str | int] = {"max": min(page_size, const.MAX_PAGE_SIZE), "page": 0}
        for page in iter_next_url_pages(self._fetch, path, params, _next_page_url):
            items = page.get(items_key)
            if items is None:
                items = []
            if not isinstance(items, list):
                raise ConnectorFatalError(f"Datto RMM page of {path} has no '{items_key}' list.")
            yield items


def _next_page_url(page: Any) -> str | None:
    """pageDetails.nextPageUrl as a path + query on our own base URL (the bearer token never goes elsewhere)."""
    details = page.get("pageDetails") if isinstance(page, Mapping) else None
    if not isinstance(details, Mapping):
        return None
    value = details.get("nextPageUrl")
    if not isinstance(value, str) or not value:
        return None
    parts = urlsplit(value)
    return parts.path + (f"?{parts.query}" if parts.query else "")
