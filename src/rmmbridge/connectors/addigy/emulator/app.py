"""The Addigy emulator: the API v2 list queries the connector uses (POST, page/per_page, metadata), x-api-key auth."""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rmmbridge.connectors.addigy import const
from rmmbridge.connectors.addigy.emulator.state import AddigyEmulatorState
from rmmbridge.connectors.testing.control import build_emulator_app
from rmmbridge.connectors.testing.estate import EmulatedDevice


def create_app(state: AddigyEmulatorState) -> Starlette:
    """The emulator app for one state (the control API under /_emulator/ included)."""

    def error(status: int, message: str, path: str) -> JSONResponse:
        return JSONResponse(state.error_body(status, message, path), status_code=status)

    def key_ok(request: Request) -> JSONResponse | None:
        """x-api-key as every client library sends it; `Authorization: Bearer` as the migration guide says."""
        key = request.headers.get(const.API_KEY_HEADER)
        auth = request.headers.get("authorization", "")
        if key is None and auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        if not state.api_key_valid(key):
            return error(401, "Unauthorized: invalid or missing API key", request.url.path)
        return None

    async def query_body(request: Request) -> dict[str, Any] | JSONResponse:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return error(400, "Bad Request: the body is not valid JSON", request.url.path)
        if not isinstance(body, dict):
            return error(400, "Bad Request: the body must be a JSON object", request.url.path)
        page, per_page = body.get("page", 1), body.get("per_page", const.PAGE_SIZE)
        if not isinstance(page, int) or not isinstance(per_page, int) or page < 1 or per_page < 1:
            return error(400, "Bad Request: page and per_page must be positive integers", request.url.path)
        return body

    def page_body(request: Request, items: list[Any], total: int, page: int, size: int) -> dict[str, Any]:
        return {
            "items": items,
            "metadata": {
                "page": page,
                "per_page": size,
                "page_count": state.pages(total, size),
                "result_count": len(items),
                "total": total,
            },
        }

    def faulty(request: Request, page: int) -> int:
        """The page actually served: a `repeat-page` fault serves the previous page again (page ignored)."""
        if page > 1 and state.take_fault(request.method, request.url.path, frozenset({"repeat-page"})):
            return page - 1
        return page

    def break_one(request: Request, items: list[Any]) -> None:
        if items and state.take_fault(request.method, request.url.path, frozenset({"malformed-item"})):
            items[len(items) // 2] = {"orgid": state.orgid, "facts": "unavailable"}

    async def devices(request: Request) -> Response:
        denied = key_ok(request)
        if denied:
            return denied
        body = await query_body(request)
        if isinstance(body, JSONResponse):
            return body
        size = state.effective_page_size(body.get("per_page"))
        query = body.get("query")
        if not isinstance(query, dict):
            query = {}
        policy = query.get("policyId") or query.get("policy_id")
        desired = body.get("desired_fact_identifiers")
        desired_list = [str(f) for f in desired] if isinstance(desired, list) and desired else None
        total = state.device_count()
        page = faulty(request, int(body.get("page", 1)))
        if policy:
            chosen: list[EmulatedDevice] = [d for d in state.iter_devices() if policy in state.device_policies(d)]
            total = len(chosen)
            chunk = chosen[(page - 1) * size:page * size]
        else:
            chunk = state.page_of_devices((page - 1) * size, size)
        items = [state.render_device(d, desired_list) for d in chunk]
        break_one(request, items)
        return JSONResponse(page_body(request, items, total, page, size))

    async def policies(request: Request) -> Response:
        """A bare JSON array of every policy (or of those named in `policies`): no items, no metadata, no paging."""
        denied = key_ok(request)
        if denied:
            return denied
        body = await query_body(request)
        if isinstance(body, JSONResponse):
            return body
        wanted = body.get("policies")
        chosen = [p for p in state.policies() if not wanted or p["policyId"] in wanted]
        break_one(request, chosen)
        return JSONResponse(chosen)

    async def whoami(request: Request) -> Response:
        denied = key_ok(request)
        if denied:
            return denied
        return JSONResponse(state.whoami())

    async def alerts(request: Request) -> Response:
        """The v2 alert list: `query.statuses` filters, `per_page` at most 100, sorted by `created_date`."""
        denied = key_ok(request)
        if denied:
            return denied
        body = await query_body(request)
        if isinstance(body, JSONResponse):
            return body
        size = int(body.get("per_page", 20))
        if size > const.ALERTS_PAGE_SIZE:
            return error(400, f"Bad Request: per_page must be at most {const.ALERTS_PAGE_SIZE}", request.url.path)
        query = body.get("query") if isinstance(body.get("query"), dict) else {}
        statuses = query.get("statuses") if isinstance(query, dict) else None
        wanted_ids = query.get("alert_ids") if isinstance(query, dict) else None
        rows = [state.alert_item(a) for a in state.alerts.values()]
        if isinstance(statuses, list) and statuses:
            rows = [r for r in rows if r["status"] in statuses]
        if isinstance(wanted_ids, list) and wanted_ids:
            rows = [r for r in rows if r["id"] in wanted_ids]
        # addigyctl: "asc" on this endpoint returns the newest first (the direction is inverted).
        rows.sort(key=lambda r: str(r["created_date"] or ""), reverse=body.get("sort_direction") != "desc")
        page = faulty(request, int(body.get("page", 1)))
        items = rows[(page - 1) * size:page * size]
        break_one(request, items)
        return JSONResponse(page_body(request, items, len(rows), page, size))

    async def send_challenge(request: Request) -> Response:
        """Control API: send Addigy's webhook verification challenge to `url` (with the webhook's custom secret
        header when `secret` is given); say whether the token was echoed with a 200."""
        import secrets

        import httpx

        try:
            data = json.loads(await request.body() or b"{}")
            url = str(data["url"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": 'Send {"url": "https://…/webhook", "secret"?: "…"}.'}, status_code=400)
        token = secrets.token_hex(16)
        headers = {const.VALIDATION_HEADER: token, "Content-Type": "application/json"}
        if data.get("secret"):
            headers["X-Webhook-Secret"] = str(data["secret"])
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                answer = await client.post(url, content=b"{}", headers=headers)
        except httpx.HTTPError as exc:
            return JSONResponse({"error": f"POST to {url} failed: {exc}"}, status_code=502)
        echoed = answer.headers.get(const.VALIDATION_HEADER) == token or token in answer.text
        return JSONResponse({"status": answer.status_code, "validated": answer.status_code == 200 and echoed})

    api = const.API_PREFIX
    routes = [
        Route(f"{api}/devices", devices, methods=["POST"]),
        Route(f"{api}/oa/policies/query", policies, methods=["POST"]),
        Route(f"{api}/configuration/whoami", whoami, methods=["GET"]),
        Route(f"{api}/oa/monitoring/alerts/query", alerts, methods=["POST"]),
        Route("/_emulator/addigy/webhook-challenge", send_challenge, methods=["POST"]),
    ]
    return build_emulator_app(state, routes, state.render_device)
