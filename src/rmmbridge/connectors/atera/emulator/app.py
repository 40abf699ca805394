"""Starlette app emulating the Atera API v3: API-key auth, paged lists with `nextLink`, alerts with resolve.

Faithful parts: paths under /api/v3, `X-API-KEY` (and a JWT bearer token), PascalCase DTOs with integer ids,
`page` (1-based) + `itemsInPage` (default 20, max 50) answered as `{items, page, itemsInPage, totalItemCount,
totalPages, prevLink, nextLink}`, `alertStatus=Open|Resolved|Snoozed`, `PUT /api/v3/alerts/{alertId}` resolving
with 204, and ProblemDetails error bodies. See the package README for what is unverified.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rmmbridge.connectors.atera.emulator.state import AteraEmulatorState
from rmmbridge.connectors.testing.control import build_emulator_app
from rmmbridge.connectors.testing.estate import EmulatedDevice
from rmmbridge.connectors.testing.state import EmulatorState

Handler = Callable[[Request], Awaitable[Response]]
ID_KEYS = ("AgentID", "DeviceID", "AlertID", "EndUserID", "CustomerID")


class BadRequest(ValueError):
    """A request the real API would answer with 400 ProblemDetails."""


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"The value '{raw}' is not valid for {name}.") from None


def _malformed(item: dict[str, Any]) -> dict[str, Any]:
    """A broken copy of an item: its id of the wrong type."""
    broken = dict(item)
    for key in ID_KEYS:
        if key in broken:
            broken[key] = "not-a-number"
            break
    return broken


def create_app(state: EmulatorState) -> Starlette:
    """The Atera emulator app for an AteraEmulatorState."""
    if not isinstance(state, AteraEmulatorState):
        raise TypeError("create_app needs an AteraEmulatorState")
    atera = state

    def error(status: int, message: str, path: str) -> JSONResponse:
        return JSONResponse(atera.error_body(status, message, path), status_code=status)

    def authed(handler: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            if not atera.key_valid(request.headers.get("x-api-key"), request.headers.get("authorization")):
                return error(401, "Unauthorized", request.url.path)
            try:
                return await handler(request)
            except BadRequest as exc:
                return error(400, str(exc), request.url.path)

        return wrapped

    def paged(request: Request, items: Iterable[dict[str, Any]], extra: dict[str, Any] | None = None) -> Response:
        """One page of `items` as a PagedResult (the whole iterable is walked to count it)."""
        everything = list(items)
        return paged_window(request, len(everything), lambda start, size: everything[start:start + size], extra)

    def paged_window(
        request: Request, total: int, window: Callable[[int, int], list[dict[str, Any]]],
        extra: dict[str, Any] | None = None,
    ) -> Response:
        """One page as a PagedResult, rendering only its own items; plays malformed-item and repeat-page faults."""
        path = request.url.path
        page = _int_param(request, "page") or 1
        if page < 1:
            raise BadRequest("page must be 1 or more.")
        size = atera.effective_page_size(_int_param(request, "itemsInPage"))
        chosen = window((page - 1) * size, size) if (page - 1) * size < total else []
        pages = (total + size - 1) // size
        base = f"{atera.link_base or f'{request.url.scheme}://{request.url.netloc}'}{path}"
        rest = dict(extra or {})

        def link(number: int) -> str:
            return f"{base}?{urlencode({'page': number, 'itemsInPage': size, **rest})}"

        next_link = link(page + 1) if page < pages and atera.next_links else None
        if next_link and page > 1 and atera.take_fault("GET", path, frozenset({"repeat-page"})) is not None:
            next_link = link(page)  # the page links to itself: a client that follows it loops
        if chosen and atera.take_fault("GET", path, frozenset({"malformed-item"})) is not None:
            middle = len(chosen) // 2
            chosen[middle] = _malformed(chosen[middle])
        return JSONResponse({
            "items": chosen,
            "page": page,
            "itemsInPage": len(chosen),
            "totalItemCount": total,
            "totalPages": pages,
            "prevLink": link(page - 1) if page > 1 else None,
            "nextLink": next_link,
        })

    def render_window(
        indices: list[int], render: Callable[[EmulatedDevice], dict[str, Any]]
    ) -> Callable[[int, int], list[dict[str, Any]]]:
        """A page window over device indices that renders only the devices on the page."""

        def window(start: int, size: int) -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = []
            for index in indices[start:start + size]:
                device = atera.device_at(index)
                if device is not None:
                    out.append(render(device))
            return out

        return window

    def agents_iter(customer: int | None = None) -> Iterator[dict[str, Any]]:
        for device in atera.iter_devices():
            listed = atera.listed(device) and not atera.is_snmp(device)
            if listed and (customer is None or int(device.customer_id) == customer):
                yield atera.agent_json(device)

    def snmp_iter(customer: int | None = None, agent: int | None = None) -> Iterator[dict[str, Any]]:
        for device in atera.iter_devices():
            if atera.listed(device) and atera.is_snmp(device):
                body = atera.snmp_json(device)
                if (customer is None or body["CustomerID"] == customer) and (
                    agent is None or body["MonitoringAgentID"] == agent
                ):
                    yield body

    def listed_device(raw: str) -> EmulatedDevice | None:
        device = atera.get_device(raw) if raw.isdigit() else None
        return device if device is not None and atera.listed(device) else None

    @authed
    async def account(request: Request) -> Response:
        return JSONResponse(atera.account_json())

    @authed
    async def customers(request: Request) -> Response:
        return paged(request, (atera.customer_json(c.index) for c in atera.customers))

    @authed
    async def customer(request: Request) -> Response:
        raw = request.path_params["customer_id"]
        if not raw.isdigit() or not 1 <= int(raw) <= len(atera.customers):
            return error(404, f"Customer {raw} was not found.", request.url.path)
        return JSONResponse(atera.customer_json(int(raw) - 1))

    @authed
    async def contacts(request: Request) -> Response:
        email = (request.query_params.get("Email") or "").lower()
        chosen = [c for c in atera.contacts if not email or email in str(c["Email"]).lower()]
        return paged(request, chosen, {"Email": email} if email else None)

    @authed
    async def contact(request: Request) -> Response:
        raw = request.path_params["contact_id"]
        found = next((c for c in atera.contacts if str(c["EndUserID"]) == raw), None)
        if found is None:
            return error(404, f"Contact {raw} was not found.", request.url.path)
        return JSONResponse(found)

    @authed
    async def agents(request: Request) -> Response:
        indices, _ = atera.layout()
        return paged_window(request, len(indices), render_window(indices, atera.agent_json))

    @authed
    async def customer_agents(request: Request) -> Response:
        raw = request.path_params["customer_id"]
        if not raw.isdigit():
            raise BadRequest(f"The value '{raw}' is not valid for customerId.")
        return paged(request, agents_iter(int(raw)))

    @authed
    async def agent(request: Request) -> Response:
        raw = request.path_params["agent_id"]
        device = listed_device(raw)
        if device is None or atera.is_snmp(device):
            return error(404, f"Agent {raw} was not found.", request.url.path)
        return JSONResponse(atera.agent_json(device))

    @authed
    async def machine_agents(request: Request) -> Response:
        name = request.path_params["machine_name"].lower()
        return paged(request, (a for a in agents_iter() if str(a["MachineName"]).lower() == name))

    @authed
    async def snmp_devices(request: Request) -> Response:
        customer_id = _int_param(request, "customerId")
        agent_id = _int_param(request, "monitoringAgentId")
        extra = {k: v for k, v in (("customerId", customer_id), ("monitoringAgentId", agent_id)) if v is not None}
        if not extra:
            _, indices = atera.layout()
            return paged_window(request, len(indices), render_window(indices, atera.snmp_json))
        return paged(request, snmp_iter(customer_id, agent_id), extra)

    @authed
    async def snmp_device_by_guid(request: Request) -> Response:
        guid = request.path_params["device_guid"].lower()
        found = next((d for d in snmp_iter() if str(d["DeviceGuid"]).lower() == guid), None)
        if found is None:
            return error(404, f"SNMP device {guid} was not found.", request.url.path)
        return JSONResponse(found)

    @authed
    async def alerts(request: Request) -> Response:
        status = request.query_params.get("alertStatus")
        if status not in (None, "", "Open", "Resolved", "Snoozed"):
            raise BadRequest(f"The value '{status}' is not valid for alertStatus.")
        with atera.lock:
            everything = sorted(atera.alerts.values(), key=lambda a: int(a.id))
        if status == "Open":
            chosen = [a for a in everything if not a.resolved]
        elif status == "Resolved":
            chosen = [a for a in everything if a.resolved]
        elif status == "Snoozed":
            chosen = []  # the emulator never snoozes alerts
        else:
            chosen = everything
        return paged(request, (atera.alert_json(a) for a in chosen), {"alertStatus": status} if status else None)

    @authed
    async def alert(request: Request) -> Response:
        raw = request.path_params["alert_id"]
        path = request.url.path
        if not raw.isdigit():
            raise BadRequest(f"The value '{raw}' is not valid.")
        with atera.lock:
            found = atera.alerts.get(raw)
        if request.method == "GET":
            if found is None:
                return error(404, f"Alert {raw} was not found.", path)
            return JSONResponse(atera.alert_json(found))
        if request.method == "DELETE":
            if found is None:
                return error(404, f"Alert {raw} was not found.", path)
            with atera.lock:
                atera.alerts.pop(raw, None)
            return Response(status_code=204)
        if found is None:
            atera.record_resolve_call(raw, request.method, path, 404)
            return error(404, f"Alert {raw} was not found.", path)
        atera.resolve_alert(raw, by="api")
        atera.record_resolve_call(raw, request.method, path, 204)
        return Response(status_code=204)

    p = "/api/v3"
    routes: list[BaseRoute] = [
        Route(f"{p}/account", account, methods=["GET"]),
        Route(f"{p}/customers", customers, methods=["GET"]),
        Route(f"{p}/customers/{{customer_id}}", customer, methods=["GET"]),
        Route(f"{p}/contacts", contacts, methods=["GET"]),
        Route(f"{p}/contacts/{{contact_id}}", contact, methods=["GET"]),
        Route(f"{p}/agents", agents, methods=["GET"]),
        Route(f"{p}/agents/customer/{{customer_id}}", customer_agents, methods=["GET"]),
        Route(f"{p}/agents/machine/{{machine_name}}", machine_agents, methods=["GET"]),
        Route(f"{p}/agents/{{agent_id}}", agent, methods=["GET"]),
        Route(f"{p}/devices/snmpdevices", snmp_devices, methods=["GET"]),
        Route(f"{p}/devices/snmpdevice/guid/{{device_guid}}", snmp_device_by_guid, methods=["GET"]),
        Route(f"{p}/alerts", alerts, methods=["GET"]),
        Route(f"{p}/alerts/{{alert_id}}", alert, methods=["GET", "PUT", "DELETE"]),
    ]
    return build_emulator_app(atera, routes, atera.device_json)
