"""The `/_emulator/` control API every vendor emulator shares, and the fault/rate-limit middleware."""

from __future__ import annotations

import asyncio
import json
import logging
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import asdict
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rmmbridge.connectors.testing.estate import EmulatedDevice
from rmmbridge.connectors.testing.faults import FaultSpecError
from rmmbridge.connectors.testing.state import EmulatorState

CONTROL_PREFIX = "/_emulator"


class EmulatedDrop(Exception):
    """Raised mid-response to make the server cut the connection (the `drop` fault)."""


class _HideEmulatedDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], EmulatedDrop))


def quiet_emulated_drops() -> None:
    """Keep uvicorn from logging a traceback for every `drop` fault (it is the point of the fault)."""
    error_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideEmulatedDrops) for f in error_log.filters):
        error_log.addFilter(_HideEmulatedDrops())


def device_json(device: EmulatedDevice) -> dict[str, Any]:
    data = asdict(device)
    for key in ("last_seen", "created_at"):
        data[key] = data[key].isoformat()
    return data


class FaultMiddleware:
    """Counts vendor API requests, enforces the emulated rate limit and plays generic faults."""

    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        self.state.count_request(method, path)
        verdict, seconds = self.state.rate_decision()
        if verdict == "429":
            await self._error(send, 429, "Too Many Requests", path, {"Retry-After": str(int(seconds + 0.999))})
            return
        if verdict == "403":
            await self._error(send, 403, "Forbidden", path, {"Retry-After": str(int(seconds + 0.999))})
            return
        if verdict == "slow":
            await asyncio.sleep(seconds)
        fault = self.state.take_fault(method, path)
        if fault is not None:
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
            elif fault.kind == "drop":
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
                await send({"type": "http.response.body", "body": b'{"pageDetails": {"count"', "more_body": True})
                raise EmulatedDrop(f"drop fault on {method} {path}")
            elif fault.kind == "malformed-json":
                body = b'{"pageDetails": {"count": 3, "nextPageUrl": null}, "items": [{"id": 1,'
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
            elif fault.status is not None:
                headers = {"Retry-After": str(fault.retry_after)} if fault.status == 429 else {}
                if fault.status == 429 and float(fault.retry_after).is_integer():
                    headers["Retry-After"] = str(int(fault.retry_after))
                await self._error(send, fault.status, _reason(fault.status), path, headers)
                return
        await self.app(scope, receive, send)

    async def _error(self, send: Send, status: int, message: str, path: str, headers: dict[str, str]) -> None:
        body = json.dumps(self.state.error_body(status, message, path)).encode()
        raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        start: Message = {"type": "http.response.start", "status": status, "headers": raw_headers}
        await send(start)
        await send({"type": "http.response.body", "body": body})


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"The request body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("The request body must be a JSON object.")
    return data


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def send_alert_email(state: EmulatorState, alert_id: str, host: str, port: int, to: str) -> dict[str, str]:
    """Send the vendor's alert e-mail for one alert over plain SMTP; return what was sent."""
    alert = state.alerts.get(alert_id)
    if alert is None:
        raise KeyError(alert_id)
    sender, subject, body = state.alert_email(alert)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "emulator.invalid")
    message.set_content(body)
    with smtplib.SMTP(host, port, timeout=10) as smtp:
        smtp.send_message(message)
    return {"from": sender, "to": to, "subject": subject, "message_id": str(message["Message-ID"])}


