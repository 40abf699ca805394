"""Starlette app emulating the N-central REST API: JWT → access/refresh tokens, pageNumber paging, active issues.

Faithful parts: `POST /api/auth/authenticate` (Bearer User-API JWT; `X-ACCESS-EXPIRY-OVERRIDE` honoured up to the
system lifetime) and `POST /api/auth/refresh` (text/plain refresh token), bearer access tokens, integer ids,
the `{data, pageNumber, pageSize, itemCount, totalItems, totalPages, _links}` envelope with `pageNumber` from 1 and
`pageSize` 1..1000, device records and assets as N-central returns them, active issues per org unit, and 429
(without Retry-After) when too many requests to one endpoint are in flight. See the vendor README for what is
UNVERIFIED.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rmmbridge.connectors.ncentral.emulator.state import (
    API_SERVICE_VERSION,
    SERVER_VERSION,
    SO_ID,
    NcentralEmulatorState,
)
from rmmbridge.connectors.testing.control import build_emulator_app
from rmmbridge.connectors.testing.estate import EmulatedDevice
from rmmbridge.connectors.testing.state import EmulatorState

Handler = Callable[[Request], Awaitable[Response]]
_EXPIRY = re.compile(r"^\s*(\d+)\s*([smh])\s*$", re.IGNORECASE)


class BadParam(ValueError):
    """A query parameter the real API rejects with 400."""


def _int_param(request: Request, name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParam(f"Invalid value '{raw}' for query parameter '{name}'.") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and {maximum}" if maximum is not None else ""
        raise BadParam(f"Query parameter '{name}' must be between {minimum}{upper}; got {value}.")
    return value


def _expiry_override(value: str | None) -> float | None:
    """`X-ACCESS-EXPIRY-OVERRIDE: 120s | 30m | 1h` → seconds (None when absent or unreadable)."""
    if not value:
        return None
    match = _EXPIRY.match(value)
    if not match:
        return None
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2).lower()]


def _malformed(item: dict[str, Any]) -> dict[str, Any]:
    """A broken copy of a list item: its id and name of the wrong type."""
    broken = dict(item)
    for key in ("deviceId", "customerId", "siteId", "taskId", "soId"):
        if key in broken:
            broken[key] = "not-a-number"
    for key in ("longName", "customerName", "siteName"):
        if key in broken:
            broken[key] = None
    return broken


def create_app(state: EmulatorState) -> Starlette:
    """The N-central emulator app for an NcentralEmulatorState."""
    if not isinstance(state, NcentralEmulatorState):
        raise TypeError("create_app needs an NcentralEmulatorState")
    nc = state

    def error(status: int, message: str, path: str) -> JSONResponse:
        return JSONResponse(nc.error_body(status, message, path), status_code=status)

    def authed(handler: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            path = request.url.path
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not nc.token_valid(token.strip()):
                return error(401, "Unauthorized: the access token is missing, invalid or expired.", path)
            route = request.scope.get("route")
            key = str(getattr(route, "path", path))
            with nc.lock:
                busy = nc.in_flight.get(key, 0)
                if busy >= nc.concurrency_limit:
                    nc.concurrency_refusals += 1
                    refused = True
                else:
                    nc.in_flight[key] = busy + 1
                    refused = False
            if refused:  # N-central sends no Retry-After: the client must back off on its own
                return error(429, "Too many concurrent requests to this endpoint.", path)
            try:
                if nc.response_delay:
                    await asyncio.sleep(nc.response_delay)
                return await handler(request)
            except BadParam as exc:
                return error(400, str(exc), path)
            finally:
                with nc.lock:
                    nc.in_flight[key] = nc.in_flight.get(key, 1) - 1

        return wrapped

    def paged(request: Request, items: Sequence[Any] | Callable[[int, int], list[Any]], total: int) -> JSONResponse:
        """One page of the envelope; plays the repeat-page and malformed-item faults."""
        path = request.url.path
        number = _int_param(request, "pageNumber", 1, minimum=1)
        size = nc.effective_page_size(_int_param(request, "pageSize", nc.default_page_size, minimum=1,
                                                 maximum=nc.max_page_size))
        if number > 1 and nc.take_fault("GET", path, frozenset({"repeat-page"})) is not None:
            number = 1  # a server ignoring pageNumber: page 1 again
        start = (number - 1) * size
        page = items(start, size) if callable(items) else list(items[start:start + size])
        if page and nc.take_fault("GET", path, frozenset({"malformed-item"})) is not None:
            page[len(page) // 2] = _malformed(page[len(page) // 2])
        pages = math.ceil(total / size) if total else 0
        base = f"{path}?pageSize={size}&pageNumber="
        links: dict[str, str] = {"firstPage": f"{base}1"}
        if number > 1:
            links["previousPage"] = f"{base}{number - 1}"
        if number < pages:
            links["nextPage"] = f"{base}{number + 1}"
        if pages:
            links["lastPage"] = f"{base}{pages}"
        return JSONResponse({"data": page, "pageNumber": number, "pageSize": size, "itemCount": len(page),
                             "totalItems": total, "totalPages": pages, "_links": links})

    def base_url(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    # --- auth -----------------------------------------------------------------------------------------------------
    async def authenticate(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() != nc.credentials.get("api_token"):
            return error(401, "Authentication failed: the User-API token is invalid, expired or was regenerated.",
                         request.url.path)
        with nc.lock:
            nc.authentications += 1
        return JSONResponse(nc.issue_pair(_expiry_override(request.headers.get("x-access-expiry-override"))))

    async def refresh(request: Request) -> Response:
        token = (await request.body()).decode("utf-8", "replace").strip()
        if not token or not nc.use_refresh_token(token):
            return error(401, "The refresh token is invalid or expired.", request.url.path)
        with nc.lock:
            nc.refreshes += 1
        return JSONResponse(nc.issue_pair())

    @authed
    async def server_info(request: Request) -> Response:
        # The document's example: {"version": "3.1.0", "jvmVersion": "17.0.9", "ncentral": null}; `ncentral` is
        # served here unless the emulator is told to hide it (ncentral_version_hidden), as such servers do.
        shown = None if nc.ncentral_version_hidden else SERVER_VERSION
        return JSONResponse({"version": API_SERVICE_VERSION, "jvmVersion": "17.0.9", "ncentral": shown,
                             "_links": {}})

    # --- org units ------------------------------------------------------------------------------------------------
    @authed
    async def service_orgs(request: Request) -> Response:
        return paged(request, [nc.service_org_json()], 1)

    @authed
    async def customers(request: Request) -> Response:
        return paged(request, [nc.customer_json(c.index) for c in nc.customers], len(nc.customers))

    @authed
    async def customer_sites(request: Request) -> Response:
        raw = request.path_params["customer_id"]
        customer = nc.customer_by_id(raw)
        if customer is None:
            return error(404, f"Customer {raw} not found.", request.url.path)
        chosen = [nc.site_json(s.index) for s in nc.sites if s.customer_id == customer.id]
        return paged(request, chosen, len(chosen))

    @authed
    async def sites(request: Request) -> Response:
        return paged(request, [nc.site_json(s.index) for s in nc.sites], len(nc.sites))

    # --- devices --------------------------------------------------------------------------------------------------
    @authed
    async def devices(request: Request) -> Response:
        url = base_url(request)

        def window(start: int, size: int) -> list[Any]:
            return [nc.device_json(d, url) for d in nc.page_of_devices(start, size)]

        return paged(request, window, nc.device_count())

    def device_or_404(request: Request) -> EmulatedDevice | Response:
        raw = request.path_params["device_id"]
        device = nc.get_device(raw)
        if device is None:
            return error(404, f"Device {raw} not found.", request.url.path)
        return device

    @authed
    async def device(request: Request) -> Response:
        found = device_or_404(request)
        if isinstance(found, Response):
            return found
        return JSONResponse({"data": nc.device_json(found, base_url(request)), "_links": {}})

    @authed
    async def device_assets(request: Request) -> Response:
        found = device_or_404(request)
        if isinstance(found, Response):
            return found
        return JSONResponse(nc.assets_json(found, base_url(request)))

    @authed
    async def org_unit_devices(request: Request) -> Response:
        raw = request.path_params["org_unit_id"]
        customer, site = nc.customer_by_id(raw), nc.site_by_id(raw)
        if raw != str(SO_ID) and customer is None and site is None:
            return error(404, f"Org unit {raw} not found.", request.url.path)
        url = base_url(request)
        chosen = [
            nc.device_json(d, url)
            for d in nc.iter_devices()
            if (customer is None or d.customer_id == customer.id) and (site is None or d.site_id == site.id)
        ]
        return paged(request, chosen, len(chosen))

    @authed
    async def active_issues(request: Request) -> Response:
        raw = request.path_params["org_unit_id"]
        unit = int(raw) if raw.isdigit() else -1
        customer = nc.customer_by_id(raw)
        site = nc.site_by_id(raw)
        if unit != SO_ID and customer is None and site is None:
            return error(404, f"Org unit {raw} not found.", request.url.path)
        chosen: list[Any] = []
        if customer is None and site is None:
            # Active issues are served for customer and site org units; asking the service organization lists
            # none (one client's note; another source differs – see README).
            return paged(request, chosen, 0)
        for alert in nc.open_alerts():
            found = nc.get_device(alert.device_id)
            if found is None:
                continue
            if (customer is not None and found.customer_id != customer.id) or (
                site is not None and found.site_id != site.id
            ):
                continue
            chosen.append(nc.issue_json(alert))
        return paged(request, chosen, len(chosen))

    routes: list[BaseRoute] = [
        Route("/api/auth/authenticate", authenticate, methods=["POST"]),
        Route("/api/auth/refresh", refresh, methods=["POST"]),
        Route("/api/server-info", server_info, methods=["GET"]),
        Route("/api/service-orgs", service_orgs, methods=["GET"]),
        Route("/api/customers", customers, methods=["GET"]),
        Route("/api/customers/{customer_id}/sites", customer_sites, methods=["GET"]),
        Route("/api/sites", sites, methods=["GET"]),
        Route("/api/devices", devices, methods=["GET"]),
        Route("/api/devices/{device_id}", device, methods=["GET"]),
        Route("/api/devices/{device_id}/assets", device_assets, methods=["GET"]),
        Route("/api/org-units/{org_unit_id}/devices", org_unit_devices, methods=["GET"]),
        Route("/api/org-units/{org_unit_id}/active-issues", active_issues, methods=["GET"]),
    ]
    return build_emulator_app(nc, routes, lambda d: nc.device_json(d))
