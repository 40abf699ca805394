"""Starlette app emulating the NinjaOne Public API 2.0: OAuth2 token endpoint, /v2 lists with `after` paging, alerts.

Faithful parts: paths, form-encoded client-credentials grant with scope check, bearer tokens with `expires_in`,
integer ids with keyset paging (`pageSize`, `after` = last id), epoch-second timestamps, `GET /v2/alerts` listing
only active conditions, `POST /v2/alert/{uid}/reset` and `DELETE /v2/alert/{uid}`, `GET /v2/activities` newest
first with `olderThan`, `PUT /v2/webhook`, and the API's error bodies. Not emulated: the `df` device filter.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rmmbridge.connectors.ninjaone.emulator.state import NinjaOneEmulatorState, _index_end
from rmmbridge.connectors.testing.control import build_emulator_app
from rmmbridge.connectors.testing.estate import EmulatedDevice
from rmmbridge.connectors.testing.state import EmulatorState

Handler = Callable[[Request], Awaitable[Response]]


class BadParam(ValueError):
    """A query parameter the real API would reject with 400."""


def _error(state: NinjaOneEmulatorState, status: int, message: str, path: str) -> JSONResponse:
    return JSONResponse(state.error_body(status, message, path), status_code=status)


def _int_param(request: Request, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadParam(f"Invalid value '{raw}' for parameter '{name}'") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise BadParam(f"Parameter '{name}' must be between {minimum} and {maximum}")
    return value


def _malformed(item: dict[str, Any]) -> dict[str, Any]:
    """A broken copy of an item (keeps its id, so keyset paging still works): nameless, fields of the wrong type.

    Without any name (organizations: `name`; devices: systemName, dnsName, netbiosName and displayName) the item
    cannot be read and is skipped; the other broken fields alone would only cost those fields.
    """
    broken = dict(item)
    for key in ("organizationId", "name", "nodeClass", "uid", "systemName", "dnsName", "netbiosName", "displayName"):
        if key in broken:
            broken[key] = None if key != "organizationId" else "not-a-number"
    return broken


def create_app(state: EmulatorState) -> Starlette:
    """The NinjaOne emulator app for a NinjaOneEmulatorState."""
    if not isinstance(state, NinjaOneEmulatorState):
        raise TypeError("create_app needs a NinjaOneEmulatorState")
    ninja = state

    def authed(handler: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not ninja.token_valid(token.strip()):
                return _error(ninja, 401, "Invalid credentials", request.url.path)
            try:
                return await handler(request)
            except BadParam as exc:
                return _error(ninja, 400, str(exc), request.url.path)

        return wrapped

    def keyset(request: Request, items_after: Callable[[int | None], Iterator[dict[str, Any]]]) -> Response:
        """Serve one keyset page (`after`, `pageSize`), playing malformed-item and repeat-page faults."""
        path = request.url.path
        after = _int_param(request, "after")
        size = ninja.effective_page_size(_int_param(request, "pageSize", minimum=1))
        if after is not None and ninja.take_fault("GET", path, frozenset({"repeat-page"})) is not None:
            after = None  # serve the first page again: its last id is a cursor the client has already used
        page: list[dict[str, Any]] = []
        for item in items_after(after):
            if after is not None and item["id"] <= after:
                continue
            page.append(item)
            if len(page) >= size:
                break
        if page and ninja.take_fault("GET", path, frozenset({"malformed-item"})) is not None:
            middle = len(page) // 2
            page[middle] = _malformed(page[middle])
        return JSONResponse(page)

    def devices_from(after: int | None, *, detailed: bool, org: int | None = None) -> Iterator[dict[str, Any]]:
        start = max(after or 0, 0)  # device id = index + 1, so ids > after start at index `after`
        for index in range(start, _index_end(ninja)):
            device = ninja.device_at(index)
            if device is None or (org is not None and int(device.customer_id) != org):
                continue
            yield ninja.device_json(device, detailed=detailed)

    async def token(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic" and "client_id" not in form:  # RFC 6749 §2.3.1 client authentication
            try:
                client_id, _, client_secret = base64.b64decode(encoded).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                client_id = client_secret = ""
            form.update(client_id=unquote(client_id), client_secret=unquote(client_secret))
        if form.get("grant_type") != "client_credentials":
            return JSONResponse(
                {"error": "unsupported_grant_type", "error_description": "Unsupported grant type"}, status_code=400
            )
        if form.get("client_id") != ninja.credentials.get("client_id") or form.get(
            "client_secret"
        ) != ninja.credentials.get("client_secret"):
            return JSONResponse({"error": "invalid_client", "error_description": "Bad client credentials"}, 401)
        requested = set((form.get("scope") or "monitoring").split())
        if not requested <= ninja.scopes:
            return JSONResponse({"error": "invalid_scope", "error_description": "Invalid scope"}, status_code=400)
        access = ninja.issue_token()
        return JSONResponse(
            {
                "access_token": access,
                "expires_in": int(ninja.token_lifetime),
                "scope": " ".join(sorted(requested)),
                "token_type": "Bearer",
            }
        )

    @authed
    async def organizations(request: Request) -> Response:
        detailed = request.url.path.endswith("-detailed")

        def items(after: int | None) -> Iterator[dict[str, Any]]:
            for customer in ninja.customers:
                body = ninja.organization_json(customer.index)
                if detailed:
                    body["locations"] = [
                        ninja.location_json(s.index, with_organization=False)
                        for s in ninja.sites
                        if s.customer_id == customer.id
                    ]
                    body["policies"] = []
                    body["settings"] = {}
                yield body

        return keyset(request, items)

    def organization_or_404(request: Request) -> int | Response:
        raw = request.path_params["org_id"]
        if not raw.isdigit() or not 1 <= int(raw) <= len(ninja.customers):
            return _error(ninja, 404, f"Organization {raw} not found", request.url.path)
        return int(raw)

    @authed
    async def organization(request: Request) -> Response:
        org = organization_or_404(request)
        if isinstance(org, Response):
            return org
        return JSONResponse(ninja.organization_json(org - 1))

    @authed
    async def organization_locations(request: Request) -> Response:
        org = organization_or_404(request)
        if isinstance(org, Response):
            return org
        return JSONResponse(
            [ninja.location_json(s.index, with_organization=False) for s in ninja.sites if int(s.customer_id) == org]
        )

    @authed
    async def organization_devices(request: Request) -> Response:
        org = organization_or_404(request)
        if isinstance(org, Response):
            return org
        return keyset(request, lambda after: devices_from(after, detailed=False, org=org))

    @authed
    async def organization_end_users(request: Request) -> Response:
        org = organization_or_404(request)
        if isinstance(org, Response):
            return org
        return JSONResponse([u for u in ninja.users if u.get("organizationId") == org])

    @authed
    async def locations(request: Request) -> Response:
        return keyset(request, lambda after: (ninja.location_json(s.index) for s in ninja.sites))

    @authed
    async def devices(request: Request) -> Response:
        detailed = request.url.path.endswith("-detailed")
        return keyset(request, lambda after: devices_from(after, detailed=detailed))

    def device_or_404(request: Request) -> EmulatedDevice | Response:
        raw = request.path_params["device_id"]
        device = ninja.get_device(raw)
        if device is None:
            return _error(ninja, 404, f"Device {raw} not found", request.url.path)
        return device

    @authed
    async def device(request: Request) -> Response:
        found = device_or_404(request)
        if isinstance(found, Response):
            return found
        return JSONResponse(ninja.device_json(found))

    @authed
    async def device_alerts(request: Request) -> Response:
        found = device_or_404(request)
        if isinstance(found, Response):
            return found
        return JSONResponse([ninja.alert_json(a) for a in ninja.open_alerts() if a.device_id == found.id])

    @authed
    async def users(request: Request) -> Response:
        user_type = request.query_params.get("userType")
        if user_type not in (None, "", "TECHNICIAN", "END_USER"):
            raise BadParam(f"Invalid value '{user_type}' for parameter 'userType'")
        chosen = [u for u in ninja.users if not user_type or u.get("userType") == user_type]
        if chosen and ninja.take_fault("GET", request.url.path, frozenset({"malformed-item"})) is not None:
            chosen = list(chosen)
            chosen[len(chosen) // 2] = {"id": "not-a-number", "firstName": None}
        return JSONResponse(chosen)

    @authed
    async def end_users(request: Request) -> Response:
        return JSONResponse([u for u in ninja.users if u.get("userType") == "END_USER"])

    @authed
    async def alerts(request: Request) -> Response:
        source_type = request.query_params.get("sourceType")
        chosen = [ninja.alert_json(a) for a in ninja.open_alerts()]
        if source_type:
            chosen = [a for a in chosen if a["sourceType"] == source_type]
        if chosen and ninja.take_fault("GET", request.url.path, frozenset({"malformed-item"})) is not None:
            chosen[len(chosen) // 2] = {"uid": None, "deviceId": "not-a-number"}
        return JSONResponse(chosen)

    @authed
    async def reset_alert(request: Request) -> Response:
        uid = request.path_params["uid"]
        if request.method == "POST":
            raw = await request.body()
            if raw:
                try:
                    json.loads(raw)
                except ValueError:
                    ninja.record_resolve_call(uid, request.method, request.url.path, 400)
                    return _error(ninja, 400, "Request body is not valid JSON", request.url.path)
        with ninja.lock:
            alert = ninja.alerts.get(uid)
            open_now = alert is not None and not alert.resolved
        if not open_now:
            ninja.record_resolve_call(uid, request.method, request.url.path, 404)
            return _error(ninja, 404, f"Alert {uid} not found", request.url.path)
        ninja.resolve_alert(uid, by="api")
        ninja.record_resolve_call(uid, request.method, request.url.path, 204)
        return Response(status_code=204)

    @authed
    async def activities(request: Request) -> Response:
        size = _int_param(request, "pageSize", minimum=10, maximum=1000) or 200
        older = _int_param(request, "olderThan")
        newer = _int_param(request, "newerThan")
        kind = request.query_params.get("type")
        statuses = {s for s in (request.query_params.get("status") or "").split(",") if s}
        series = request.query_params.get("seriesUid")
        with ninja.lock:
            rows = list(reversed(ninja.activities))
            last = ninja.activities[-1]["id"] if ninja.activities else 0
        page = [
            a
            for a in rows
            if (older is None or a["id"] < older)
            and (newer is None or a["id"] > newer)
            and (not kind or a["activityType"] == kind)
            and (not statuses or a["statusCode"] in statuses)
            and (not series or a["seriesUid"] == series)
        ][:size]
        return JSONResponse({"lastActivityId": last, "activities": page})

    @authed
    async def webhook(request: Request) -> Response:
        if request.method == "DELETE":
            ninja.webhook_config = None
            return Response(status_code=204)
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            return _error(ninja, 400, "Request body is not valid JSON", request.url.path)
        if not isinstance(body, dict) or not isinstance(body.get("url"), str) or not body["url"]:
            return _error(ninja, 400, "Webhook configuration needs a url", request.url.path)
        ninja.webhook_config = body
        return Response(status_code=204)

    routes: list[BaseRoute] = [
        Route("/ws/oauth/token", token, methods=["POST"]),
        Route("/v2/organizations", organizations, methods=["GET"]),
        Route("/v2/organizations-detailed", organizations, methods=["GET"]),
        Route("/v2/organization/{org_id}", organization, methods=["GET"]),
        Route("/v2/organization/{org_id}/locations", organization_locations, methods=["GET"]),
        Route("/v2/organization/{org_id}/devices", organization_devices, methods=["GET"]),
        Route("/v2/organization/{org_id}/end-users", organization_end_users, methods=["GET"]),
        Route("/v2/locations", locations, methods=["GET"]),
        Route("/v2/devices", devices, methods=["GET"]),
        Route("/v2/devices-detailed", devices, methods=["GET"]),
        Route("/v2/device/{device_id}", device, methods=["GET"]),
        Route("/v2/device/{device_id}/alerts", device_alerts, methods=["GET"]),
        Route("/v2/users", users, methods=["GET"]),
        Route("/v2/user/end-users", end_users, methods=["GET"]),
        Route("/v2/alerts", alerts, methods=["GET"]),
        Route("/v2/alert/{uid}", reset_alert, methods=["DELETE"]),
        Route("/v2/alert/{uid}/reset", reset_alert, methods=["POST"]),
        Route("/v2/activities", activities, methods=["GET"]),
        Route("/v2/webhook", webhook, methods=["PUT", "DELETE"]),
    ]
    return build_emulator_app(ninja, routes, lambda d: ninja.device_json(d))
