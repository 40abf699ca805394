"""`rmmbridge serve`: serve the web app with uvicorn (static files via whitenoise)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


def serve(host: str, port: int, *, log_level: str = "info") -> None:
    """Run the ASGI app under uvicorn and start the embedded integrator when it is enabled."""
    import uvicorn

    from rmmbridge.web.embedded import start_embedded_services

    start_embedded_services()
    uvicorn.run("rmmbridge.asgi:application", host=host, port=port, log_level=log_level, lifespan="off")


class Command(BaseCommand):
    help = "Serve the web app (and, in embedded mode, the integrator) with uvicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on (default 8000).")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Serving rmmbridge on http://{options['host']}:{options['port']}/")
        serve(options["host"], options["port"])
