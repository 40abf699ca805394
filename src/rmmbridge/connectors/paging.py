"""Paginators for the three page schemes RMM APIs use, each stopping with an error on a repeated page."""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from rmmbridge.connectors.errors import ConnectorFatalError

Params = Mapping[str, str | int]
#: Fetches one page: (url, query params) -> decoded JSON.
FetchPage = Callable[[str, Params | None], Any]
#: Predicts a page's URL: (the latest page read, the URL before it) -> the URL after it, or None.
PredictPage = Callable[[Any, str], str | None]

DEFAULT_MAX_PAGES = 100_000


def items_digest(items: list[Any]) -> str:
    """A page's items as a digest, to tell a page the server repeated (it ignored the page parameter)."""
    return hashlib.sha256(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()


def _repeated(what: str, value: str, page: int) -> ConnectorFatalError:
    return ConnectorFatalError(
        f"The API returned the same {what} twice ({value!r}, page {page}); stopped to avoid an endless loop. "
        "This is a fault in the RMM's paging; try again later or report it to the vendor."
    )


def _normalise_url(url: str) -> str:
    """Same URL whatever the order of its query parameters."""
    parts = urlsplit(url)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def iter_next_url_pages(
    fetch: FetchPage,
    first_url: str,
    params: Params | None,
    next_url_of: Callable[[Any], str | None],
    *,
    max_pages: int = DEFAULT_MAX_PAGES,
    predict: PredictPage | None = None,
    ahead: int = 1,
) -> Iterator[Any]:
    """Follow the next-page URL each page carries (Datto RMM `pageDetails.nextPageUrl`) until it is empty.

    A next URL seen before raises ConnectorFatalError. Relative next URLs resolve against the previous URL.
    With `predict(page, url)` (the URL of the page after `url` as `page` suggests it, or None when unknown or
    past the end), up to `ahead` pages are on the wire, each in a thread of its own, while a page is read: the
    one the page named and those predicted after it. A prediction is used only when the page before it names
    that very URL; else it is dropped (its answer, or error, unread) and the named URL is fetched.
    """
    if predict is None or ahead < 1:
        yield from _next_url_pages(fetch, first_url, params, next_url_of, max_pages)
        return
    pool = ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="page-ahead")
    try:
        yield from _next_url_pages(fetch, first_url, params, next_url_of, max_pages, (predict, ahead, pool))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _next_url_pages(
    fetch: FetchPage,
    first_url: str,
    params: Params | None,
    next_url_of: Callable[[Any], str | None],
    max_pages: int,
    ahead: tuple[PredictPage, int, ThreadPoolExecutor] | None = None,
) -> Iterator[Any]:
    seen: set[str] = set()
    url = first_url
    page = fetch(first_url, params)
    page_no = 1
    queued: deque[tuple[str, str, Future[Any]]] = deque()  # (url, its normalised key, its answer to come)
    try:
        while True:
            next_url = next_url_of(page)
            repeated: ConnectorFatalError | None = None
            if next_url:
                next_url = urljoin(url, next_url)
                key = _normalise_url(next_url)
                if key in seen or (page_no == 1 and key == _normalise_url(_with_params(first_url, params))):
                    repeated = _repeated("next-page URL", next_url, page_no)  # raised once this page is read
                    _drop(queued)
                else:
                    seen.add(key)
                    if queued and queued[0][1] != key:
                        _drop(queued)  # the page named another URL than predicted
                    if ahead is not None:
                        _queue(queued, page, next_url, key, fetch, page_no, max_pages, seen, ahead)
            else:
                _drop(queued)
            yield page
            if repeated is not None:
                raise repeated
            if not next_url:
                return
            page_no += 1
            if page_no > max_pages:
                raise ConnectorFatalError(f"More than {max_pages} pages; stopped. Narrow the query or raise the limit.")
            url = next_url
            page = queued.popleft()[2].result() if queued else fetch(next_url, None)
    finally:
        _drop(queued)


