"""The emulators' alert e-mail sender switch: on, each raised alert is mailed over real SMTP; off, nothing is."""

from __future__ import annotations

import socket
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from rmmbridge.connectors.testing.server import serve_emulator


class Keep:
    def __init__(self) -> None:
        self.mails: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(envelope)
        return "250 OK"


def test_email_sender_on_mails_each_new_alert_and_off_stops() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    keep = Keep()
    controller = Controller(keep, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with serve_emulator("datto_rmm", devices=3, alerts=0, customers=1) as em:
            base = f"{em.url}/_emulator"
            bad = httpx.put(f"{base}/email-sender", json={"to": "x@y.example"})
            assert bad.status_code == 400
            assert "smtp_port" in bad.json()["error"]
            assert httpx.get(f"{base}/email-sender").json() == {"email_sender": None}
            on = httpx.put(f"{base}/email-sender", json={"smtp_port": port, "to": "desk@x.example"})
            assert on.status_code == 200
            device = em.state.device_at(0)
            assert device is not None
            first = httpx.post(f"{base}/alerts", json={"device_id": device.id, "message": "Offline"}).json()
            assert first["email"]["from"] == "noreply@centrastage.net"
            assert f"Alert{{{first['alert_id']}}}" in first["email"]["subject"]
            assert len(keep.mails) == 1
            assert keep.mails[0].rcpt_tos == ["desk@x.example"]
            assert httpx.delete(f"{base}/email-sender").status_code == 204
            second = httpx.post(f"{base}/alerts", json={"device_id": device.id, "message": "Offline"}).json()
            assert "email" not in second
            assert len(keep.mails) == 1
    finally:
        controller.stop()
