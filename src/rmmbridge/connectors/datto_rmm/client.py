"""Datto RMM HTTP client: password-grant token (shared per account), bearer calls, paging, 403 that is a block."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from rmmbridge.connectors.datto_rmm import const
from rmmbridge.connectors.datto_rmm.credentials import DattoRmmCredentials
from rmmbridge.connectors.errors import ConnectorFatalError, ConnectorForbiddenError, ConnectorRateLimitedError
from rmmbridge.connectors.http import OAuth2TokenAuth, Redactor, iter_next_url_pages, parse_retry_after, request_json
from rmmbridge.connectors.paging import Params

#: Tokens per account (base URL + digest of the key pair), shared by every client of this process: a token lives
#: 100 hours, so the outbox's resolves and the sync's calls of one run (and the next runs) fetch it once.
_TOKENS: dict[tuple[str, str], Any] = {}
_TOKENS_LOCK = threading.Lock()
#: Calls whose 403 means the credentials themselves are refused (the integration needs re-authentication).
AUTH_ENDPOINTS = frozenset({const.TOKEN_PATH, const.ACCOUNT})
_ID_SEGMENT = re.compile(r"\d")


def endpoint_key(path: str) -> str:
    """The endpoint of a request path, ids replaced: `/api/v2/audit/device/{id}` for every device's audit."""
    parts = urlsplit(path).path.rstrip("/").split("/")
    return "/".join("{id}" if _ID_SEGMENT.search(p) and p != "v2" else p for p in parts)


def account_key(base_url: str, credentials: DattoRmmCredentials) -> tuple[str, str]:
    secrets = sorted([credentials.api_key.get_secret_value(), credentials.api_secret.get_secret_value()])
    return base_url.rstrip("/"), hashlib.sha256("\0".join(secrets).encode()).hexdigest()[:16]


def forget_tokens() -> None:
    """Drop every shared token (tests; a changed key pair is keyed apart anyway)."""
    with _TOKENS_LOCK:
        _TOKENS.clear()


