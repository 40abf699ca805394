"""The connector HTTP log redacts only the part of a body it keeps, and redacts all of that part."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from rmmbridge.connectors.http import LoggingTransport, Redactor, RequestLog

SECRET = "s3cr3t-api-key-0123456789abcdef"


def test_clip_redacts_what_is_kept_and_counts_the_rest() -> None:
    log = RequestLog(body_limit=100)
    redactor = Redactor([SECRET])
    body = ("a" * 90) + SECRET + ("b" * 100_000) + SECRET
    kept = log.clip(body, redactor)
    assert SECRET[:8] not in kept
    assert kept.startswith("a" * 90 + "***")
    assert kept[:100] == log.truncate(redactor(body))[:100]
    # the count is of characters left out; the part past the redacted window is counted unredacted
    window = 100 + len(SECRET) + 64
    assert kept.endswith(f"… [{len(redactor(body[:window])) - 100 + len(body) - window} more characters]")


def test_clip_takes_more_when_redaction_shortens_the_window() -> None:
    log = RequestLog(body_limit=50)
    redactor = Redactor([SECRET])
    body = SECRET * 40 + "tail"  # every kept character comes from far past the first window
    kept = log.clip(body, redactor)
    assert "s3cr" not in kept
    assert kept[:50] == "***" * 16 + "**"
    bearer = "x" * 45 + " Bearer " + "t" * 500
    assert "ttt" not in log.clip(bearer, redactor)


def test_large_response_is_logged_short_and_redacted() -> None:
    page = ('{"token": "' + SECRET + '", "devices": [' + ",".join(['{"id": 1}'] * 50_000) + "]}").encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        log = RequestLog(body_limit=200)
        transport = LoggingTransport(httpx.HTTPTransport(), log, Redactor([SECRET]), vendor="test")
        with httpx.Client(transport=transport) as client:
            response = client.get(f"http://127.0.0.1:{server.server_port}/devices?api_key={SECRET}")
    finally:
        server.shutdown()
        server.server_close()
    assert response.content == page
    (entry,) = log.entries()
    assert SECRET not in entry.url
    assert "0123" not in entry.response_body
    assert entry.response_body.startswith('{"token": "***", "devices": [{"id": 1}')
    assert entry.response_body.endswith("more characters]")
    assert len(entry.response_body) < 240
