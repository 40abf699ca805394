"""The Datto RMM emulator: /auth/oauth/token and the /api/v2 endpoints the connector uses, with real paging."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rmmbridge.connectors.datto_rmm import const
from rmmbridge.connectors.datto_rmm.emulator.state import DattoRmmEmulatorState
from rmmbridge.connectors.testing.control import build_emulator_app

Handler = Callable[[Request], Any]


def create_app(state: DattoRmmEmulatorState) -> Starlette:
    """The emulator app for one state (the control API under /_emulator/ included)."""

    def error(status: int, message: str, path: str) -> JSONResponse:
        return JSONResponse(state.error_body(status, message, path), status_code=status)

    def bearer_ok(request: Request) -> JSONResponse | None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            return JSONResponse({"error": "unauthorized",
                                 "error_description": "Full authentication is required to access this resource"},
                                status_code=401)
        token = header[7:].strip()
        if not state.token_valid(token):
            return JSONResponse({"error": "invalid_token", "error_description": f"Invalid access token: {token}"},
                                status_code=401)
        return None

    def page_params(request: Request) -> tuple[int, int] | JSONResponse:
        try:
            page = int(request.query_params.get("page", "0"))
            size = int(request.query_params.get("max", str(const.MAX_PAGE_SIZE)))
        except ValueError:
            return error(400, "Bad Request", request.url.path)
        if page < 0 or size < 1:
            return error(400, "Bad Request", request.url.path)
        return page, state.effective_page_size(size)

    def page_body(request: Request, key: str, items: list[Any], total: int, page: int, size: int) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/") + request.url.path
        method, path = request.method, request.url.path
        next_page = page + 1 if (page + 1) * size < total else None
        if next_page is not None and state.take_fault(method, path, frozenset({"repeat-page"})):
            next_page = page  # a buggy server pointing back at the page just served
        if items and state.take_fault(method, path, frozenset({"malformed-item"})):
            broken = dict(items[len(items) // 2]) if isinstance(items[len(items) // 2], dict) else {}
            broken["uid" if key != "alerts" else "alertUid"] = 600 + page
            broken.pop("hostname", None)
            items[len(items) // 2] = broken
        return {
            "pageDetails": {
                "count": len(items),
                "totalCount": total,
                "prevPageUrl": f"{base}?max={size}&page={page - 1}" if page > 0 else None,
                "nextPageUrl": f"{base}?max={size}&page={next_page}" if next_page is not None else None,
            },
            key: items,
        }

    async def token(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        client_ok = False
        if header.lower().startswith("basic "):
            try:
                expected = f"{const.OAUTH_CLIENT_ID}:{const.OAUTH_CLIENT_SECRET}"
                client_ok = base64.b64decode(header[6:]).decode() == expected
            except (binascii.Error, UnicodeDecodeError):
                client_ok = False
        if not client_ok:
            return JSONResponse({"error": "unauthorized", "error_description": "Bad client credentials"},
                                status_code=401)
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "password":
            return JSONResponse({"error": "unsupported_grant_type",
                                 "error_description": f"Unsupported grant type: {form.get('grant_type')}"},
                                status_code=400)
        key, secret = state.credentials["api_key"], state.credentials["api_secret"]
        if form.get("username") != key or form.get("password") != secret:
            return JSONResponse({"error": "invalid_grant", "error_description": "Bad credentials"}, status_code=400)
        return JSONResponse({
            "access_token": state.issue_token(),
            "token_type": "bearer",
            "expires_in": const.TOKEN_LIFETIME_SECONDS - 1,
            "scope": "default",
            "jti": state.new_jti(),
        })

    async def account(request: Request) -> Response:
        return bearer_ok(request) or JSONResponse(state.render_account())

    def paged(list_page: Callable[[Request, int, int], Response]) -> Handler:
        """A list endpoint: the bearer token, then `page`/`max` checked, then ``list_page(request, page, size)``."""
        async def handler(request: Request) -> Response:
            denied = bearer_ok(request)
            if denied:
                return denied
            params = page_params(request)
            if isinstance(params, JSONResponse):
                return params
            return list_page(request, *params)

        return handler

    @paged
    def sites(request: Request, page: int, size: int) -> Response:
        base = str(request.base_url).rstrip("/")
        chunk = state.sites[page * size:(page + 1) * size]
        items = [state.render_site(s, base) for s in chunk]
        return JSONResponse(page_body(request, "sites", items, len(state.sites), page, size))

    async def one_site(request: Request) -> Response:
        denied = bearer_ok(request)
        if denied:
            return denied
        site = state.site_by_id(request.path_params["site_uid"])
        if site is None:
            return error(404, "Not Found", request.url.path)
        return JSONResponse(state.render_site(site, str(request.base_url)))

    @paged
    def devices(request: Request, page: int, size: int) -> Response:
        site_uid = request.path_params.get("site_uid")
        if site_uid is not None and state.site_by_id(site_uid) is None:
            return error(404, "Not Found", request.url.path)
        chunk = state.page_of_devices(page * size, size, site_uid)
        total = state.count_devices(site_uid)
        items = [state.render_device(d) for d in chunk]
        return JSONResponse(page_body(request, "devices", items, total, page, size))

    async def one_device(request: Request) -> Response:
        denied = bearer_ok(request)
        if denied:
            return denied
        device = state.get_device(request.path_params["device_uid"])
        if device is None:
            return error(404, "Not Found", request.url.path)
        return JSONResponse(state.render_device(device))

    def audit_handler(device_class: str, render: Callable[[Any], dict[str, Any]]) -> Handler:
        async def handler(request: Request) -> Response:
            denied = bearer_ok(request)
            if denied:
                return denied
            device = state.get_device(request.path_params["device_uid"])
            if device is None:
                return error(404, "Not Found", request.url.path)
            if state.render_device(device).get("deviceClass") != device_class:
                # the spec: 400 "The device identified by the given device UID is not of class …"
                return error(400, "Bad Request", request.url.path)
            return JSONResponse(render(device))

        return handler

    def alerts_handler(resolved: bool) -> Handler:
        def alerts_page(request: Request, page: int, size: int) -> Response:
            chosen = state.resolved_alerts() if resolved else state.open_alerts()
            items = [state.render_alert(a) for a in chosen[page * size:(page + 1) * size]]
            return JSONResponse(page_body(request, "alerts", items, len(chosen), page, size))

        return paged(alerts_page)

    async def one_alert(request: Request) -> Response:
        denied = bearer_ok(request)
        if denied:
            return denied
        alert = state.alerts.get(request.path_params["alert_uid"])
        if alert is None:
            return error(404, "Not Found", request.url.path)
        return JSONResponse(state.render_alert(alert))

    async def resolve(request: Request) -> Response:
        denied = bearer_ok(request)
        if denied:
            return denied
        alert_uid = request.path_params["alert_uid"]
        wait = state.resolve_decision()
        if wait is not None:  # alert-resolve's own limit (100 per 60 s), besides the account's 600
            state.record_resolve_call(alert_uid, request.method, request.url.path, 429)
            return JSONResponse(state.error_body(429, "Too Many Requests", request.url.path), status_code=429,
                                headers={"Retry-After": str(int(wait + 0.999))})
        alert = state.alerts.get(alert_uid)
        if alert is None:
            state.record_resolve_call(alert_uid, request.method, request.url.path, 404)
            return error(404, "Not Found", request.url.path)
        if alert.resolved:
            state.record_resolve_call(alert_uid, request.method, request.url.path, 409)
            return error(409, "Conflict", request.url.path)
        state.resolve_alert(alert_uid, by="api")
        state.record_resolve_call(alert_uid, request.method, request.url.path, 200)
        return Response(status_code=200)

    async def pagination(request: Request) -> Response:
        return bearer_ok(request) or JSONResponse({"max": const.MAX_PAGE_SIZE})

    async def request_rate(request: Request) -> Response:
        denied = bearer_ok(request)
        if denied:
            return denied
        recent = state.requests_in_window()
        return JSONResponse({
            "accountUid": state.account_uid, "accountCount": recent,
            "accountRateLimit": const.RATE_LIMIT_PER_MINUTE, "accountCutOffRatio": 0.9,
            "accountWriteRateLimit": 600, "accountWriteCount": len(state.resolve_calls),
            "operationWriteStatus": {"alert-resolve": {"count": state.resolves_in_window(),
                                                       "limit": const.ALERT_RESOLVE_PER_MINUTE}},
            "slidingTimeWindowSizeSeconds": 60,
        })

    api = const.API_PREFIX
    routes = [
        Route(const.TOKEN_PATH, token, methods=["POST"]),
        Route(f"{api}/account", account, methods=["GET"]),
        Route(f"{api}/account/sites", sites, methods=["GET"]),
        Route(f"{api}/account/devices", devices, methods=["GET"]),
        Route(f"{api}/account/alerts/open", alerts_handler(False), methods=["GET"]),
        Route(f"{api}/account/alerts/resolved", alerts_handler(True), methods=["GET"]),
        Route(f"{api}/site/{{site_uid}}", one_site, methods=["GET"]),
        Route(f"{api}/site/{{site_uid}}/devices", devices, methods=["GET"]),
        Route(f"{api}/device/{{device_uid}}", one_device, methods=["GET"]),
        Route(f"{api}/audit/device/{{device_uid}}", audit_handler("device", state.render_audit), methods=["GET"]),
        Route(f"{api}/audit/esxihost/{{device_uid}}", audit_handler("esxihost", state.render_esxi_audit),
              methods=["GET"]),
        Route(f"{api}/audit/printer/{{device_uid}}", audit_handler("printer", state.render_printer_audit),
              methods=["GET"]),
        Route(f"{api}/alert/{{alert_uid}}", one_alert, methods=["GET"]),
        Route(f"{api}/alert/{{alert_uid}}/resolve", resolve, methods=["POST"]),
        Route(f"{api}/system/pagination", pagination, methods=["GET"]),
        Route(f"{api}/system/request_rate", request_rate, methods=["GET"]),
    ]
    return build_emulator_app(state, routes, state.render_device)