class DattoRmmClient:
    """Thin typed access to the Datto RMM v2 API over the shared HTTP stack."""

    #: A 403 that is a temporary block (Retry-After, or an endpoint that worked with this token) is retried this
    #: often, waiting Retry-After (at most `max_block_wait` seconds) or `block_backoff` doubling; then it becomes
    #: ConnectorRateLimitedError (retry later), never "wrong credentials".
    block_retries = 3
    max_block_wait = 60.0
    block_backoff = 5.0
    #: Assumed length of Datto's IP block when a 403 names none (Datto documents "at least five minutes").
    block_seconds = 300.0

    def __init__(self, http: httpx.Client, credentials: DattoRmmCredentials, redactor: Redactor) -> None:
        self.http = http
        self.credentials = credentials
        self.redactor = redactor
        self.auth = OAuth2TokenAuth(
            self._token_request, redactor, vendor=const.NAME, default_lifetime=const.TOKEN_LIFETIME_SECONDS
        )
        http.auth = self.auth
        self.sleep: Callable[[float], None] = time.sleep
        #: pageDetails.totalCount of the last page read (None when the page did not say).
        self.last_total_count: int | None = None
        #: Endpoints (ids replaced) that answered 2xx with the current token.
        self.worked: set[str] = set()
        self._refused: dict[str, float | None] = {}
        self._lock = threading.Lock()
        self._account = account_key(str(http.base_url), credentials)
        with _TOKENS_LOCK:
            shared = _TOKENS.get(self._account)
        if shared is not None:
            # Reuse the account's token (OAuth2TokenAuth keeps it in _token; it is refreshed on a 401 as usual).
            self.auth._token = shared
            redactor.add(shared.value)
        http.event_hooks["response"] = [*http.event_hooks.get("response", []), self._note]

    def _note(self, response: httpx.Response) -> None:
        """Response hook: remember what worked, the Retry-After of a 403, and share a newly fetched token."""
        path = response.request.url.path
        with self._lock:
            if response.status_code == 403:
                self._refused[path] = parse_retry_after(response.headers.get("Retry-After"))
            elif response.status_code < 400 and path != const.TOKEN_PATH:
                self.worked.add(endpoint_key(path))
        token = self.auth._token
        if token is not None:
            with _TOKENS_LOCK:
                if _TOKENS.get(self._account) is not token:
                    _TOKENS[self._account] = token

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
        return self._call("GET", path, params)

    def post(self, path: str) -> Any:
        return self._call("POST", path, None)

    def _call(self, method: str, path: str, params: Mapping[str, Any] | None) -> Any:
        """One request; a 403 that is a temporary block backs off and retries (see `block_retries`)."""
        attempt = 0
        while True:
            try:
                return request_json(self.http, method, path, params=params, vendor=const.NAME)
            except ConnectorForbiddenError as exc:
                plain = urlsplit(path).path
                key = endpoint_key(plain)
                with self._lock:
                    retry_after = self._refused.pop(plain, None)
                    worked = key in self.worked
                if plain in AUTH_ENDPOINTS or (retry_after is None and not worked):
                    raise  # the account or a never-working endpoint: a real permission/credential problem
                wait = retry_after if retry_after is not None else self.block_backoff * 2**attempt
                if attempt >= self.block_retries or wait > self.max_block_wait:
                    seconds = retry_after if retry_after is not None else self.block_seconds
                    raise ConnectorRateLimitedError(
                        f"Datto RMM answered 403 on {plain} although the same token worked there: a temporary "
                        f"block after too many requests, not wrong credentials. Retry in {seconds:.0f} s.",
                        status=403, retry_after=seconds,
                    ) from exc
                self.sleep(wait)
                attempt += 1

    def _fetch(self, url: str, params: Params | None) -> Any:
        page = self.get(url, params)
        if not isinstance(page, Mapping):
            raise ConnectorFatalError(f"Datto RMM answered {url} with {type(page).__name__}, not a page object.")
        return page

    def iter_pages(
        self, path: str, items_key: str, *, page_size: int = const.MAX_PAGE_SIZE, ahead: int = 1
    ) -> Iterator[list[Any]]:
        """Each page's items, following pageDetails.nextPageUrl (null or empty at the end).

        `ahead` > 1: that many pages on the wire at once, the ones after the next predicted as `page` + 1 while
        pageDetails.totalCount says there are more (see `predict_next_page`; never beyond the last page).
        """
        params: dict[str, str | int] = {"max": min(page_size, const.MAX_PAGE_SIZE), "page": 0}
        predict = predict_next_page if ahead > 1 else None
        for page in iter_next_url_pages(self._fetch, path, params, _next_page_url, predict=predict, ahead=ahead):
            details = page.get("pageDetails")
            total = details.get("totalCount") if isinstance(details, Mapping) else None
            self.last_total_count = total if isinstance(total, int) and not isinstance(total, bool) else None
            items = page.get(items_key)
            if items is None:
                items = []
            if not isinstance(items, list):
                raise ConnectorFatalError(f"Datto RMM page of {path} has no '{items_key}' list.")
            yield items


def predict_next_page(page: Any, url: str) -> str | None:
    """The page after `url` (`page=N` -> `page=N+1`, `max` kept) while `page`'s totalCount says it exists.

    Datto's nextPageUrl is `…?max=250&page=1` (a live answer); a page without totalCount predicts nothing.
    """
    details = page.get("pageDetails") if isinstance(page, Mapping) else None
    total = details.get("totalCount") if isinstance(details, Mapping) else None
    if not isinstance(total, int) or isinstance(total, bool):
        return None
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    values = dict(query)
    try:
        number, size = int(values["page"]), int(values["max"])
    except (KeyError, ValueError):
        return None
    if size < 1 or (number + 1) * size >= total:
        return None
    query = [(k, str(number + 1) if k == "page" else v) for k, v in query]
    return urlunsplit(("", "", parts.path, urlencode(query), ""))


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