def _queue(
    queued: deque[tuple[str, str, Future[Any]]],
    page: Any,
    next_url: str,
    key: str,
    fetch: FetchPage,
    page_no: int,
    max_pages: int,
    seen: set[str],
    ahead: tuple[PredictPage, int, ThreadPoolExecutor],
) -> None:
    """Put the named next page on the wire (unless it already is) and predicted ones after it, up to `ahead`."""
    predict, depth, pool = ahead
    if not queued:
        queued.append((next_url, key, pool.submit(fetch, next_url, None)))
    while len(queued) < depth and page_no + len(queued) < max_pages:
        last_url = queued[-1][0]
        guess = predict(page, last_url)
        if not guess:
            return
        guess = urljoin(last_url, guess)
        guess_key = _normalise_url(guess)
        if guess_key in seen or any(k == guess_key for _, k, _ in queued):
            return  # a prediction that goes back is no prediction
        queued.append((guess, guess_key, pool.submit(fetch, guess, None)))


def _drop(queued: deque[tuple[str, str, Future[Any]]]) -> None:
    """Forget the pages on the wire: not started ones are cancelled, answers of started ones are never read."""
    while queued:
        queued.pop()[2].cancel()


def _with_params(url: str, params: Params | None) -> str:
    if not params:
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, str(v)) for k, v in params.items()]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def iter_cursor_pages(
    fetch: FetchPage,
    url: str,
    params: Params | None,
    cursor_of: Callable[[Any], str | None],
    *,
    cursor_param: str = "after",
    max_pages: int = DEFAULT_MAX_PAGES,
) -> Iterator[Any]:
    """Pass the cursor each page yields (NinjaOne `after` = last id, or a `cursor` name) until there is none.

    `cursor_of(page)` returns the cursor for the next page or None/'' at the end. A cursor seen before raises
    ConnectorFatalError.
    """
    seen: set[str] = set()
    base = dict(params or {})
    cursor: str | None = None
    for page_no in range(1, max_pages + 1):
        query: dict[str, str | int] = dict(base)
        if cursor is not None:
            query[cursor_param] = cursor
        page = fetch(url, query)
        yield page
        next_cursor = cursor_of(page)
        if next_cursor is None or next_cursor == "":
            return
        next_cursor = str(next_cursor)
        if next_cursor in seen:
            raise _repeated("page cursor", next_cursor, page_no)
        seen.add(next_cursor)
        cursor = next_cursor
    raise ConnectorFatalError(f"More than {max_pages} pages; stopped. Narrow the query or raise the limit.")


def iter_offset_pages(
    fetch: FetchPage,
    url: str,
    params: Params | None,
    items_of: Callable[[Any], list[Any]],
    *,
    page_size: int,
    page_param: str = "page",
    size_param: str = "pageSize",
    first: int = 0,
    step_by_items: bool = False,
    stop_on_short_page: bool = True,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> Iterator[Any]:
    """Page by number (`page=0,1,2…`) or by offset (`offset=0,50,100…` with step_by_items) until a short page
    (or, with ``stop_on_short_page=False`` for servers that cap the page size silently, until an empty page).

    A page whose items are identical to an earlier page (the server ignored the page parameter) raises
    ConnectorFatalError.
    """
    seen: set[str] = set()
    position = first
    for page_no in range(1, max_pages + 1):
        query: dict[str, str | int] = dict(params or {})
        query[page_param] = position
        query[size_param] = page_size
        page = fetch(url, query)
        items = items_of(page)
        if items:
            digest = items_digest(items)
            if digest in seen:
                raise _repeated("page", f"{page_param}={position}", page_no)
            seen.add(digest)
        if items or stop_on_short_page:
            yield page
        if (len(items) < page_size) if stop_on_short_page else not items:
            return
        position += page_size if step_by_items else 1
    raise ConnectorFatalError(f"More than {max_pages} pages; stopped. Narrow the query or raise the limit.")


def pages_until(
    pages: Iterable[list[Any]], last: Callable[[list[Any]], bool], *, max_pages: int | None = None
) -> Iterator[list[Any]]:
    """``pages`` up to and including the first page ``last(page)`` is true for, and at most ``max_pages`` of them.

    The stop logic of a list read newest first ("stop at the first page with nothing new since the last poll"),
    kept on the pages so the item loop stays `Connector.stream`'s.
    """
    for number, page in enumerate(pages, start=1):
        yield page
        if last(page) or (max_pages is not None and number >= max_pages):
            return