def control_routes(state: EmulatorState, render_device: Callable[[EmulatedDevice], Any]) -> list[BaseRoute]:
    """The shared control API; `render_device` shows a device in the vendor's JSON."""
    #: The RMM's alert e-mail sender: while set, each alert raised through the control API is mailed there.
    email_sender: dict[str, Any] = {}

    async def get_state(request: Request) -> Response:
        return JSONResponse(state.summary())

    async def add_device(request: Request) -> Response:
        try:
            device = state.add_device(**await _json_body(request))
        except ValueError as exc:
            return _bad(str(exc))
        return JSONResponse({"id": device.id, "device": render_device(device)}, status_code=201)

    async def change_device(request: Request) -> Response:
        device_id = request.path_params["device_id"]
        try:
            device = state.update_device(device_id, **await _json_body(request))
        except KeyError:
            return _bad(f"No device {device_id!r}.", 404)
        except (ValueError, TypeError) as exc:
            return _bad(str(exc))
        return JSONResponse({"id": device.id, "device": render_device(device)})

    async def remove_device(request: Request) -> Response:
        device_id = request.path_params["device_id"]
        try:
            state.remove_device(device_id)
        except KeyError:
            return _bad(f"No device {device_id!r}.", 404)
        return Response(status_code=204)

    async def raise_alert(request: Request) -> Response:
        try:
            data = await _json_body(request)
            alert = state.raise_alert(
                data.get("device_id"), message=data.get("message"), priority=data.get("priority"),
                alert_type=data.get("alert_type"), context=data.get("context"),
            )
        except ValueError as exc:
            return _bad(str(exc))
        answer: dict[str, Any] = {"id": alert.id, "alert_id": alert.id}
        if email_sender:
            host, port, to = email_sender["smtp_host"], email_sender["smtp_port"], email_sender["to"]
            try:
                answer["email"] = await asyncio.to_thread(send_alert_email, state, alert.id, host, port, to)
            except (OSError, smtplib.SMTPException) as exc:
                answer["email_error"] = f"SMTP to {host}:{port} failed: {exc}"
        return JSONResponse(answer, status_code=201)

    async def set_email_sender(request: Request) -> Response:
        try:
            data = await _json_body(request)
            config = {"smtp_host": str(data.get("smtp_host", "127.0.0.1")), "smtp_port": int(data["smtp_port"]),
                      "to": str(data["to"])}
        except (KeyError, ValueError, TypeError) as exc:
            return _bad(f"Send smtp_port and to, and smtp_host when it is not 127.0.0.1 ({exc}).")
        email_sender.clear()
        email_sender.update(config)
        return JSONResponse({"email_sender": dict(email_sender)})

    async def get_email_sender(request: Request) -> Response:
        return JSONResponse({"email_sender": dict(email_sender) or None})

    async def stop_email_sender(request: Request) -> Response:
        email_sender.clear()
        return Response(status_code=204)

    async def resolve_alert(request: Request) -> Response:
        alert_id = request.path_params["alert_id"]
        try:
            alert = state.resolve_alert(alert_id)
        except KeyError:
            return _bad(f"No alert {alert_id!r}.", 404)
        return JSONResponse({"id": alert.id, "resolved": alert.resolved})

    async def resolve_calls(request: Request) -> Response:
        with state.lock:
            return JSONResponse(list(state.resolve_calls))

    async def add_faults(request: Request) -> Response:
        try:
            data = await _json_body(request)
            specs = data.get("specs") or ([data["spec"]] if "spec" in data else [])
            if not specs:
                return _bad('Send {"spec": "429:GET:/path:times=2"} or {"specs": [...]}.')
            added = [state.faults.add(str(s)).spec for s in specs]
        except (ValueError, FaultSpecError) as exc:
            return _bad(str(exc))
        return JSONResponse({"added": added}, status_code=201)

    async def clear_faults(request: Request) -> Response:
        state.faults.clear()
        return Response(status_code=204)

    async def expire_tokens(request: Request) -> Response:
        return JSONResponse({"expired": state.expire_tokens()})

    async def send_email(request: Request) -> Response:
        try:
            data = await _json_body(request)
            alert_id, host, to = str(data["alert_id"]), str(data.get("smtp_host", "127.0.0.1")), str(data["to"])
            port = int(data["smtp_port"])
        except (KeyError, ValueError, TypeError) as exc:
            return _bad(f"Send alert_id, smtp_host, smtp_port and to ({exc}).")
        try:
            sent = await asyncio.to_thread(send_alert_email, state, alert_id, host, port, to)
        except KeyError:
            return _bad(f"No alert {alert_id!r}.", 404)
        except (OSError, smtplib.SMTPException) as exc:
            return _bad(f"SMTP to {host}:{port} failed: {exc}", 502)
        return JSONResponse(sent)

    async def send_webhook(request: Request) -> Response:
        try:
            data = await _json_body(request)
            alert_id, url = str(data["alert_id"]), str(data["url"])
        except (KeyError, ValueError) as exc:
            return _bad(f"Send alert_id and url ({exc}).")
        alert = state.alerts.get(alert_id)
        if alert is None:
            return _bad(f"No alert {alert_id!r}.", 404)
        body = json.dumps(state.webhook_payload(alert)).encode()
        headers = {"Content-Type": "application/json", **state.webhook_headers(body, data.get("secret"))}
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                answer = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return _bad(f"POST to {url} failed: {exc}", 502)
        return JSONResponse({"status": answer.status_code, "body": answer.text[:2000]})

    p = CONTROL_PREFIX
    return [
        Route(f"{p}/state", get_state, methods=["GET"]),
        Route(f"{p}/devices", add_device, methods=["POST"]),
        Route(f"{p}/devices/{{device_id}}", change_device, methods=["PATCH"]),
        Route(f"{p}/devices/{{device_id}}", remove_device, methods=["DELETE"]),
        Route(f"{p}/alerts", raise_alert, methods=["POST"]),
        Route(f"{p}/alerts/{{alert_id}}/resolve", resolve_alert, methods=["POST"]),
        Route(f"{p}/resolve-calls", resolve_calls, methods=["GET"]),
        Route(f"{p}/faults", add_faults, methods=["POST"]),
        Route(f"{p}/faults", clear_faults, methods=["DELETE"]),
        Route(f"{p}/expire-tokens", expire_tokens, methods=["POST"]),
        Route(f"{p}/send-alert-email", send_email, methods=["POST"]),
        Route(f"{p}/email-sender", get_email_sender, methods=["GET"]),
        Route(f"{p}/email-sender", set_email_sender, methods=["PUT"]),
        Route(f"{p}/email-sender", stop_email_sender, methods=["DELETE"]),
        Route(f"{p}/send-webhook", send_webhook, methods=["POST"]),
    ]


def build_emulator_app(
    state: EmulatorState, vendor_routes: Sequence[BaseRoute], render_device: Callable[[EmulatedDevice], Any]
) -> Starlette:
    """A Starlette app: the vendor's API routes, the shared control API, and the fault middleware."""
    quiet_emulated_drops()
    app = Starlette(routes=[*control_routes(state, render_device), *vendor_routes])
    app.state.emulator = state
    app.add_middleware(FaultMiddleware, state=state)
    return app
