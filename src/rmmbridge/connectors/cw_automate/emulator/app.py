"""The Automate emulator app: `POST /cwa/api/v1/apitoken` (+ refresh) and the GET lists the connector reads.

Routing is case-insensitive, as on the real IIS/ASP.NET server (`/cwa/api/v1/apitoken` = `/cwa/api/v1/APIToken`).
Lists take `page` (from 1), `pageSize` (≤ 1000), `condition` and `orderBy`, flat or with the spec's `options.`
prefix, in any letter case; they answer bare JSON arrays and an empty array past the end. `condition` supports
the subset of the Automate query language the connector uses: `and`-joined `=`/`eq`/`!=`/`<`/`>`/`<=`/`>=`/`in`/
`contains`/`like` clauses on (dotted) field names. Every call but apitoken needs `Authorization: Bearer` and the
`ClientId` header. Errors are ASP.NET Web API bodies: `{"Message": "..."}`.

Long because: one route table of the vendor's API (each handler a few lines: its paging, conditions and error
shapes); the handlers read best side by side.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rmmbridge.connectors.cw_automate import const
from rmmbridge.connectors.cw_automate.emulator.state import CwAutomateEmulatorState
from rmmbridge.connectors.testing.control import build_emulator_app
from rmmbridge.connectors.testing.estate import EmulatedDevice
from rmmbridge.connectors.testing.state import EmulatorState

Handler = Callable[[Request, dict[str, str]], Awaitable[Response]]
_CLAUSE = re.compile(
    r"^\s*(?P<field>[A-Za-z_][\w.]*)\s+(?P<op>not\s+in|in|not\s+contains|contains|not\s+like|like|eq|=|!=|<>|>=|<=|>|<)"
    r"\s+(?P<value>.+?)\s*$",
    re.IGNORECASE,
)


#: `ComputerId in (1,2,3)`: the chassis lookup the connector makes per page, served without a full scan.
_ID_LIST = re.compile(r"^\s*ComputerId\s+in\s*\(([\d,\s]+)\)\s*$", re.IGNORECASE)


class BadQuery(ValueError):
    """A query the server would reject with 400."""


def _message(status: int, message: str) -> JSONResponse:
    return JSONResponse({"Message": message}, status_code=status)


def _query(request: Request) -> dict[str, str]:
    """Query parameters by lower-case name, `options.` prefix dropped (ASP.NET binds both, case-insensitively)."""
    out: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        name = key.lower()
        if name.startswith("options."):
            name = name[len("options.") :]
        out.setdefault(name, value)
    return out


def _int(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name.lower())
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadQuery(f"The value '{raw}' is not valid for {name}.") from None


def _lookup(item: Any, field: str) -> Any:
    value = item
    for part in field.split("."):
        if not isinstance(value, dict):
            return None
        match = next((k for k in value if k.lower() == part.lower()), None)
        if match is None:
            raise BadQuery(f"The condition refers to an unknown field '{field}'.")
        value = value[match]
    return value


def _literal(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" and text[0] not in text[1:-1]:
        return text[1:-1]
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text.lower() == "null":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise BadQuery(f"The condition value {text!r} is not a number, true/false, null or a quoted string.") from None


def _compare(left: Any, op: str, right: Any) -> bool:
    op = " ".join(op.lower().split())
    if op in ("in", "not in"):
        found = str(left) in {str(v) for v in right}
        return found if op == "in" else not found
    if op in ("contains", "not contains", "like", "not like"):
        needle = str(right).lower().replace("%", "") if "like" in op else str(right).lower()
        found = needle in str(left or "").lower()
        return found if not op.startswith("not") else not found
    if op in ("=", "eq"):
        return str(left) == str(right) if not isinstance(right, bool) else left is right
    if op in ("!=", "<>"):
        return str(left) != str(right)
    if left is None:
        return False
    try:
        a: Any = float(left)
        b: Any = float(right)
    except (TypeError, ValueError):
        a, b = str(left), str(right)
    return bool({">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[op])


def compile_condition(condition: str | None) -> Callable[[dict[str, Any]], bool]:
    """A predicate for an Automate `condition` (the `and`-joined subset); BadQuery for anything else."""
    if not condition or not condition.strip():
        return lambda item: True
    clauses = []
    for part in re.split(r"\s+and\s+", condition.strip(), flags=re.IGNORECASE):
        match = _CLAUSE.match(part.strip("() ") if part.count("(") != part.count(")") else part)
        if not match:
            raise BadQuery(f"The condition '{condition}' is not valid.")
        field, op, raw = match.group("field"), match.group("op"), match.group("value").strip()
        if op.lower().endswith("in"):
            inner = raw.strip()
            if not (inner.startswith("(") and inner.endswith(")")):
                raise BadQuery(f"'{op}' needs a list in parentheses: {part!r}.")
            value: Any = [_literal(v) for v in inner[1:-1].split(",") if v.strip()]
        else:
            value = _literal(raw)
        clauses.append((field, op, value))

    def predicate(item: dict[str, Any]) -> bool:
        return all(_compare(_lookup(item, f), op, v) for f, op, v in clauses)

    return predicate


def _broken(item: dict[str, Any]) -> dict[str, Any]:
    """A malformed copy of a list item: its required name set to null (the id is kept)."""
    broken = dict(item)
    for key in ("ComputerName", "Name"):
        if key in broken:
            broken[key] = None
    if "AlertId" in broken:
        broken["AlertId"] = "not-a-number"
    return broken


def create_app(state: EmulatorState) -> Starlette:
    """The Automate emulator app for a CwAutomateEmulatorState (the control API under /_emulator/ included)."""
    if not isinstance(state, CwAutomateEmulatorState):
        raise TypeError("create_app needs a CwAutomateEmulatorState")
    cwa = state

    def client_id_ok(request: Request) -> bool:
        return request.headers.get(const.CLIENT_ID_HEADER, "").strip() == cwa.credentials.get("client_id")

    def list_page(request: Request, items: Iterator[Callable[[], dict[str, Any]]]) -> Response:
        """One page of a list; `items` yields renderers, so rows before the page are not rendered without a
        condition (cheap paging through 100,000 devices)."""
        params = _query(request)
        page = max(_int(params, "page", 1), 1)
        size = cwa.effective_page_size(_int(params, "pageSize", cwa.default_page_size))
        condition = params.get("condition")
        predicate = compile_condition(condition)
        path = request.url.path
        if page > 1 and cwa.take_fault("GET", path, frozenset({"repeat-page"})) is not None:
            page = 1  # a server ignoring `page`: the first page again
        start, out, matched = (page - 1) * size, [], 0
        for render in items:
            item: dict[str, Any] | None = None
            if condition:
                item = render()
                if not predicate(item):
                    continue
            if matched >= start:
                out.append(item if item is not None else render())
                if len(out) >= size:
                    break
            matched += 1
        if out and cwa.take_fault("GET", path, frozenset({"malformed-item"})) is not None:
            out[len(out) // 2] = _broken(out[len(out) // 2])
        return JSONResponse(out)

    renderers: dict[str, tuple[str, Callable[[EmulatedDevice], dict[str, Any]]]] = {
        "computers": ("computer", cwa.computer_json),
        "chassis": ("computer", cwa.chassis_json),
        "retired": ("retired", cwa.retired_json),
        "network": ("network", cwa.network_device_json),
    }

    def devices(kind: str) -> Iterator[Callable[[], dict[str, Any]]]:
        category, render = renderers[kind]
        for index in cwa.indices(category):
            yield partial(_render_at, index, render)

    def _render_at(index: int, render: Callable[[EmulatedDevice], dict[str, Any]]) -> dict[str, Any]:
        device = cwa.device_at(index)
        if device is None:  # removed while the page was being built
            return {}
        return render(device)

    def rows(values: Iterator[dict[str, Any]]) -> Iterator[Callable[[], dict[str, Any]]]:
        for value in values:
            yield partial(dict, value)

    # --- auth ---------------------------------------------------------------------------------------------------
    async def token(request: Request, _: dict[str, str]) -> Response:
        if not client_id_ok(request):
            return _message(401, "A valid ClientId header is required.")
        raw = await request.body()
        try:
            if "json" in request.headers.get("content-type", "") or raw.strip().startswith(b"{"):
                body = json.loads(raw or b"{}")
            else:
                body = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        except ValueError:
            return _message(400, "The request is invalid.")
        if not isinstance(body, dict):
            return _message(400, "The request is invalid.")
        fields = {str(k).lower(): v for k, v in body.items()}
        if fields.get("username") != cwa.credentials.get("username") or fields.get("password") != cwa.credentials.get(
            "password"
        ):
            return _message(401, "Username or password is incorrect.")
        if cwa.two_factor_required and not fields.get("twofactorpasscode"):
            return JSONResponse(token_result(None, two_factor=True))
        return JSONResponse(token_result(cwa.issue_token()))

    def token_result(access: str | None, *, two_factor: bool = False) -> dict[str, Any]:
        from datetime import UTC, datetime, timedelta

        now = datetime.now(UTC)
        return {
            "AccessToken": access,
            "TokenType": "Bearer" if access else None,
            "ExpirationDate": cwa.local_time(now + timedelta(seconds=cwa.token_lifetime)) if access else None,
            "AbsoluteExpirationDate": cwa.local_time(now + timedelta(hours=12)) if access else None,
            "UserId": "17" if access else None,
            "InternalUserName": cwa.credentials.get("username") if access else None,
            "IsTwoFactorRequired": two_factor,
            "IsInternalTwoFactorRequired": False,
            "SSOAccessToken": None,
        }

    async def refresh(request: Request, _: dict[str, str]) -> Response:
        if not client_id_ok(request):
            return _message(401, "A valid ClientId header is required.")
        try:
            old = json.loads(await request.body() or b"null")
        except ValueError:
            return _message(400, "The request is invalid.")
        with cwa.lock:
            cwa.refresh_requests += 1
        if not isinstance(old, str) or not cwa.token_valid(old):
            return _message(401, "Authorization has been denied for this request.")
        with cwa.lock:
            cwa.tokens.pop(old, None)
        return JSONResponse(token_result(cwa.issue_token()))

    def authed(handler: Handler) -> Handler:
        async def wrapped(request: Request, args: dict[str, str]) -> Response:
            scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
            if not client_id_ok(request) or scheme.lower() != "bearer" or not cwa.token_valid(bearer.strip()):
                return _message(401, "Authorization has been denied for this request.")
            try:
                return await handler(request, args)
            except BadQuery as exc:
                return _message(400, str(exc))

        return wrapped

    # --- data ---------------------------------------------------------------------------------------------------
    @authed
    async def clients(request: Request, _: dict[str, str]) -> Response:
        return list_page(request, rows(cwa.client_json(c.index) for c in cwa.customers))

    @authed
    async def client(request: Request, args: dict[str, str]) -> Response:
        found = next((c for c in cwa.customers if c.id == args["id"]), None)
        if found is None:
            return _message(404, f"Client {args['id']} was not found.")
        return JSONResponse(cwa.client_json(found.index))

    @authed
    async def locations(request: Request, _: dict[str, str]) -> Response:
        return list_page(request, rows(cwa.location_json(s.index) for s in cwa.sites))

    @authed
    async def contacts(request: Request, _: dict[str, str]) -> Response:
        return list_page(request, rows(iter(cwa.contacts)))

    @authed
    async def computers(request: Request, _: dict[str, str]) -> Response:
        return list_page(request, devices("computers"))

    @authed
    async def chassis(request: Request, _: dict[str, str]) -> Response:
        wanted = _ID_LIST.match(_query(request).get("condition", ""))
        if wanted is None:
            return list_page(request, devices("chassis"))
        indices = sorted({int(v) - 1 for v in wanted.group(1).split(",") if v.strip().isdigit() and int(v) > 0})
        picked = (partial(_render_at, i, cwa.chassis_json) for i in indices if cwa.category(i) == "computer")
        return list_page(request, picked)  # the usual condition check still runs on each picked row

    @authed
    async def retired(request: Request, _: dict[str, str]) -> Response:
        return list_page(request, devices("retired"))

    @authed
    async def network_devices(request: Request, _: dict[str, str]) -> Response:
        return list_page(request, devices("network"))

    @authed
    async def computer(request: Request, args: dict[str, str]) -> Response:
        device = cwa.get_device(args["id"])
        if device is None or not cwa.is_computer(device) or device.deleted:
            return _message(404, f"Computer {args['id']} was not found.")
        return JSONResponse(cwa.computer_json(device))

    @authed
    async def computer_printers(request: Request, args: dict[str, str]) -> Response:
        device = cwa.get_device(args["id"])
        if device is None or not cwa.is_computer(device) or device.deleted:
            return _message(404, f"Computer {args['id']} was not found.")
        return list_page(request, rows(iter(cwa.printers_json(device))))

    @authed
    async def network_device(request: Request, args: dict[str, str]) -> Response:
        device = cwa.get_device(args["id"])
        if device is None or cwa.is_computer(device):
            return _message(404, f"Network device {args['id']} was not found.")
        return JSONResponse(cwa.network_device_json(device))

    @authed
    async def alerts(request: Request, _: dict[str, str]) -> Response:
        return list_page(request, rows(cwa.alert_json(a) for a in cwa.open_alerts()))

    @authed
    async def alert(request: Request, args: dict[str, str]) -> Response:
        found = cwa.alerts.get(args["id"])
        if found is None or found.resolved:
            return _message(404, f"Alert {args['id']} was not found.")
        return JSONResponse(cwa.alert_json(found))

    @authed
    async def computer_alerts(request: Request, args: dict[str, str]) -> Response:
        return list_page(request, rows(cwa.alert_json(a) for a in cwa.open_alerts() if a.device_id == args["id"]))

    @authed
    async def server_time(request: Request, _: dict[str, str]) -> Response:
        from datetime import UTC, datetime

        return JSONResponse(cwa.local_time(datetime.now(UTC)))

    root = const.API_ROOT.lower()
    table: list[tuple[str, re.Pattern[str], Handler]] = [
        ("POST", re.compile(rf"^{root}/apitoken$"), token),
        ("POST", re.compile(rf"^{root}/apitoken/refresh$"), refresh),
        ("GET", re.compile(rf"^{root}/clients$"), clients),
        ("GET", re.compile(rf"^{root}/clients/(?P<id>[^/]+)$"), client),
        ("GET", re.compile(rf"^{root}/locations$"), locations),
        ("GET", re.compile(rf"^{root}/contacts$"), contacts),
        ("GET", re.compile(rf"^{root}/computers$"), computers),
        ("GET", re.compile(rf"^{root}/computers/chassis$"), chassis),
        ("GET", re.compile(rf"^{root}/computers/(?P<id>\d+)$"), computer),
        ("GET", re.compile(rf"^{root}/computers/(?P<id>\d+)/alerts$"), computer_alerts),
        ("GET", re.compile(rf"^{root}/computers/(?P<id>\d+)/printers$"), computer_printers),
        ("GET", re.compile(rf"^{root}/retiredassets$"), retired),
        ("GET", re.compile(rf"^{root}/networkdevices$"), network_devices),
        ("GET", re.compile(rf"^{root}/networkdevices/(?P<id>\d+)$"), network_device),
        ("GET", re.compile(rf"^{root}/alerts$"), alerts),
        ("GET", re.compile(rf"^{root}/alerts/(?P<id>\d+)$"), alert),
        ("GET", re.compile(rf"^{root}/databaseservertime$"), server_time),
    ]

    async def dispatch(request: Request) -> Response:
        path = request.url.path.rstrip("/").lower()
        allowed: list[str] = []
        for method, pattern, handler in table:
            match = pattern.match(path)
            if match is None:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            return await handler(request, match.groupdict())
        if allowed:
            return _message(405, f"The requested resource does not support http method '{request.method}'.")
        return _message(404, f"No HTTP resource was found that matches the request URI '{request.url}'.")

    routes: list[BaseRoute] = [
        Route("/cwa/{rest:path}", dispatch, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
    return build_emulator_app(cwa, routes, cwa.render_device)
