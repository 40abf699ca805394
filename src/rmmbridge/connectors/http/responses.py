"""The client, one JSON request, and the mapping of a response to the errors.py class naming what to do."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from rmmbridge.common import fastjson
from rmmbridge.connectors.errors import (
    ConnectorAuthError,
    ConnectorError,
    ConnectorFatalError,
    ConnectorForbiddenError,
    ConnectorRateLimitedError,
    ConnectorRetryableError,
    ConnectorUnavailableError,
)
from rmmbridge.connectors.http.retry import parse_retry_after

USER_AGENT = "rmmbridge/0.1 (+self-hosted RMM bridge)"


def build_client(base_url: str, *, timeout: float = 30, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """An httpx client for one vendor API: base URL, timeout, JSON accept header, no redirects to other hosts."""
    return httpx.Client(
        base_url=base_url,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        transport=transport,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        follow_redirects=False,
    )


def error_message_from(response: httpx.Response) -> str:
    """The vendor's own error text from a JSON or plain error body (message, error_description, error, …)."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        text = response.text.strip()
        return text[:200] if text and not text.lstrip().startswith("<") else ""
    parts: list[str] = []
    if isinstance(body, Mapping):
        for key in ("error_description", "message", "errorMessage", "detail", "title", "error", "resultCode"):
            value = body.get(key)
            if isinstance(value, str) and value and value not in parts:
                parts.append(value)
        errors = body.get("errors")
        if isinstance(errors, list):
            parts.extend(str(e.get("message", e)) if isinstance(e, Mapping) else str(e) for e in errors[:3])
    return "; ".join(parts)[:300]


def raise_for_status(
    response: httpx.Response,
    *,
    vendor: str = "The RMM",
    detail_of: Callable[[httpx.Response], str] = error_message_from,
    hints: Mapping[int, str] | None = None,
) -> None:
    """Raise the errors.py class naming what the caller must do for a non-2xx response.

    `detail_of` reads the vendor's own error text (a vendor with its own body shape passes its reader); `hints`
    replaces the generic advice for 401 and 403 with the vendor's words for what to fix.
    """
    status = response.status_code
    if status < 400:
        return
    detail = detail_of(response)
    suffix = f" ({detail})" if detail else ""
    path = response.request.url.path if response.request is not None else ""
    advice = hints or {}
    if status == 401:
        raise ConnectorAuthError(
            f"{vendor} rejected the credentials{suffix}. "
            + advice.get(401, "Check the API key and secret, then save them again."),
            status=status,
        )
    if status == 403:
        raise ConnectorForbiddenError(
            f"{vendor} refused access to {path}{suffix}. "
            + advice.get(403, f"Grant the API user this permission in {vendor}."),
            status=status,
        )
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise ConnectorRateLimitedError(
            f"{vendor} rate limit reached{suffix}; retry "
            + (f"in {retry_after:.0f} s." if retry_after is not None else "later."),
            status=status,
            retry_after=retry_after,
        )
    if status >= 500:
        raise ConnectorUnavailableError(
            f"{vendor} answered HTTP {status} on {path}{suffix} after retries; try again later.", status=status
        )
    raise ConnectorFatalError(f"{vendor} answered HTTP {status} on {path}{suffix}.", status=status)


def decode_json(response: httpx.Response, *, vendor: str = "The RMM") -> Any:
    """The JSON body; malformed JSON raises ConnectorRetryableError (usually a cut-off or proxy page)."""
    if not response.content:
        return None
    try:
        return fastjson.loads(response.content)
    except ValueError as exc:
        raise ConnectorRetryableError(
            f"{vendor} returned malformed JSON on {response.request.url.path}: {exc}. Try again later.",
            status=response.status_code,
        ) from None


def request_json(
    http: httpx.Client,
    method: str,
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    json_body: Any = None,
    data: Mapping[str, str] | None = None,
    vendor: str = "The RMM",
    auth: httpx.Auth | None = None,
    detail_of: Callable[[httpx.Response], str] = error_message_from,
    hints: Mapping[int, str] | None = None,
) -> Any:
    """Send one request through the client's auth, retry and log stack; return the decoded JSON or raise.

    ``auth`` replaces the client's auth for this request (e.g. a token with more scopes for one write);
    ``detail_of`` and ``hints`` go to `raise_for_status`.
    """
    try:
        if auth is None:
            response = http.request(method, url, params=params, json=json_body, data=data)
        else:
            response = http.request(method, url, params=params, json=json_body, data=data, auth=auth)
    except ConnectorError:
        raise
    except httpx.TimeoutException as exc:
        raise ConnectorUnavailableError(
            f"{vendor} did not answer in time ({type(exc).__name__}) at {http.base_url}. Try again later."
        ) from None
    except httpx.ConnectError as exc:
        raise ConnectorUnavailableError(
            f"Cannot connect to {http.base_url.host}:{http.base_url.port or ''} ({exc}). "
            "Check the API URL and that the server is reachable."
        ) from None
    except httpx.HTTPError as exc:
        raise ConnectorUnavailableError(
            f"The connection to {vendor} failed ({type(exc).__name__}: {exc}). Try again later."
        ) from None
    raise_for_status(response, vendor=vendor, detail_of=detail_of, hints=hints)
    return decode_json(response, vendor=vendor)
