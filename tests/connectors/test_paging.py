"""Paginators: next-URL, cursor and page-number/offset schemes, each stopping on a repeated page."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from rmmbridge.connectors.errors import ConnectorFatalError
from rmmbridge.connectors.paging import (
    Params,
    iter_cursor_pages,
    iter_next_url_pages,
    iter_offset_pages,
    pages_until,
)


class Recorder:
    """A fetch function over plain data that records the calls it received."""

    def __init__(self, pages: dict[str, Any]) -> None:
        self.pages = pages
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, url: str, params: Params | None) -> Any:
        self.calls.append((url, dict(params or {})))
        key = url + ("?" + "&".join(f"{k}={v}" for k, v in sorted((params or {}).items())) if params else "")
        return self.pages[key]


def test_next_url_follows_relative_and_absolute_links_until_empty() -> None:
    fetch = Recorder({
        "https://h/api/items?max=2&page=0": {"next": "/api/items?page=1&max=2", "items": [1, 2]},
        "https://h/api/items?page=1&max=2": {"next": "https://h/api/items?max=2&page=2", "items": [3, 4]},
        "https://h/api/items?max=2&page=2": {"next": None, "items": [5]},
    })
    pages = list(iter_next_url_pages(fetch, "https://h/api/items", {"max": 2, "page": 0}, lambda p: p["next"]))
    assert [i for p in pages for i in p["items"]] == [1, 2, 3, 4, 5]
    assert fetch.calls[1] == ("https://h/api/items?page=1&max=2", {})


def test_next_url_repeated_stops_with_an_error() -> None:
    fetch = Recorder({
        "https://h/a?page=0": {"next": "https://h/a?page=1"},
        "https://h/a?page=1": {"next": "https://h/a?page=2"},
        "https://h/a?page=2": {"next": "https://h/a?page=1"},
    })
    with pytest.raises(ConnectorFatalError) as info:
        list(iter_next_url_pages(fetch, "https://h/a", {"page": 0}, lambda p: p["next"]))
    assert "same next-page URL twice" in info.value.message
    assert len(fetch.calls) == 3


def test_next_url_pointing_at_itself_stops_at_once() -> None:
    fetch = Recorder({"https://h/a?page=0": {"next": "https://h/a?page=0"}})
    with pytest.raises(ConnectorFatalError):
        list(iter_next_url_pages(fetch, "https://h/a", {"page": 0}, lambda p: p["next"]))
    assert len(fetch.calls) == 1


def test_cursor_pages_pass_the_cursor_and_detect_repeats() -> None:
    data = {"/d?pageSize=2": {"items": [1, 2]}, "/d?after=2&pageSize=2": {"items": [3, 4]},
            "/d?after=4&pageSize=2": {"items": []}}
    fetch = Recorder(data)
    last = lambda p: str(p["items"][-1]) if p["items"] else None  # noqa: E731
    pages = list(iter_cursor_pages(fetch, "/d", {"pageSize": 2}, last))
    assert [i for p in pages for i in p["items"]] == [1, 2, 3, 4]
    looping = Recorder({"/d?pageSize=2": {"items": [1, 2]}, "/d?after=2&pageSize=2": {"items": [1, 2]}})
    with pytest.raises(ConnectorFatalError) as info:
        list(iter_cursor_pages(looping, "/d", {"pageSize": 2}, last))
    assert "page cursor" in info.value.message


def test_offset_pages_stop_on_a_short_page_and_detect_ignored_page_params() -> None:
    items = list(range(7))

    def fetch(url: str, params: Params | None) -> Any:
        assert params is not None
        start = int(params["offset"])
        return items[start:start + int(params["limit"])]

    pages = list(iter_offset_pages(fetch, "/x", None, lambda p: p, page_size=3, page_param="offset",
                                   size_param="limit", step_by_items=True))
    assert pages == [[0, 1, 2], [3, 4, 5], [6]]

    def ignores(url: str, params: Params | None) -> Any:
        return [1, 2, 3]

    with pytest.raises(ConnectorFatalError) as info:
        list(iter_offset_pages(ignores, "/x", None, lambda p: p, page_size=3))
    assert "page=1" in info.value.message


def test_offset_pages_can_run_on_past_short_pages_until_an_empty_one() -> None:
    """A server that caps the page size silently (Automate) serves short pages that are not the end."""
    items = list(range(7))
    calls: list[int] = []

    def capped(url: str, params: Params | None) -> Any:
        assert params is not None
        page = int(params["page"])
        calls.append(page)
        return items[(page - 1) * 2:page * 2]  # asked for 5 a page, serves 2

    pages = list(iter_offset_pages(capped, "/x", None, lambda p: p, page_size=5, first=1, stop_on_short_page=False))
    assert pages == [[0, 1], [2, 3], [4, 5], [6]]
    assert calls == [1, 2, 3, 4, 5]
    assert list(iter_offset_pages(capped, "/x", None, lambda p: p, page_size=5, first=1)) == [[0, 1]]


def test_pages_until_stops_after_the_first_last_page_or_at_max_pages() -> None:
    read: list[int] = []

    def pages() -> Any:
        for number in range(1, 100):
            read.append(number)
            yield [number] * 3

    assert list(pages_until(pages(), lambda page: page[0] == 3)) == [[1] * 3, [2] * 3, [3] * 3]
    assert read == [1, 2, 3]  # the fourth page is never asked for
    assert list(pages_until(pages(), lambda page: False, max_pages=2)) == [[1] * 3, [2] * 3]
    assert list(pages_until(iter([[1], [2]]), lambda page: False)) == [[1], [2]]


def test_max_pages_guard() -> None:
    counter = iter(range(10_000))
    with pytest.raises(ConnectorFatalError) as info:
        list(iter_cursor_pages(lambda u, p: next(counter), "/x", None, lambda page: str(page), max_pages=5))
    assert "More than 5 pages" in info.value.message


class Gated(Recorder):
    """A Recorder whose answers wait until the test lets them go, so pages on the wire at once can be counted."""

    def __init__(self, pages: dict[str, Any]) -> None:
        super().__init__(pages)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0

    def __call__(self, url: str, params: Params | None) -> Any:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(0.02)  # long enough for the predicted request to start beside it
            return super().__call__(url, params)
        finally:
            with self.lock:
                self.in_flight -= 1


def _numbered(total: int, size: int = 2) -> dict[str, Any]:
    pages = {}
    count = -(-total // size)
    for n in range(count):
        following = f"/a?max={size}&page={n + 1}" if n + 1 < count else None
        pages[f"/a?max={size}&page={n}"] = {"next": following, "total": total,
                                            "items": list(range(n * size, min(n * size + size, total)))}
    return pages


def _predict_by_total(page: Any, url: str) -> str | None:
    number = int(url.rsplit("page=", 1)[1])
    return f"/a?max=2&page={number + 1}" if (number + 1) * 2 < page["total"] else None


def test_next_url_pages_ahead_keep_two_on_the_wire_and_ask_for_each_page_once() -> None:
    fetch = Gated(_numbered(11))
    pages = list(iter_next_url_pages(fetch, "/a", {"max": 2, "page": 0}, lambda p: p["next"],
                                     predict=_predict_by_total, ahead=2))
    assert [i for p in pages for i in p["items"]] == list(range(11))
    assert sorted(url for url, _ in fetch.calls[1:]) == sorted(f"/a?max=2&page={n}" for n in range(1, 6))
    assert fetch.most_in_flight == 2


def test_a_wrong_prediction_is_dropped_and_the_named_page_fetched() -> None:
    pages = _numbered(8)
    pages["/a?max=2&page=1"]["next"] = "/a?max=2&page=3"  # the server skips page 2: the prediction was wrong
    pages["/a?max=2&page=2"]["items"] = ["never read"]
    fetch = Recorder(pages)
    read = list(iter_next_url_pages(fetch, "/a", {"max": 2, "page": 0}, lambda p: p["next"],
                                    predict=_predict_by_total, ahead=2))
    assert [i for p in read for i in p["items"]] == [0, 1, 2, 3, 6, 7]


def test_a_failing_prediction_is_not_the_callers_error_and_a_failing_page_is() -> None:
    pages = _numbered(6)
    pages["/a?max=2&page=1"]["next"] = None  # two pages only, although the total says three
    asked: list[str] = []
    predicted_asked = threading.Event()

    def fetch(url: str, params: Params | None) -> Any:
        asked.append(url)
        if "page=2" in url:
            predicted_asked.set()
            raise ConnectorFatalError("the predicted page failed")
        if "page=1" in url:
            predicted_asked.wait(5)  # page 1 answers only once page 2 is on the wire beside it
        return Recorder(pages)(url, params)

    read = list(iter_next_url_pages(fetch, "/a", {"max": 2, "page": 0}, lambda p: p["next"],
                                    predict=_predict_by_total, ahead=3))
    assert [i for p in read for i in p["items"]] == [0, 1, 2, 3]
    assert "/a?max=2&page=2" in asked  # predicted and failed, but never named: not an error of the listing
    pages["/a?max=2&page=1"]["next"] = "/a?max=2&page=2"
    predicted_asked.clear()
    with pytest.raises(ConnectorFatalError, match="predicted page failed"):
        list(iter_next_url_pages(fetch, "/a", {"max": 2, "page": 0}, lambda p: p["next"],
                                 predict=_predict_by_total, ahead=3))


def test_ahead_still_stops_on_a_repeated_next_url_after_reading_the_page() -> None:
    pages = _numbered(8)
    pages["/a?max=2&page=2"]["next"] = "/a?max=2&page=1"
    read: list[Any] = []
    listing = iter_next_url_pages(Recorder(pages), "/a", {"max": 2, "page": 0}, lambda p: p["next"],
                                  predict=_predict_by_total, ahead=2)
    with pytest.raises(ConnectorFatalError, match="same next-page URL twice"):
        read.extend(item for page in listing for item in page["items"])
    assert read == [0, 1, 2, 3, 4, 5]
